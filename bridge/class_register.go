package main

/*
#include <stdlib.h>
#include <string.h>
#include "gdx.h"
*/
import "C"

import (
	"unsafe"
)

// Registration: hands each classDef of classes.go to Godot at SCENE level
// and takes it back at deinitialization. Godot keeps integer handles only:
// class_userdata is the class id, method_userdata the method id, and the
// virtual call data encodes class id and virtual index.

var (
	registered []*classDef  // by id - 1
	methods    []*methodDef // by method id - 1
)

func classByID(id uintptr) *classDef {
	if id < 1 || id > uintptr(len(registered)) {
		return nil
	}
	return registered[id-1]
}

func classByName(name string) *classDef {
	for _, c := range registered {
		if c.name == name {
			return c
		}
	}
	return nil
}

func methodByID(id uintptr) *methodDef {
	if id < 1 || id > uintptr(len(methods)) {
		return nil
	}
	return methods[id-1]
}

func registerClasses() {
	for _, build := range classList {
		c := build()
		if err := c.check(); err != nil {
			pushError("GoDTLS initialize", err.Error()+"; the class is not registered")
			continue
		}
		registered = append(registered, c)
		c.id = uintptr(len(registered))
		registerClass(c)
	}
}

func registerClass(c *classDef) {
	withVirtuals := C.int(0)
	if len(c.virtuals) > 0 {
		withVirtuals = 1
	}
	C.gdx_register_class(sn(c.name).ptr(), sn(c.parent).ptr(), C.uintptr_t(c.id), withVirtuals)
	for _, v := range c.virtuals {
		v.key = snKey(sn(v.name).ptr())
	}
	for _, m := range c.allMethods() {
		registerMethod(c, m)
	}
	for _, e := range c.enums {
		for i, name := range e.values {
			C.gdx_register_constant(sn(c.name).ptr(), sn(e.name).ptr(), sn(name).ptr(), C.gdx_int(i))
		}
	}
	for _, p := range c.properties {
		info := newPropertyInfos(1)
		fillPropertyInfo(&info[0], p.typ, p.name, "", usageDefault)
		C.gdx_register_property(sn(c.name).ptr(), &info[0], sn(p.setter.name).ptr(), sn(p.getter.name).ptr())
		C.free(unsafe.Pointer(&info[0]))
	}
	for _, s := range c.signals {
		info := newPropertyInfos(len(s.params))
		for i, a := range s.params {
			fillPropertyInfo(&info[i], a.typ, a.name, a.class, usageDefault)
		}
		C.gdx_register_signal(sn(c.name).ptr(), sn(s.name).ptr(), &info[0], C.gdx_int(len(s.params)))
		C.free(unsafe.Pointer(&info[0]))
	}
}

// unregisterClasses runs at deinitialization: children before parents.
func unregisterClasses() {
	for i := len(registered) - 1; i >= 0; i-- {
		C.gdx_unregister_class(sn(registered[i].name).ptr())
	}
	registered, methods = nil, nil
}

// newPropertyInfos allocates n (at least one) zeroed infos in C memory.
func newPropertyInfos(n int) []C.gdx_property_info {
	p := C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.gdx_property_info{})))
	return unsafe.Slice((*C.gdx_property_info)(p), max(n, 1))
}

func fillPropertyInfo(p *C.gdx_property_info, t vtype, name, class string, usage uint32) {
	p._type = C.uint32_t(t)
	p.name = sn(name).ptr()
	p.class_name = sn(class).ptr()
	p.hint = 0
	p.hint_string = emptyString
	p.usage = C.uint32_t(usage)
}

// metadataOf tells Godot the width of int and float values (int64, double).
func metadataOf(t vtype) C.uint32_t {
	switch t {
	case tInt:
		return metadataIntIsInt64
	case tFloat:
		return metadataRealIsDouble
	}
	return metadataNone
}

func registerMethod(c *classDef, m *methodDef) {
	m.owner = c.name
	methods = append(methods, m)
	id := len(methods)
	info := (*C.gdx_method_info)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gdx_method_info{}))))
	defer C.free(unsafe.Pointer(info))
	info.name = sn(m.name).ptr()
	info.method_flags = methodFlagNormal
	if m.isConst {
		info.method_flags |= methodFlagConst
	}
	if m.ret != tNil {
		ret := newPropertyInfos(1)
		defer C.free(unsafe.Pointer(&ret[0]))
		usage := uint32(usageDefault)
		if m.retEnum {
			usage |= usageClassIsEnum
		}
		fillPropertyInfo(&ret[0], m.ret, "", m.retName, usage)
		info.has_return_value = 1
		info.return_value_info = &ret[0]
		info.return_value_metadata = metadataOf(m.ret)
	}
	n := len(m.args)
	info.argument_count = C.uint32_t(n)
	if n > 0 {
		argInfo := newPropertyInfos(n)
		meta := unsafe.Slice((*C.uint32_t)(C.calloc(C.size_t(n), 4)), n)
		defer C.free(unsafe.Pointer(&argInfo[0]))
		defer C.free(unsafe.Pointer(&meta[0]))
		for i, a := range m.args {
			fillPropertyInfo(&argInfo[i], a.typ, a.name, a.class, usageDefault)
			meta[i] = metadataOf(a.typ)
		}
		info.arguments_info = &argInfo[0]
		info.arguments_metadata = &meta[0]
		if defs := defaultsOf(m); len(defs) > 0 {
			// Godot copies the defaults; this storage is ours to free.
			store := unsafe.Slice((*variant)(C.calloc(C.size_t(len(defs)), C.size_t(unsafe.Sizeof(variant{})))), len(defs))
			ptrs := unsafe.Slice((*unsafe.Pointer)(C.calloc(C.size_t(len(defs)), C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))), len(defs))
			for i, a := range defs {
				store[i] = defaultVariant(a)
				ptrs[i] = store[i].ptr()
			}
			info.default_argument_count = C.uint32_t(len(defs))
			info.default_arguments = &ptrs[0]
			defer func() {
				for i := range store {
					store[i].destroy()
				}
				C.free(unsafe.Pointer(&store[0]))
				C.free(unsafe.Pointer(&ptrs[0]))
			}()
		}
	}
	C.gdx_register_method(sn(c.name).ptr(), info, C.uintptr_t(id))
}

// defaultsOf returns the trailing arguments that have defaults.
func defaultsOf(m *methodDef) []argSpec {
	first := len(m.args)
	for first > 0 && m.args[first-1].hasDef {
		first--
	}
	return m.args[first:]
}

// defaultVariant is an argument's default as Godot shows it.
func defaultVariant(a argSpec) variant {
	switch d := a.def.(type) {
	case int64:
		return variantInt(d)
	case float64:
		return variantFloat(d)
	case string:
		return variantString(d)
	case bool:
		return variantBool(d)
	}
	return variantObject(nil)
}

// defaultValue is an argument's default as the method receives it.
func defaultValue(a argSpec) value {
	switch d := a.def.(type) {
	case int64:
		return value{i: d}
	case float64:
		return value{f: d}
	case string:
		return value{s: d}
	case bool:
		return value{b: d}
	}
	return value{}
}
