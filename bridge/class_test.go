package main

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// The class descriptors against the class reference shipped in
// doc_classes/: every method, argument, default, property, signal and
// constant a descriptor declares must be documented exactly, and nothing
// else. This needs no engine (descriptors are plain Go values); the Godot
// suite's docs_test checks the same XML against what a running engine
// reports with --doctool.

type docParam struct {
	Name    string `xml:"name,attr"`
	Type    string `xml:"type,attr"`
	Default string `xml:"default,attr"`
}

type docReturn struct {
	Type string `xml:"type,attr"`
	Enum string `xml:"enum,attr"`
}

type docClass struct {
	Name     string `xml:"name,attr"`
	Inherits string `xml:"inherits,attr"`
	Methods  []struct {
		Name       string     `xml:"name,attr"`
		Qualifiers string     `xml:"qualifiers,attr"`
		Return     docReturn  `xml:"return"`
		Params     []docParam `xml:"param"`
	} `xml:"methods>method"`
	Members []struct {
		Name    string `xml:"name,attr"`
		Type    string `xml:"type,attr"`
		Setter  string `xml:"setter,attr"`
		Getter  string `xml:"getter,attr"`
		Default string `xml:"default,attr"`
	} `xml:"members>member"`
	Signals []struct {
		Name   string     `xml:"name,attr"`
		Params []docParam `xml:"param"`
	} `xml:"signals>signal"`
	Constants []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
		Enum  string `xml:"enum,attr"`
	} `xml:"constants>constant"`
}

// docType is how the class reference writes a type.
func docType(t vtype, class string) string {
	if t == tObject && class != "" {
		return class
	}
	return t.String()
}

// docDefault is how the class reference writes a default value.
func docDefault(v any) string {
	switch d := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(d)
	case float64:
		s := strconv.FormatFloat(d, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	return fmt.Sprint(v)
}

func params(list []argSpec) []string {
	var out []string
	for _, a := range list {
		s := a.name + ":" + docType(a.typ, a.class)
		if a.hasDef {
			s += "=" + docDefault(a.def)
		}
		out = append(out, s)
	}
	return out
}

func docParams(list []docParam) []string {
	var out []string
	for _, p := range list {
		s := p.Name + ":" + p.Type
		if p.Default != "" {
			s += "=" + p.Default
		}
		out = append(out, s)
	}
	return out
}

func sortedEqual(t *testing.T, what string, declared, documented []string) {
	t.Helper()
	sort.Strings(declared)
	sort.Strings(documented)
	if strings.Join(declared, "\n") != strings.Join(documented, "\n") {
		t.Errorf("%s differ:\ndeclared:\n  %s\ndocumented:\n  %s", what, strings.Join(declared, "\n  "), strings.Join(documented, "\n  "))
	}
}

func TestDescriptorsMatchClassReference(t *testing.T) {
	if len(classList) == 0 {
		t.Fatal("no classes registered")
	}
	for _, build := range classList {
		c := build()
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(); err != nil {
				t.Fatal(err)
			}
			raw, err := docClasses.ReadFile("doc_classes/" + c.name + ".xml")
			if err != nil {
				t.Fatalf("no class reference for %s: %v", c.name, err)
			}
			var doc docClass
			if err := xml.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Name != c.name || doc.Inherits != c.parent {
				t.Errorf("class %s inherits %s; documented %s inherits %s", c.name, c.parent, doc.Name, doc.Inherits)
			}

			var declared, documented []string
			for _, m := range c.methods {
				ret := docType(m.ret, m.retName)
				if m.retEnum {
					ret = "int enum=" + m.retName
				}
				q := ""
				if m.isConst {
					q = " const"
				}
				declared = append(declared, fmt.Sprintf("%s(%s) -> %s%s", m.name, strings.Join(params(m.args), ", "), ret, q))
			}
			for _, m := range doc.Methods {
				ret := m.Return.Type
				if m.Return.Enum != "" {
					ret += " enum=" + m.Return.Enum
				}
				q := ""
				if m.Qualifiers == "const" {
					q = " const"
				}
				documented = append(documented, fmt.Sprintf("%s(%s) -> %s%s", m.Name, strings.Join(docParams(m.Params), ", "), ret, q))
			}
			sortedEqual(t, "methods", declared, documented)

			declared, documented = nil, nil
			for _, p := range c.properties {
				declared = append(declared, fmt.Sprintf("%s:%v set=%s get=%s default=%s", p.name, p.typ, p.setter.name, p.getter.name, docDefault(p.def)))
				if p.getter.ret != p.typ || len(p.setter.args) != 1 || p.setter.args[0].typ != p.typ {
					t.Errorf("property %s: accessors do not carry its type", p.name)
				}
			}
			for _, m := range doc.Members {
				documented = append(documented, fmt.Sprintf("%s:%s set=%s get=%s default=%s", m.Name, m.Type, m.Setter, m.Getter, m.Default))
			}
			sortedEqual(t, "properties", declared, documented)

			declared, documented = nil, nil
			for _, s := range c.signals {
				declared = append(declared, s.name+"("+strings.Join(params(s.params), ", ")+")")
			}
			for _, s := range doc.Signals {
				documented = append(documented, s.Name+"("+strings.Join(docParams(s.Params), ", ")+")")
			}
			sortedEqual(t, "signals", declared, documented)

			declared, documented = nil, nil
			for _, e := range c.enums {
				for i, name := range e.values {
					declared = append(declared, fmt.Sprintf("%s.%s=%d", e.name, name, i))
				}
			}
			for _, k := range doc.Constants {
				documented = append(documented, fmt.Sprintf("%s.%s=%s", k.Enum, k.Name, k.Value))
			}
			sortedEqual(t, "constants", declared, documented)
		})
	}
}

// A method bound to one class and called on another is a programming error:
// it must panic (guard reports it), never return a silent nil.
func TestBindMismatchPanics(t *testing.T) {
	m := method("poll", (*gdPeer).poll)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "bound for *main.gdPeer") {
			t.Fatalf("recover() = %v; want a panic naming the bound type", r)
		}
	}()
	m.impl(&gdServer{}, nil)
}

// A method's Go parameters and its declared arguments must agree in number
// and type: reordering an .arg() or changing a Go parameter fails here
// (and at registration), never silently swaps values.
func TestCheckRefusesSignatureMismatch(t *testing.T) {
	listen := func(*gdServer, int64, string) result { return nil }
	prop := func(*gdServer, int64) {}
	get := func(*gdServer) result { return nil }
	setMode := func(*gdMultiplayer, bool) result { return nil }
	setBytes := func(*gdMultiplayer, string) result { return nil }
	cases := map[string]*classDef{
		"swapped arguments":              {methods: []*methodDef{method2("listen", listen).arg("bind_address", tString).arg("port", tInt)}},
		"one argument missing":           {methods: []*methodDef{method2("listen", listen).arg("port", tInt)}},
		"one argument too many":          {methods: []*methodDef{method2("listen", listen).arg("port", tInt).arg("bind", tString).arg("x", tInt)}},
		"property of another type":       {properties: []propertyDef{property("mtu", tFloat, float64(0), get, prop)}},
		"virtual of an unsupported type": {virtuals: []*virtualDef{virtual1("_set_x", tNil, nil, setBytes)}},
	}
	for name, c := range cases {
		c.name, c.parent = "Bad", "RefCounted"
		if err := c.check(); err == nil {
			t.Errorf("%s: check accepted it", name)
		}
	}
	good := &classDef{name: "Good", parent: "RefCounted",
		methods:  []*methodDef{method2("listen", listen).arg("port", tInt).arg("bind_address", tString)},
		virtuals: []*virtualDef{virtual1("_set_x", tNil, nil, setMode)}}
	if err := good.check(); err != nil {
		t.Errorf("check refused a matching class: %v", err)
	}
}

func TestCheckRefusesBadDescriptors(t *testing.T) {
	many := method("many", (*gdPeer).poll)
	for i := 0; i <= maxArgs; i++ {
		many.arg(fmt.Sprintf("a%d", i), tInt)
	}
	order := method("order", (*gdPeer).poll).arg("a", tInt).or(int64(1)).arg("b", tInt)
	wrongDefault := method("wrong", (*gdPeer).poll).arg("a", tInt).or("text")
	for _, m := range []*methodDef{many, order, wrongDefault} {
		c := &classDef{name: "Bad", parent: "RefCounted", methods: []*methodDef{m}}
		if err := c.check(); err == nil {
			t.Errorf("check accepted %s", m.name)
		}
	}
}

// Results of the wrong type panic instead of writing garbage into Godot's
// return slot.
func TestWriteSlotChecksTheDeclaredType(t *testing.T) {
	var slot [16]byte
	cases := []struct {
		t vtype
		r result
	}{{tInt, "text"}, {tBool, int64(1)}, {tString, nil}, {tInt, 3}}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("writeSlot(%v, %T) did not panic", c.t, c.r)
				}
			}()
			writeSlot(unsafe.Pointer(&slot[0]), "m", c.t, c.r)
		}()
	}
	writeSlot(unsafe.Pointer(&slot[0]), "m", tInt, errBusy)
	if got := int64(slot[0]); got != int64(errBusy) {
		t.Errorf("gdError written as %d", got)
	}
}
