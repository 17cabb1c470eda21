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

// instanceID is the object's id, which outlives the object: alive(id)
// tells later whether the object still exists.
func (o object) instanceID() uint64 { return uint64(C.gdx_object_id(o.p)) }

// alive tells whether the object with instance id id is still this one.
func (o object) alive(id uint64) bool {
	return !o.isNull() && C.gdx_object_from_id(C.uint64_t(id)) == o.p
}

// retain takes our own reference on a RefCounted we keep.
func (o object) retain() { retain(o.p) }

// release drops our reference, freeing the object if it was the last one.
func (o object) release() { release(o.p) }

// emit sends a signal and destroys args. Call only on Godot's thread, with
// no Go lock held: the handlers run inside this call and may call back.
func (o object) emit(signal string, args ...variant) { emit(o.p, signal, args...) }

// ours is our instance behind the object, or nil if it is not one of ours.
func (o object) ours() instance { return instanceOf(o.p) }

// variant wraps the object; for a RefCounted the Variant takes a reference.
func (o object) variant() variant { return variantObject(o.p) }
