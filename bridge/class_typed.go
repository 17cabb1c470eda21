package main

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Typed methods and virtuals. A class declares a method with the Go
// function that implements it, such as (*gdServer).listen of type
// func(*gdServer, int64, string) result, and with .arg() for each
// parameter as Godot shows it. The adapter below decodes each argument to
// the Go type of its parameter, so class code never reads an argument by
// position and never touches a raw pointer. check() (at registration, and
// in the tests) refuses a class whose Go parameters and declared arguments
// disagree in number or type, the way gdext's typed parameter tuples do at
// compile time.

// goTypeOf is the Go type a parameter declared as t has.
func goTypeOf(t vtype) (reflect.Type, bool) {
	switch t {
	case tInt:
		return reflect.TypeFor[int64](), true
	case tFloat:
		return reflect.TypeFor[float64](), true
	case tBool:
		return reflect.TypeFor[bool](), true
	case tString:
		return reflect.TypeFor[string](), true
	case tBytes:
		return reflect.TypeFor[[]byte](), true
	case tObject:
		return reflect.TypeFor[object](), true
	case tDictionary:
		return reflect.TypeFor[*variant](), true
	}
	return nil, false
}

// paramsMatch reports a Go signature that does not fit the declared
// arguments.
func paramsMatch(params []reflect.Type, declared []argSpec) error {
	if len(params) != len(declared) {
		return fmt.Errorf("the Go function takes %d arguments but %d are declared", len(params), len(declared))
	}
	for i, a := range declared {
		want, ok := goTypeOf(a.typ)
		if !ok {
			return fmt.Errorf("argument %s: type %v is not supported by the binding", a.name, a.typ)
		}
		if params[i] != want {
			return fmt.Errorf("argument %s is declared %v (Go %v) but the Go function takes %v", a.name, a.typ, want, params[i])
		}
	}
	return nil
}

// argAs converts a decoded argument to the Go type of its parameter.
func argAs[A any](v value) A {
	var out A
	switch p := any(&out).(type) {
	case *int64:
		*p = v.i
	case *float64:
		*p = v.f
	case *bool:
		*p = v.b
	case *string:
		*p = v.s
	case *[]byte:
		*p = v.bytes
	case *object:
		*p = object{v.obj}
	case *(*variant):
		*p = v.dict
	default:
		panic(fmt.Sprintf("a parameter of Go type %T is not supported by the binding", out))
	}
	return out
}

func typesOf(ts ...reflect.Type) []reflect.Type { return ts }

// method declares a method without arguments.
func method[T instance](name string, impl func(T) result) *methodDef {
	return &methodDef{name: name, impl: func(inst instance, _ args) result {
		return impl(as[T](inst, name))
	}}
}

func method1[T instance, A any](name string, impl func(T, A) result) *methodDef {
	return &methodDef{name: name, params: typesOf(reflect.TypeFor[A]()), impl: func(inst instance, a args) result {
		return impl(as[T](inst, name), argAs[A](a[0]))
	}}
}

func method2[T instance, A, B any](name string, impl func(T, A, B) result) *methodDef {
	return &methodDef{name: name, params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B]()), impl: func(inst instance, a args) result {
		return impl(as[T](inst, name), argAs[A](a[0]), argAs[B](a[1]))
	}}
}

func method3[T instance, A, B, C any](name string, impl func(T, A, B, C) result) *methodDef {
	return &methodDef{name: name, params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()), impl: func(inst instance, a args) result {
		return impl(as[T](inst, name), argAs[A](a[0]), argAs[B](a[1]), argAs[C](a[2]))
	}}
}

func method4[T instance, A, B, C, D any](name string, impl func(T, A, B, C, D) result) *methodDef {
	params := typesOf(reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C](), reflect.TypeFor[D]())
	return &methodDef{name: name, params: params, impl: func(inst instance, a args) result {
		return impl(as[T](inst, name), argAs[A](a[0]), argAs[B](a[1]), argAs[C](a[2]), argAs[D](a[3]))
	}}
}

// Virtuals receive ptrcall slots; the engine's virtuals we override take
// int (int64 slots) and bool (one byte) arguments.

// slotParamsSupported reports a virtual parameter slotAs cannot decode.
func slotParamsSupported(params []reflect.Type) error {
	for _, p := range params {
		if p != reflect.TypeFor[int64]() && p != reflect.TypeFor[bool]() {
			return fmt.Errorf("a virtual parameter of Go type %v is not supported by the binding", p)
		}
	}
	return nil
}

func slotAs[A any](p unsafe.Pointer) A {
	var out A
	switch d := any(&out).(type) {
	case *int64:
		*d = *(*int64)(p)
	case *bool:
		*d = *(*uint8)(p) != 0
	default:
		panic(fmt.Sprintf("a virtual parameter of Go type %T is not supported by the binding", out))
	}
	return out
}

// virtual overrides a virtual without arguments; gone is the result of a
// call on an object whose Go side is already freed.
func virtual[T instance](name string, ret vtype, gone result, impl func(T) result) *virtualDef {
	return &virtualDef{name: name, ret: ret, gone: gone, impl: func(inst instance, _ []unsafe.Pointer) result {
		return impl(as[T](inst, name))
	}}
}

func virtual1[T instance, A any](name string, ret vtype, gone result, impl func(T, A) result) *virtualDef {
	return &virtualDef{name: name, argc: 1, params: typesOf(reflect.TypeFor[A]()), ret: ret, gone: gone,
		impl: func(inst instance, a []unsafe.Pointer) result {
			return impl(as[T](inst, name), slotAs[A](a[0]))
		}}
}

func virtual2[T instance, A, B any](name string, ret vtype, gone result, impl func(T, A, B) result) *virtualDef {
	return &virtualDef{name: name, argc: 2, params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B]()), ret: ret, gone: gone,
		impl: func(inst instance, a []unsafe.Pointer) result {
			return impl(as[T](inst, name), slotAs[A](a[0]), slotAs[B](a[1]))
		}}
}

func method6[T instance, A, B, C, D, E, F any](name string, impl func(T, A, B, C, D, E, F) result) *methodDef {
	params := typesOf(reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C](), reflect.TypeFor[D](), reflect.TypeFor[E](), reflect.TypeFor[F]())
	return &methodDef{name: name, params: params, impl: func(inst instance, a args) result {
		return impl(as[T](inst, name), argAs[A](a[0]), argAs[B](a[1]), argAs[C](a[2]), argAs[D](a[3]), argAs[E](a[4]), argAs[F](a[5]))
	}}
}
