package main

/*
#include "gdx.h"
*/
import "C"

import "unsafe"

// object is a Godot object as class code holds it. Only the binding
// dereferences the pointer (through Godot's interface), so class files hold
// and pass objects without unsafe.
type object struct{ p unsafe.Pointer }

// null is the null Object.
var null object

func (o object) isNull() bool { return o.p == nil }

// is asks Object.is_class(name); false for null.
func (o object) is(class string) bool { return isClass(o.p, class) }

// retain takes our own reference on a RefCounted we keep (false: none, it is
// being freed).
func (o object) retain() bool { return retain(o.p) }

// release drops our reference, freeing the object if it was the last one.
func (o object) release() { release(o.p) }

// emit sends a signal and destroys args. Call only on Godot's thread, with
// no Go lock held: the handlers run inside this call and may call back.
func (o object) emit(signal string, args ...variant) { emit(o.p, signal, args...) }

// ours is our instance behind the object, or nil if it is not one of ours.
func (o object) ours() instance { return instanceOf(o.p) }

// variant wraps the object; for a RefCounted the Variant takes a reference.
func (o object) variant() variant { return variantObject(o.p) }
