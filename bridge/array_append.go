package main

/*
#include "gdx.h"
*/
import "C"

import "unsafe"

// pairWriter appends [peer, packet] pairs to an Array in place: one C call
// per packet, and one Object Variant per run of packets from the same peer
// (receive_all's bulk path).
type pairWriter struct {
	ref   uint64 // the Array value (one pointer) behind the result's Variant
	last  object
	lastV variant
	has   bool
}

// appendPairs starts appending to out; call done when finished.
func appendPairs(out *array) *pairWriter {
	w := &pairWriter{}
	C.gdx_array_ref(unsafe.Pointer(&w.ref), out.v.ptr())
	return w
}

func (w *pairWriter) add(peer object, b []byte) {
	if !w.has || peer != w.last {
		w.lastV.destroy()
		w.last, w.lastV, w.has = peer, peer.variant(), true
	}
	var data *C.uint8_t
	if len(b) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	C.gdx_append_pair(unsafe.Pointer(&w.ref), w.lastV.ptr(), data, C.gdx_int(len(b)))
}

func (w *pairWriter) done() {
	w.lastV.destroy()
	C.gdx_array_unref(unsafe.Pointer(&w.ref))
}

// appendObjects appends each of objs (none nil) to out, in one call from Go
// through Array.append's builtin pointer (get_peers).
func appendObjects(out *array, objs []object) {
	if len(objs) == 0 {
		return
	}
	var ref uint64 // the Array value (one pointer) behind out's Variant
	C.gdx_array_ref(unsafe.Pointer(&ref), out.v.ptr())
	C.gdx_append_objects(unsafe.Pointer(&ref), objectPointers(objs), C.gdx_int(len(objs)))
	C.gdx_array_unref(unsafe.Pointer(&ref))
}
