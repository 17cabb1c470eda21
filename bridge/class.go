package main

import (
	"fmt"
	"reflect"
	"unsafe"
)

// The class framework: a class is one classDef value that declares
// everything Godot sees of it (see classes.go for the list, and one file per
// class). This file holds the descriptor types and the helpers that build
// them; class_register.go hands them to Godot and class_call.go serves the
// calls.

// instance is the Go side of one object of an extension class.
type instance interface {
	// free runs when Godot destroys the object (any thread). The object is
	// half gone: release Go and C state, never call Godot on it.
	free()
}

// shutdowner is an instance with work to do when the engine quits while it
// is alive (close connections, end goroutines) before classes go away.
type shutdowner interface {
	shutdown()
}

// classDef declares one class.
type classDef struct {
	name   string
	parent string // an engine class: each instance is constructed as one
	// create makes the Go side of an object GDScript made with new(); obj is
	// the freshly constructed parent object.
	create func(obj object) instance

	methods    []*methodDef
	properties []propertyDef
	signals    []signalDef
	enums      []enumDef
	virtuals   []*virtualDef

	id uintptr // 1-based position in the registration list
}

// args are the decoded arguments of one call, defaults applied. Class code
// never sees them: the typed adapters (class_typed.go) convert each to the
// Go type of the method's parameter.
type args []value

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

// result is what a method returns, matching its declared type: nil (void,
// or a null Object), int64 or gdError (int), bool, float64, string,
// objResult, *dict or *array.
type result any

// objResult returns an Object. fresh means nobody holds a reference yet;
// held means we hold one (gdServer.objectFor: an object other threads can
// reach), which done drops once whoever receives obj has taken its own, or
// nobody will.
type objResult struct {
	obj   object
	fresh bool
	held  bool
}

func (r objResult) done() {
	if r.held {
		r.obj.release()
	}
}

// argSpec is one argument of a method or signal.
type argSpec struct {
	name   string
	typ    vtype
	class  string // Object arguments: the class
	hasDef bool
	def    any // the default: int64, float64, string, or nil (null Object)
}

// methodDef is one method as Godot sees it.
type methodDef struct {
	name    string
	owner   string // the class's name, for the errors of the call path
	args    []argSpec
	params  []reflect.Type // the Go parameter types of impl, checked against args
	ret     vtype          // tNil: void
	retName string         // Object returns: the class; enum returns: "Class.Enum"
	retEnum bool
	isConst bool
	impl    func(inst instance, a args) result
}

// as is the checked conversion every bound function goes through: an
// instance of the wrong type is a programming error and panics into guard.
func as[T instance](inst instance, what string) T {
	t, ok := inst.(T)
	if !ok {
		var want T
		panic(fmt.Sprintf("%s is bound for %T but was called on %T", what, want, inst))
	}
	return t
}

// arg appends an argument.
func (m *methodDef) arg(name string, t vtype) *methodDef {
	m.args = append(m.args, argSpec{name: name, typ: t})
	return m
}

// objectArg appends an Object argument of the given class.
func (m *methodDef) objectArg(name, class string) *methodDef {
	m.args = append(m.args, argSpec{name: name, typ: tObject, class: class})
	return m
}

// or gives the last argument a default (nil for an Object).
func (m *methodDef) or(def any) *methodDef {
	a := &m.args[len(m.args)-1]
	a.hasDef, a.def = true, def
	return m
}

func (m *methodDef) returns(t vtype) *methodDef {
	m.ret = t
	return m
}

// returnsEnum declares an int return of an enum, such as "Error".
func (m *methodDef) returnsEnum(enum string) *methodDef {
	m.ret, m.retName, m.retEnum = tInt, enum, true
	return m
}

func (m *methodDef) returnsObject(class string) *methodDef {
	m.ret, m.retName = tObject, class
	return m
}

// readOnly marks the method const.
func (m *methodDef) readOnly() *methodDef {
	m.isConst = true
	return m
}

// propertyDef ties a property's name, type, getter, setter and the value a
// new instance reports (checked against the class reference by the tests).
type propertyDef struct {
	name   string
	typ    vtype
	def    any
	getter *methodDef
	setter *methodDef
}

// property declares name with get_<name> and set_<name> methods; V is the
// Go type of the value (int64, float64, bool or string).
func property[T instance, V any](name string, t vtype, def any, get func(T) result, set func(T, V)) propertyDef {
	getter := method("get_"+name, get).returns(t).readOnly()
	setter := method1("set_"+name, func(inst T, v V) result {
		set(inst, v)
		return nil
	}).arg("value", t)
	return propertyDef{name: name, typ: t, def: def, getter: getter, setter: setter}
}

// signalDef is one signal and its parameters.
type signalDef struct {
	name   string
	params []argSpec
}

func signal(name string, params ...argSpec) signalDef { return signalDef{name, params} }

func param(name string, t vtype) argSpec { return argSpec{name: name, typ: t} }

func objectParam(name, class string) argSpec { return argSpec{name: name, typ: tObject, class: class} }

// enumDef is an enum whose constants count up from 0.
type enumDef struct {
	name   string
	values []string
}

// virtualDef overrides one virtual of the parent class. Godot passes argc
// raw ptrcall arguments; the typed adapters (class_typed.go) and the packet
// virtuals (packet_peer.go) decode them, and the result is written as ret.
type virtualDef struct {
	name   string
	argc   int
	params []reflect.Type // the Go parameter types, when decoded by slotAs
	ret    vtype
	// gone is returned when the object's Go side is already freed.
	gone result
	impl func(inst instance, a []unsafe.Pointer) result
	key  uintptr // the StringName's interned pointer, set at registration
}

// allMethods lists the class's methods including property accessors.
func (c *classDef) allMethods() []*methodDef {
	all := append([]*methodDef(nil), c.methods...)
	for _, p := range c.properties {
		all = append(all, p.getter, p.setter)
	}
	return all
}

// check reports a descriptor Godot would misread; registration refuses it.
func (c *classDef) check() error {
	for _, m := range c.allMethods() {
		if len(m.args) > maxArgs {
			return fmt.Errorf("%s.%s has %d arguments; the binding passes at most %d", c.name, m.name, len(m.args), maxArgs)
		}
		seenDefault := false
		for _, a := range m.args {
			if seenDefault && !a.hasDef {
				return fmt.Errorf("%s.%s: argument %s without a default follows one with a default", c.name, m.name, a.name)
			}
			seenDefault = seenDefault || a.hasDef
			if a.hasDef && !defaultFits(a) {
				return fmt.Errorf("%s.%s: the default of %s is a %T, not a %v", c.name, m.name, a.name, a.def, a.typ)
			}
		}
	}
	for _, m := range c.allMethods() {
		if err := paramsMatch(m.params, m.args); err != nil {
			return fmt.Errorf("%s.%s: %w", c.name, m.name, err)
		}
	}
	for _, v := range c.virtuals {
		if err := slotParamsSupported(v.params); err != nil {
			return fmt.Errorf("%s.%s: %w", c.name, v.name, err)
		}
	}
	for _, s := range c.signals {
		if len(s.params)+1 > maxArgs { // emit_signal also passes the name
			return fmt.Errorf("%s signal %s has %d parameters; at most %d", c.name, s.name, len(s.params), maxArgs-1)
		}
	}
	if len(c.virtuals) >= 1<<16 {
		return fmt.Errorf("%s: too many virtuals", c.name)
	}
	return nil
}

func defaultFits(a argSpec) bool {
	switch a.def.(type) {
	case int64:
		return a.typ == tInt
	case float64:
		return a.typ == tFloat
	case string:
		return a.typ == tString
	case bool:
		return a.typ == tBool
	case nil:
		return a.typ == tObject
	}
	return false
}
