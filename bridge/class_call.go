package main

/*
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Calls into extension classes: Godot → C trampoline (gdx.c) → Go export
// (main.go) → here: find the method and the instance, decode the arguments,
// run the method, write its result in the form the caller expects.

// callMethod serves untyped calls, call(), signals and Callables: it checks
// the count and types itself and applies defaults, as Godot expects of an
// extension's call_func.
func callMethod(id, handle uintptr, argp unsafe.Pointer, argc int, ret unsafe.Pointer, err *C.gdx_call_error) {
	runMainThreadWork()
	m := methodByID(id)
	inst := instanceAt(handle)
	if m == nil || inst == nil {
		err.error = callInstanceIsNull
		return
	}
	required := len(m.args) - len(defaultsOf(m))
	if argc < required {
		err.error, err.expected = callTooFewArguments, C.int32_t(required)
		return
	}
	if argc > len(m.args) {
		err.error, err.expected = callTooManyArguments, C.int32_t(len(m.args))
		return
	}
	var argv []unsafe.Pointer
	if argc > 0 {
		argv = unsafe.Slice((*unsafe.Pointer)(argp), argc)
	}
	pooled, vals := takeArgs(len(m.args))
	defer giveArgs(pooled, vals)
	for i, a := range m.args {
		if i >= argc {
			vals[i] = defaultValue(a)
			continue
		}
		v, ok := fromVariant((*variant)(argv[i]), a)
		if !ok && a.typ == tObject && (*variant)(argv[i]).typ() == tObject {
			// An Object of any class decodes, so this one was freed. The
			// engine's own classes take a freed object as null and fail
			// the call by their own rules; a null here may mean "the
			// default" (take_connection()), so the call fails at once.
			pushError(m.owner+"."+m.name, a.name+" is an object that was freed")
			if ret != nil {
				writeRefusal(ret, m)
			}
			return
		}
		if !ok {
			err.error, err.argument, err.expected = callInvalidArgument, C.int32_t(i), C.int32_t(a.typ)
			return
		}
		vals[i] = v
	}
	r := m.impl(inst, vals)
	if ret == nil {
		discard(r)
		return
	}
	writeVariant(ret, m.name, m.ret, r)
}

// callMethodPtr serves typed GDScript calls and engine calls: Godot has
// checked the types; every argument is present.
func callMethodPtr(id, handle uintptr, argp unsafe.Pointer, ret unsafe.Pointer) {
	runMainThreadWork()
	m := methodByID(id)
	inst := instanceAt(handle)
	if m == nil || inst == nil {
		return
	}
	n := len(m.args)
	var argv []unsafe.Pointer
	if n > 0 {
		argv = unsafe.Slice((*unsafe.Pointer)(argp), n)
	}
	pooled, vals := takeArgs(n)
	defer giveArgs(pooled, vals)
	for i, a := range m.args {
		vals[i] = fromSlot(argv[i], a)
	}
	r := m.impl(inst, vals)
	if ret == nil {
		discard(r)
		return
	}
	writeSlot(ret, m.name, m.ret, r)
}

// virtualData encodes a class and its virtual for Godot to hand back.
func virtualData(c *classDef, i int) uintptr { return c.id<<16 | uintptr(i+1) }

// findVirtual answers get_virtual_call_data: 0 means "not overridden".
func findVirtual(classID uintptr, name unsafe.Pointer) uintptr {
	c := classByID(classID)
	if c == nil {
		return 0
	}
	key := snKey(name)
	for i, v := range c.virtuals {
		if v.key == key {
			return virtualData(c, i)
		}
	}
	return 0
}

// callVirtual runs a virtual override and writes its typed result.
func callVirtual(handle, data uintptr, argp unsafe.Pointer, ret unsafe.Pointer) {
	runMainThreadWork()
	c := classByID(data >> 16)
	i := int(data&0xffff) - 1
	if c == nil || i < 0 || i >= len(c.virtuals) {
		panic(fmt.Sprintf("virtual call data %#x names no virtual", data))
	}
	v := c.virtuals[i]
	inst := instanceAt(handle)
	if inst == nil {
		writeSlot(ret, v.name, v.ret, v.gone)
		return
	}
	var argv []unsafe.Pointer
	if v.argc > 0 { // a virtual without arguments receives NULL
		argv = unsafe.Slice((*unsafe.Pointer)(argp), v.argc)
	}
	writeSlot(ret, v.name, v.ret, v.impl(inst, argv))
}

// argsPool recycles the decoded arguments of calls. A method receives them
// through a func value, so a fresh slice would always go to the heap, and a
// game makes such calls per peer, per frame.
var argsPool = sync.Pool{New: func() any {
	a := make(args, maxArgs)
	return &a
}}

// takeArgs returns n zeroed argument slots from the pool (none for n = 0);
// giveArgs destroys what they own and gives them back.
func takeArgs(n int) (*args, args) {
	if n == 0 {
		return nil, nil
	}
	p := argsPool.Get().(*args)
	return p, (*p)[:n]
}

func giveArgs(p *args, vals args) {
	if p == nil {
		return
	}
	vals.destroy()
	clear(vals) // nothing of this call stays reachable from the pool
	argsPool.Put(p)
}

func (a args) destroy() {
	for _, v := range a {
		if v.dict != nil {
			v.dict.destroy()
		}
	}
}

// fromVariant decodes the argument v (Godot's storage) as a declares.
// Scalars come back from C by value: out stays on the stack.
func fromVariant(v *variant, a argSpec) (value, bool) {
	var out value
	t := v.typ()
	switch a.typ {
	case tInt:
		switch t {
		case tInt:
			out.i = int64(C.gdx_variant_as_int(v.ptr()))
		case tFloat:
			out.i = int64(C.gdx_variant_as_float(v.ptr()))
		default:
			return out, false
		}
	case tFloat:
		switch t {
		case tFloat:
			out.f = float64(C.gdx_variant_as_float(v.ptr()))
		case tInt:
			out.f = float64(C.gdx_variant_as_int(v.ptr()))
		default:
			return out, false
		}
	case tBool:
		if t != tBool {
			return out, false
		}
		out.b = C.gdx_variant_as_bool(v.ptr()) != 0
	case tString:
		s, ok := stringOf(v)
		if !ok {
			return out, false
		}
		out.s = s
	case tBytes:
		b, ok := bytesOf(v)
		if !ok {
			return out, false
		}
		out.bytes = b
	case tObject:
		switch t {
		case tNil:
		case tObject:
			// gdx_variant_as_object gives NULL for a freed object too;
			// only then is it asked which (a live object is checked once)
			out.obj = unsafe.Pointer(C.gdx_variant_as_object(v.ptr()))
			if out.obj == nil && C.gdx_variant_holds_freed_object(v.ptr()) != 0 {
				return out, false // its pointer dangles
			}
		default:
			return out, false
		}
	case tDictionary:
		if t != tDictionary {
			return out, false
		}
		c := copyVariant(v.ptr())
		out.dict = &c
	default:
		panic(fmt.Sprintf("argument %s: type %v is not supported by the binding", a.name, a.typ))
	}
	return out, true
}

func fromSlot(p unsafe.Pointer, a argSpec) value {
	var out value
	if p == nil { // a null Object argument arrives as a NULL slot pointer
		return out
	}
	switch a.typ {
	case tInt:
		out.i = *(*int64)(p)
	case tFloat:
		out.f = *(*float64)(p)
	case tBool:
		out.b = *(*uint8)(p) != 0
	case tString:
		out.s = goString(p)
	case tBytes:
		out.bytes = goBytes(p)
	case tObject:
		out.obj = *(*unsafe.Pointer)(p)
	case tDictionary:
		d := variantFrom(tDictionary, p)
		out.dict = &d
	default:
		panic(fmt.Sprintf("argument %s: type %v is not supported by the binding", a.name, a.typ))
	}
	return out
}

// resultType is the Variant type r is written as; false for a Go type the
// binding does not write.
func resultType(r result) (vtype, bool) {
	switch r.(type) {
	case nil:
		return tNil, true
	case int64, gdError:
		return tInt, true
	case bool:
		return tBool, true
	case float64:
		return tFloat, true
	case string:
		return tString, true
	case objResult:
		return tObject, true
	case *dict:
		return tDictionary, true
	case *array:
		return tArray, true
	}
	return tNil, false
}

// checkResult panics (into guard) when r is not of the declared type; nil
// stands for void and for a null Object.
func checkResult(name string, declared vtype, r result) {
	t, ok := resultType(r)
	if ok && (t == declared || t == tNil && declared == tObject) {
		return
	}
	panic(fmt.Sprintf("%s is declared to return %v but returned %T", name, declared, r))
}

// writeVariant stores r into the caller's initialized Variant. Scalars are
// constructed in place by C from the value alone (no Go storage crosses,
// so nothing is allocated: a GDScript loop over 1,000 peers' get_status()
// used to allocate ~100 bytes a call). Other values are built in our own
// storage and copied with variant_new_copy; both ways are right for either
// Variant size (single and double precision).
func writeVariant(ret unsafe.Pointer, name string, t vtype, r result) {
	checkResult(name, t, r)
	switch x := r.(type) {
	case nil:
	case int64:
		C.gdx_variant_set_int(ret, C.int64_t(x))
	case gdError:
		C.gdx_variant_set_int(ret, C.int64_t(x))
	case bool:
		var b C.uint8_t
		if x {
			b = 1
		}
		C.gdx_variant_set_bool(ret, b)
	case float64:
		C.gdx_variant_set_float(ret, C.double(x))
	default:
		copyIntoVariant(ret, x)
	}
}

// copyIntoVariant builds a non-scalar r in our own Variant storage and
// copies it into ret. (Its own function: the storage escapes to the heap,
// and escape analysis would otherwise allocate it for scalars too.)
func copyIntoVariant(ret unsafe.Pointer, r result) {
	var v variant
	switch x := r.(type) {
	case string:
		v = variantString(x)
	case objResult:
		v = x.obj.variant()
		x.done() // v holds it now
	case *dict:
		v = x.v
	case *array:
		v = x.v
	default:
		panic(fmt.Sprintf("no Variant for a result of type %T", r))
	}
	C.gdx_variant_destroy(ret)
	C.gdx_variant_new_copy(ret, v.ptr())
	v.destroy()
}

// writeSlot stores r into a ptrcall return slot of the declared type.
func writeSlot(ret unsafe.Pointer, name string, t vtype, r result) {
	checkResult(name, t, r)
	switch x := r.(type) {
	case nil:
		// void, or a null Object: the slot already holds null
	case int64:
		*(*int64)(ret) = x
	case gdError:
		*(*int64)(ret) = int64(x)
	case bool:
		*(*uint8)(ret) = 0
		if x {
			*(*uint8)(ret) = 1
		}
	case float64:
		*(*float64)(ret) = x
	case string:
		destroyBuiltin(tString, ret)
		newString(ret, x)
	case objResult:
		C.gdx_ref_set(ret, x.obj.p)
		x.done()
	case *dict:
		destroyBuiltin(tDictionary, ret)
		variantInto(tDictionary, ret, &x.v)
		x.v.destroy()
	case *array:
		destroyBuiltin(tArray, ret)
		variantInto(tArray, ret, &x.v)
		x.v.destroy()
	}
}

// writeRefusal writes what m returns for a call it refuses before running:
// ERR_INVALID_PARAMETER for an Error, null for an Object, the zero value of
// a scalar or a String. Other types keep the caller's nil.
func writeRefusal(ret unsafe.Pointer, m *methodDef) {
	var r result
	switch {
	case m.retEnum && m.retName == "Error":
		r = errInvalidParameter
	case m.ret == tInt:
		r = int64(0)
	case m.ret == tBool:
		r = false
	case m.ret == tFloat:
		r = 0.0
	case m.ret == tString:
		r = ""
	case m.ret != tObject:
		return
	}
	writeVariant(ret, m.name, m.ret, r)
}

// discard releases a result nobody receives.
func discard(r result) {
	switch x := r.(type) {
	case objResult:
		switch {
		case x.held:
			x.done() // frees obj if nobody else holds it
		case x.fresh:
			C.gdx_object_destroy(x.obj.p)
		}
	case *dict:
		x.v.destroy()
	case *array:
		x.v.destroy()
	}
}
