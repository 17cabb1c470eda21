package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Godot Error codes returned to GDScript.
const (
	errOK               = 0
	errFailed           = 1
	errUnavailable      = 2
	errUnconfigured     = 3
	errCantCreate       = 20
	errAlreadyInUse     = 22
	errConnectionError  = 27
	errInvalidData      = 30
	errInvalidParameter = 31
	errAlreadyExists    = 32
	errBusy             = 44
)

// Variant types used here.
const (
	tNil        = C.GDX_NIL
	tBool       = C.GDX_BOOL
	tInt        = C.GDX_INT
	tFloat      = C.GDX_FLOAT
	tString     = C.GDX_STRING
	tStringName = C.GDX_STRING_NAME
	tObject     = C.GDX_OBJECT
	tDictionary = C.GDX_DICTIONARY
	tArray      = C.GDX_ARRAY
	tBytes      = C.GDX_PACKED_BYTE_ARRAY
)

const variantSize = C.GDX_VARIANT_SIZE

// variant is Variant storage in Go memory. It holds only Godot's own
// pointers, so Go may pass its address to C for the length of a call.
type variant [variantSize]byte

func (v *variant) ptr() unsafe.Pointer { return unsafe.Pointer(&v[0]) }
func (v *variant) destroy()            { C.gdx_variant_destroy(v.ptr()) }
func (v *variant) typ() uint32         { return uint32(C.gdx_variant_type(v.ptr())) }

// stringName is a StringName in C memory, created once and kept until the
// library is deinitialized.
type stringName unsafe.Pointer

var (
	namesMu sync.Mutex
	names   = map[string]stringName{}
)

// sn returns the StringName for s, creating it on first use. Only call it on
// Godot's threads (StringName creation takes Godot's lock).
func sn(s string) stringName {
	namesMu.Lock()
	defer namesMu.Unlock()
	if n, ok := names[s]; ok {
		return n
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	p := C.malloc(8)
	C.gdx_string_name_new(p, cs)
	names[s] = stringName(p)
	return names[s]
}

func freeNames() {
	namesMu.Lock()
	defer namesMu.Unlock()
	for k, p := range names {
		C.gdx_destroy(tStringName, unsafe.Pointer(p))
		C.free(unsafe.Pointer(p))
		delete(names, k)
	}
}

// snKey is the interned pointer inside a StringName: equal names share it.
func snKey(p unsafe.Pointer) uintptr {
	if p == nil {
		return 0
	}
	return *(*uintptr)(p)
}

// newString constructs a Godot String from s into uninitialized storage.
func newString(dst unsafe.Pointer, s string) {
	var data *C.char
	if len(s) > 0 {
		data = (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
	}
	C.gdx_string_new(dst, data, C.gdx_int(len(s)))
}

// goString reads a Godot String.
func goString(p unsafe.Pointer) string {
	n := int(C.gdx_string_to_utf8(p, nil, 0))
	if n <= 0 {
		return ""
	}
	buf := make([]byte, n)
	C.gdx_string_to_utf8(p, (*C.char)(unsafe.Pointer(&buf[0])), C.gdx_int(n))
	return string(buf)
}

// goBytes copies a PackedByteArray.
func goBytes(p unsafe.Pointer) []byte {
	var n C.gdx_int
	data := C.gdx_pba_data(p, &n)
	if data == nil || n <= 0 {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(data), C.int(n))
}

// Variant constructors.
func variantInt(v int64) (out variant) {
	C.gdx_variant_from(tInt, out.ptr(), unsafe.Pointer(&v))
	return
}

func variantFloat(f float64) (out variant) {
	C.gdx_variant_from(tFloat, out.ptr(), unsafe.Pointer(&f))
	return
}

func variantBool(b bool) (out variant) {
	var x uint8
	if b {
		x = 1
	}
	C.gdx_variant_from(tBool, out.ptr(), unsafe.Pointer(&x))
	return
}

func variantString(s string) (out variant) {
	var str [8]byte
	newString(unsafe.Pointer(&str[0]), s)
	C.gdx_variant_from(tString, out.ptr(), unsafe.Pointer(&str[0]))
	C.gdx_destroy(tString, unsafe.Pointer(&str[0]))
	return
}

func variantStringName(n stringName) (out variant) {
	C.gdx_variant_from(tStringName, out.ptr(), unsafe.Pointer(n))
	return
}

// variantObject wraps obj; for a RefCounted the Variant takes a reference
// (adopting the first one of a fresh object).
func variantObject(obj unsafe.Pointer) (out variant) {
	if obj == nil {
		C.gdx_variant_new_nil(out.ptr())
		return
	}
	C.gdx_variant_from(tObject, out.ptr(), unsafe.Pointer(&obj))
	return
}

func variantBytes(b []byte) (out variant) {
	var pba [16]byte
	var data *C.uint8_t
	if len(b) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	C.gdx_pba_new(unsafe.Pointer(&pba[0]), data, C.gdx_int(len(b)))
	C.gdx_variant_from(tBytes, out.ptr(), unsafe.Pointer(&pba[0]))
	C.gdx_destroy(tBytes, unsafe.Pointer(&pba[0]))
	return
}

// dict is a Dictionary being built, as a Variant.
type dict struct{ v variant }

func newDict() *dict {
	d := &dict{}
	C.gdx_variant_construct(tDictionary, d.v.ptr())
	return d
}

func (d *dict) set(key string, val variant) {
	k := variantString(key)
	C.gdx_variant_set(d.v.ptr(), k.ptr(), val.ptr())
	k.destroy()
	val.destroy()
}

func (d *dict) setInt(key string, n int64) { d.set(key, variantInt(n)) }

// array is an Array being built, as a Variant.
type array struct{ v variant }

func newArray() *array {
	a := &array{}
	C.gdx_variant_construct(tArray, a.v.ptr())
	return a
}

func (a *array) append(val variant) {
	var ret variant
	var err C.gdx_call_error
	C.gdx_variant_call(a.v.ptr(), unsafe.Pointer(sn("append")), val.ptr(), 1, ret.ptr(), &err)
	ret.destroy()
	val.destroy()
}

// dictEntries reads a Dictionary Variant as key/value Variant pairs; the
// caller destroys them.
func dictEntries(d *variant) (keys, values []variant) {
	var ks variant
	var err C.gdx_call_error
	C.gdx_variant_call(d.ptr(), unsafe.Pointer(sn("keys")), nil, 0, ks.ptr(), &err)
	defer ks.destroy()
	if err.error != 0 {
		return nil, nil
	}
	for i := 0; ; i++ {
		var k variant
		if C.gdx_variant_get_indexed(ks.ptr(), C.gdx_int(i), k.ptr()) == 0 {
			break
		}
		var v variant
		if C.gdx_variant_get(d.ptr(), k.ptr(), v.ptr()) == 0 {
			k.destroy()
			continue
		}
		keys = append(keys, k)
		values = append(values, v)
	}
	return keys, values
}

// stringOf reads a String or StringName Variant.
func stringOf(v *variant) (string, bool) {
	switch v.typ() {
	case tString:
		var s [8]byte
		C.gdx_variant_to(tString, unsafe.Pointer(&s[0]), v.ptr())
		out := goString(unsafe.Pointer(&s[0]))
		C.gdx_destroy(tString, unsafe.Pointer(&s[0]))
		return out, true
	case tStringName:
		var name, s [8]byte
		C.gdx_variant_to(tStringName, unsafe.Pointer(&name[0]), v.ptr())
		C.gdx_string_from_name(unsafe.Pointer(&s[0]), unsafe.Pointer(&name[0]))
		out := goString(unsafe.Pointer(&s[0]))
		C.gdx_destroy(tString, unsafe.Pointer(&s[0]))
		C.gdx_destroy(tStringName, unsafe.Pointer(&name[0]))
		return out, true
	}
	return "", false
}

// bytesOf reads a PackedByteArray Variant.
func bytesOf(v *variant) ([]byte, bool) {
	if v.typ() != tBytes {
		return nil, false
	}
	var pba [16]byte
	C.gdx_variant_to(tBytes, unsafe.Pointer(&pba[0]), v.ptr())
	defer C.gdx_destroy(tBytes, unsafe.Pointer(&pba[0]))
	return goBytes(unsafe.Pointer(&pba[0])), true
}

// pushError prints a Godot error naming the method and the cause.
func pushError(method, msg string) {
	cm := C.CString(method + ": " + msg)
	cf := C.CString(method)
	C.gdx_print_error(cm, cm, cf)
	C.free(unsafe.Pointer(cm))
	C.free(unsafe.Pointer(cf))
}

func pushWarning(method, msg string) {
	cm := C.CString(method + ": " + msg)
	cf := C.CString(method)
	C.gdx_print_warning(cm, cm, cf)
	C.free(unsafe.Pointer(cm))
	C.free(unsafe.Pointer(cf))
}
