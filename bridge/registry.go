package main

/*
#include <stdlib.h>
#include <string.h>
#include "gdx.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// value is one decoded argument.
type value struct {
	i     int64
	f     float64
	b     bool
	s     string
	bytes []byte
	obj   unsafe.Pointer
	dict  *variant // a copy the call owns
}

// result is what a method returns: nil (void), int64, bool, float64,
// string, objResult, *dict or *array.
type result any

// objResult returns an Object; fresh means nobody holds a reference yet.
type objResult struct {
	obj   unsafe.Pointer
	fresh bool
}

type argSpec struct {
	name  string
	typ   uint32
	class string         // Object arguments
	def   func() value   // nil: required
	defV  func() variant // the default as Godot sees it (docs, editor)
}

type methodDef struct {
	class    string
	name     string
	args     []argSpec
	ret      uint32 // tNil: void
	retClass string
	retEnum  string
	isConst  bool
	impl     func(inst any, a []value) result
}

var methods []*methodDef

// bind adapts a method of one instance type to the registry's signature;
// a call on an instance of another type (never expected) returns nothing.
func bind[T any](f func(T, []value) result) func(any, []value) result {
	return func(inst any, a []value) result {
		t, ok := inst.(T)
		if !ok {
			return nil
		}
		return f(t, a)
	}
}

// Usage flags.
const (
	usageDefault     = 6
	usageClassIsEnum = 1 << 16
	usageNilIsVar    = 1 << 17
)

var emptyString unsafe.Pointer // a Godot String "", for hint_string

func propertyInfo(p *C.gdx_property_info, typ uint32, name, class string, usage uint32) {
	p._type = C.uint32_t(typ)
	p.name = unsafe.Pointer(sn(name))
	p.class_name = unsafe.Pointer(sn(class))
	p.hint = 0
	p.hint_string = emptyString
	p.usage = C.uint32_t(usage)
}

func registerMethod(m *methodDef) {
	methods = append(methods, m)
	id := len(methods) // method_userdata: index + 1
	info := (*C.gdx_method_info)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gdx_method_info{}))))
	defer C.free(unsafe.Pointer(info))
	info.name = unsafe.Pointer(sn(m.name))
	info.method_flags = 1 // NORMAL
	if m.isConst {
		info.method_flags |= 4
	}
	var retInfo *C.gdx_property_info
	if m.ret != tNil {
		retInfo = (*C.gdx_property_info)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gdx_property_info{}))))
		defer C.free(unsafe.Pointer(retInfo))
		usage := uint32(usageDefault)
		class := m.retClass
		if m.retEnum != "" {
			usage |= usageClassIsEnum
			class = m.retEnum
		}
		propertyInfo(retInfo, m.ret, "", class, usage)
		info.has_return_value = 1
		info.return_value_info = retInfo
		if m.ret == tInt {
			info.return_value_metadata = 4 // INT_IS_INT64
		}
	}
	n := len(m.args)
	info.argument_count = C.uint32_t(n)
	if n > 0 {
		argInfo := (*[8]C.gdx_property_info)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.gdx_property_info{}))))
		meta := (*[8]C.uint32_t)(C.calloc(C.size_t(n), 4))
		defer C.free(unsafe.Pointer(argInfo))
		defer C.free(unsafe.Pointer(meta))
		ndef := 0
		for i, a := range m.args {
			propertyInfo(&argInfo[i], a.typ, a.name, a.class, usageDefault)
			if a.def != nil {
				ndef++
			}
		}
		info.arguments_info = &argInfo[0]
		info.arguments_metadata = &meta[0]
		if ndef > 0 {
			defs := (*[8]variant)(C.calloc(C.size_t(ndef), variantSize))
			ptrs := (*[8]unsafe.Pointer)(C.calloc(C.size_t(ndef), 8))
			defer C.free(unsafe.Pointer(defs))
			defer C.free(unsafe.Pointer(ptrs))
			for i := 0; i < ndef; i++ {
				v := m.args[n-ndef+i].defV()
				C.memcpy(defs[i].ptr(), v.ptr(), variantSize)
				ptrs[i] = defs[i].ptr()
			}
			info.default_argument_count = C.uint32_t(ndef)
			info.default_arguments = &ptrs[0]
			defer func() {
				for i := 0; i < ndef; i++ {
					defs[i].destroy()
				}
			}()
		}
	}
	C.gdx_register_method(unsafe.Pointer(sn(m.class)), info, C.uintptr_t(id))
}

func methodByID(id int) *methodDef {
	if id < 1 || id > len(methods) {
		return nil
	}
	return methods[id-1]
}

// methodCall serves untyped calls, call(), signals and Callables: it checks
// the count and types itself and applies defaults, as Godot expects of an
// extension's call_func.
func methodCall(id int, handle uintptr, args unsafe.Pointer, argc int, ret unsafe.Pointer, err *C.gdx_call_error) {
	m := methodByID(id)
	inst := instance(handle)
	if m == nil || inst == nil {
		err.error = 5 // INSTANCE_IS_NULL
		return
	}
	required := 0
	for _, a := range m.args {
		if a.def == nil {
			required++
		}
	}
	if argc < required {
		err.error, err.expected = 4, C.int32_t(required)
		return
	}
	if argc > len(m.args) {
		err.error, err.expected = 3, C.int32_t(len(m.args))
		return
	}
	var argv []unsafe.Pointer
	if argc > 0 {
		argv = unsafe.Slice((*unsafe.Pointer)(args), argc)
	}
	vals := make([]value, len(m.args))
	defer destroyValues(vals)
	for i, a := range m.args {
		if i >= argc {
			vals[i] = a.def()
			continue
		}
		v, ok := fromVariant((*variant)(argv[i]), a)
		if !ok {
			err.error, err.argument, err.expected = 2, C.int32_t(i), C.int32_t(a.typ)
			return
		}
		vals[i] = v
	}
	r := m.impl(inst, vals)
	if ret != nil {
		writeVariant(ret, m, r)
	} else if o, ok := r.(objResult); ok && o.fresh {
		C.gdx_object_destroy(o.obj)
	}
}

// methodPtrcall serves typed GDScript calls and engine calls.
func methodPtrcall(id int, handle uintptr, args unsafe.Pointer, ret unsafe.Pointer) {
	m := methodByID(id)
	inst := instance(handle)
	if m == nil || inst == nil {
		return
	}
	n := len(m.args)
	var argv []unsafe.Pointer
	if n > 0 {
		argv = unsafe.Slice((*unsafe.Pointer)(args), n)
	}
	vals := make([]value, n)
	defer destroyValues(vals)
	for i, a := range m.args {
		vals[i] = fromSlot(argv[i], a)
	}
	writeSlot(ret, m, m.impl(inst, vals))
}

func destroyValues(vals []value) {
	for _, v := range vals {
		if v.dict != nil {
			v.dict.destroy()
		}
	}
}

func fromVariant(v *variant, a argSpec) (value, bool) {
	var out value
	t := v.typ()
	switch a.typ {
	case tInt:
		switch t {
		case tInt:
			C.gdx_variant_to(tInt, unsafe.Pointer(&out.i), v.ptr())
		case tFloat:
			var f float64
			C.gdx_variant_to(tFloat, unsafe.Pointer(&f), v.ptr())
			out.i = int64(f)
		default:
			return out, false
		}
	case tFloat:
		switch t {
		case tFloat:
			C.gdx_variant_to(tFloat, unsafe.Pointer(&out.f), v.ptr())
		case tInt:
			var i int64
			C.gdx_variant_to(tInt, unsafe.Pointer(&i), v.ptr())
			out.f = float64(i)
		default:
			return out, false
		}
	case tBool:
		if t != tBool {
			return out, false
		}
		var b uint8
		C.gdx_variant_to(tBool, unsafe.Pointer(&b), v.ptr())
		out.b = b != 0
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
			C.gdx_variant_to(tObject, unsafe.Pointer(&out.obj), v.ptr())
		default:
			return out, false
		}
	case tDictionary:
		if t != tDictionary {
			return out, false
		}
		out.dict = new(variant)
		C.gdx_variant_new_copy(out.dict.ptr(), v.ptr())
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
		out.dict = new(variant)
		C.gdx_variant_from(tDictionary, out.dict.ptr(), p)
	}
	return out
}

// writeVariant stores r into an initialized (NIL) Variant.
func writeVariant(ret unsafe.Pointer, m *methodDef, r result) {
	var v variant
	switch x := r.(type) {
	case nil:
		return
	case int64:
		v = variantInt(x)
	case bool:
		v = variantBool(x)
	case float64:
		v = variantFloat(x)
	case string:
		v = variantString(x)
	case objResult:
		v = variantObject(x.obj)
	case *dict:
		v = x.v
	case *array:
		v = x.v
	default:
		panic(fmt.Sprintf("%s: unexpected result %T", m.name, r))
	}
	C.gdx_variant_destroy(ret)
	C.memcpy(ret, v.ptr(), variantSize) // moved: v is not destroyed
}

// writeSlot stores r into a ptrcall return slot (which may be NULL).
func writeSlot(ret unsafe.Pointer, m *methodDef, r result) {
	if ret == nil {
		switch x := r.(type) {
		case objResult:
			if x.fresh {
				C.gdx_object_destroy(x.obj)
			}
		case *dict:
			x.v.destroy()
		case *array:
			x.v.destroy()
		}
		return
	}
	switch x := r.(type) {
	case nil:
		// void, or a null Object: the slot already holds null
	case int64:
		*(*int64)(ret) = x
	case bool:
		if x {
			*(*uint8)(ret) = 1
		} else {
			*(*uint8)(ret) = 0
		}
	case float64:
		*(*float64)(ret) = x
	case string:
		C.gdx_destroy(tString, ret)
		newString(ret, x)
	case objResult:
		C.gdx_ref_set(ret, x.obj)
	case *dict:
		C.gdx_destroy(tDictionary, ret)
		C.gdx_variant_to(tDictionary, ret, x.v.ptr())
		x.v.destroy()
	case *array:
		C.gdx_destroy(tArray, ret)
		C.gdx_variant_to(tArray, ret, x.v.ptr())
		x.v.destroy()
	default:
		panic(fmt.Sprintf("%s: unexpected result %T", m.name, r))
	}
}

// Default-value helpers.
func defInt(n int64) (func() value, func() variant) {
	return func() value { return value{i: n} }, func() variant { return variantInt(n) }
}

func defString(s string) (func() value, func() variant) {
	return func() value { return value{s: s} }, func() variant { return variantString(s) }
}

func defNull() (func() value, func() variant) {
	return func() value { return value{} }, func() variant { return variantObject(nil) }
}

func withDefault(a argSpec, d func() value, dv func() variant) argSpec {
	a.def, a.defV = d, dv
	return a
}
