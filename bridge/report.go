package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"runtime/debug"
	"unsafe"
)

// How the addon tells the game something is wrong: Godot errors and
// warnings (push_error style: the method, then the cause), and guard, which
// turns a Go panic in a callback into one such error.

// pushError prints a Godot error naming the method and the cause.
func pushError(method, msg string) { report(method, msg, false) }

// pushWarning prints a Godot warning naming the method and the cause.
func pushWarning(method, msg string) { report(method, msg, true) }

func report(method, msg string, warning bool) {
	cm := C.CString(method + ": " + msg)
	cf := C.CString(method)
	if warning {
		C.gdx_print_warning(cm, cm, cf)
	} else {
		C.gdx_print_error(cm, cm, cf)
	}
	C.free(unsafe.Pointer(cm))
	C.free(unsafe.Pointer(cf))
}

// guard turns a panic in a callback into a Godot error: a panic unwinding
// through C frames would abort the whole engine. Programming errors (a
// method bound to the wrong class, a result of the wrong type) end here too.
func guard(where string) {
	if r := recover(); r != nil {
		pushError(where, fmt.Sprintf("internal error: %v\n%s", r, debug.Stack()))
	}
}
