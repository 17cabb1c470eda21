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

// stringName is a StringName in C memory, created once and kept until the
// library is deinitialized (Godot keeps pointers to the names it is given
// at registration).
type stringName struct{ p unsafe.Pointer }

var (
	namesMu sync.Mutex
	names   = map[string]stringName{}

	emptyString unsafe.Pointer // a Godot String "", for hint_string
)

// sn returns the StringName for s, creating it on first use. Only call it on
// Godot's threads (StringName creation takes Godot's lock). namesMu is held
// across the constructor: it takes only Godot's internal lock and never calls
// back into Go.
func sn(s string) stringName {
	namesMu.Lock()
	defer namesMu.Unlock()
	if n, ok := names[s]; ok {
		return n
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	p := C.malloc(C.GDX_STRING_NAME_SIZE)
	C.gdx_string_name_new(p, cs)
	names[s] = stringName{p}
	return names[s]
}

func (n stringName) ptr() unsafe.Pointer { return n.p }

// snKey is the interned pointer inside a StringName: equal names share it,
// which is how Godot's virtual lookups are matched.
func snKey(p unsafe.Pointer) uintptr {
	if p == nil {
		return 0
	}
	return *(*uintptr)(p)
}

func initNames() {
	emptyString = C.malloc(C.GDX_STRING_SIZE)
	newString(emptyString, "")
}

func freeNames() {
	namesMu.Lock()
	defer namesMu.Unlock()
	for k, p := range names {
		C.gdx_destroy(C.uint32_t(tStringName), p.p)
		C.free(p.p)
		delete(names, k)
	}
	if emptyString != nil {
		C.gdx_destroy(C.uint32_t(tString), emptyString)
		C.free(emptyString)
		emptyString = nil
	}
}
