package main

/*
#include "gdx.h"
*/
import "C"

import (
	"unsafe"
)

// Builtin values in Go memory. Each type below holds only Godot's own data
// (never a Go pointer), so Go may pass its address to C for the length of a
// call. Whoever constructs one destroys it.

// variant is storage for one Variant, sized for double-precision engines
// too (see GDX_VARIANT_SIZE). Bytes are never copied between a variant and
// a Variant Godot owns; new_copy and the type constructors move values.
type variant [C.GDX_VARIANT_SIZE]byte

func (v *variant) ptr() unsafe.Pointer { return unsafe.Pointer(&v[0]) }
func (v *variant) destroy()            { C.gdx_variant_destroy(v.ptr()) }
func (v *variant) typ() vtype          { return vtype(C.gdx_variant_type(v.ptr())) }

// copyVariant makes out an independent copy of the Variant at p.
func copyVariant(p unsafe.Pointer) (out variant) {
	C.gdx_variant_new_copy(out.ptr(), p)
	return
}

// gdString is a Godot String value.
type gdString [C.GDX_STRING_SIZE]byte

func (s *gdString) ptr() unsafe.Pointer { return unsafe.Pointer(&s[0]) }
func (s *gdString) destroy()            { destroyBuiltin(tString, s.ptr()) }
func (s *gdString) String() string      { return goString(s.ptr()) }

func makeString(text string) (out gdString) {
	newString(out.ptr(), text)
	return
}

// gdStringName is a StringName value owned by the caller (unlike sn's,
// which live until deinitialization).
type gdStringName [C.GDX_STRING_NAME_SIZE]byte

func (n *gdStringName) ptr() unsafe.Pointer { return unsafe.Pointer(&n[0]) }
func (n *gdStringName) destroy()            { destroyBuiltin(tStringName, n.ptr()) }

// packedBytes is a PackedByteArray value.
type packedBytes [C.GDX_PACKED_ARRAY_SIZE]byte

func (b *packedBytes) ptr() unsafe.Pointer { return unsafe.Pointer(&b[0]) }
func (b *packedBytes) destroy()            { destroyBuiltin(tBytes, b.ptr()) }
func (b *packedBytes) bytes() []byte       { return goBytes(b.ptr()) }

func makePackedBytes(data []byte) (out packedBytes) {
	newPackedBytes(out.ptr(), data)
	return
}

func destroyBuiltin(t vtype, p unsafe.Pointer) { C.gdx_destroy(C.uint32_t(t), p) }

// newString constructs a Godot String from text into uninitialized storage.
func newString(dst unsafe.Pointer, text string) {
	var data *C.char
	if len(text) > 0 {
		data = (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
	}
	C.gdx_string_new(dst, data, C.gdx_int(len(text)))
}

// newPackedBytes constructs a PackedByteArray holding a copy of data into
// uninitialized storage.
func newPackedBytes(dst unsafe.Pointer, data []byte) {
	var p *C.uint8_t
	if len(data) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	C.gdx_pba_new(dst, p, C.gdx_int(len(data)))
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

func variantFrom(t vtype, src unsafe.Pointer) (out variant) {
	C.gdx_variant_from(C.uint32_t(t), out.ptr(), src)
	return
}

// variantInto writes the value of v into typed storage dst.
func variantInto(t vtype, dst unsafe.Pointer, v *variant) {
	C.gdx_variant_to(C.uint32_t(t), dst, v.ptr())
}

func variantInt(n int64) variant     { return variantFrom(tInt, unsafe.Pointer(&n)) }
func variantFloat(f float64) variant { return variantFrom(tFloat, unsafe.Pointer(&f)) }

func variantBool(b bool) variant {
	var x uint8
	if b {
		x = 1
	}
	return variantFrom(tBool, unsafe.Pointer(&x))
}

func variantString(text string) variant {
	s := makeString(text)
	defer s.destroy()
	return variantFrom(tString, s.ptr())
}

func variantStringName(n stringName) variant { return variantFrom(tStringName, n.ptr()) }

// variantObject wraps obj; for a RefCounted the Variant takes a reference
// (adopting the first one of a fresh object).
func variantObject(obj unsafe.Pointer) (out variant) {
	if obj == nil {
		C.gdx_variant_new_nil(out.ptr())
		return
	}
	return variantFrom(tObject, unsafe.Pointer(&obj))
}

// Variant readers.

// stringOf reads a String or StringName Variant.
func stringOf(v *variant) (string, bool) {
	switch v.typ() {
	case tString:
		var s gdString
		variantInto(tString, s.ptr(), v)
		defer s.destroy()
		return s.String(), true
	case tStringName:
		var name gdStringName
		var s gdString
		variantInto(tStringName, name.ptr(), v)
		C.gdx_string_from_name(s.ptr(), name.ptr())
		defer name.destroy()
		defer s.destroy()
		return s.String(), true
	}
	return "", false
}

// bytesOf reads a PackedByteArray Variant.
func bytesOf(v *variant) ([]byte, bool) {
	if v.typ() != tBytes {
		return nil, false
	}
	var b packedBytes
	variantInto(tBytes, b.ptr(), v)
	defer b.destroy()
	return b.bytes(), true
}

// dict is a Dictionary being built, as a Variant.
type dict struct{ v variant }

func newDict() *dict {
	d := &dict{}
	C.gdx_variant_construct(C.uint32_t(tDictionary), d.v.ptr())
	return d
}

// set stores val under key and destroys val.
func (d *dict) set(key string, val variant) {
	k := variantString(key)
	C.gdx_variant_set(d.v.ptr(), k.ptr(), val.ptr())
	k.destroy()
	val.destroy()
}

func (d *dict) setInt(key string, n int64) { d.set(key, variantInt(n)) }

// newCallable is Callable(obj, method) as a Variant.
func newCallable(obj object, method string) (out variant) {
	args := [2]variant{obj.variant(), variantStringName(sn(method))}
	var err C.gdx_call_error
	C.gdx_variant_construct_with(C.uint32_t(tCallable), out.ptr(), args[0].ptr(), 2, &err)
	args[0].destroy()
	args[1].destroy()
	return out
}

// array is an Array being built, as a Variant.
type array struct{ v variant }

func newArray() *array {
	a := &array{}
	C.gdx_variant_construct(C.uint32_t(tArray), a.v.ptr())
	return a
}

// append adds val and destroys it.
func (a *array) append(val variant) {
	var ret variant
	var err C.gdx_call_error
	C.gdx_variant_call(a.v.ptr(), sn("append").ptr(), val.ptr(), 1, ret.ptr(), &err)
	ret.destroy()
	val.destroy()
}

// dictEntries reads a Dictionary Variant as key/value Variant pairs; the
// caller destroys them.
func dictEntries(d *variant) (keys, values []variant) {
	var ks variant
	var err C.gdx_call_error
	C.gdx_variant_call(d.ptr(), sn("keys").ptr(), nil, 0, ks.ptr(), &err)
	defer ks.destroy()
	if err.error != callOK {
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
