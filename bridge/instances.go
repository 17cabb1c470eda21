package main

/*
#include "gdx.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Instances: Godot holds each object's Go side as an integer handle (no Go
// pointer crosses into C); this table maps handles and object pointers back.
// free_instance may run on any thread, so the table is locked; the lock is
// never held across a call into Godot.

type instanceRecord struct {
	inst instance
	obj  unsafe.Pointer
}

var (
	handlesMu  sync.Mutex
	handles    = map[uintptr]instanceRecord{}
	byObject   = map[unsafe.Pointer]uintptr{}
	nextHandle uintptr
)

// construct makes a Godot object of class c: the parent engine object with
// make's instance attached. Go code comes here; GDScript's new() through
// createInstance.
func construct(c *classDef, make func(obj object) instance) (object, instance) {
	return constructNotified(c, make, true)
}

// constructNotified is construct, sending NOTIFICATION_POSTINITIALIZE once
// the instance is attached when notify asks for it and the engine left it
// to us (postinitialize).
func constructNotified(c *classDef, make func(obj object) instance, notify bool) (object, instance) {
	obj := C.gdx_construct(sn(c.parent).ptr())
	if obj == nil {
		panic("cannot construct " + c.parent + " for " + c.name)
	}
	inst := make(object{obj})
	handlesMu.Lock()
	nextHandle++
	h := nextHandle
	handles[h] = instanceRecord{inst, obj}
	byObject[obj] = h
	handlesMu.Unlock()
	C.gdx_object_set_instance(obj, sn(c.name).ptr(), C.uintptr_t(h))
	if notify {
		postinitialize(obj)
	}
	return object{obj}, inst
}

// constructNamed constructs an object of a registered class by name.
func constructNamed(class string, make func(obj object) instance) (object, instance) {
	c := classByName(class)
	if c == nil {
		panic(class + " is not registered")
	}
	return construct(c, make)
}

// createInstance answers create_instance (GDScript's new(), ClassDB's
// instantiate()); notify is Godot's ask to send NOTIFICATION_POSTINITIALIZE.
func createInstance(classID uintptr, notify bool) unsafe.Pointer {
	c := classByID(classID)
	if c == nil || c.create == nil {
		return nil
	}
	obj, _ := constructNotified(c, c.create, notify)
	return obj.p
}

func instanceAt(h uintptr) instance {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	return handles[h].inst
}

// instanceOf finds our instance behind an Object pointer, or nil if the
// object is not one of ours.
func instanceOf(obj unsafe.Pointer) instance {
	if obj == nil {
		return nil
	}
	handlesMu.Lock()
	defer handlesMu.Unlock()
	if h, ok := byObject[obj]; ok {
		return handles[h].inst
	}
	return nil
}

// freeInstance answers free_instance: forget the handle, then let the
// instance release its state (outside the lock).
func freeInstance(h uintptr) {
	handlesMu.Lock()
	rec, ok := handles[h]
	delete(handles, h)
	if ok {
		delete(byObject, rec.obj)
	}
	handlesMu.Unlock()
	if ok {
		rec.inst.free()
	}
}

// shutdownAll runs at deinitialization: the engine is quitting, maybe with
// live connections. Each live instance that has work to do does it now.
func shutdownAll() {
	handlesMu.Lock()
	var live []shutdowner
	for _, rec := range handles {
		if s, ok := rec.inst.(shutdowner); ok {
			live = append(live, s)
		}
	}
	handlesMu.Unlock()
	for _, s := range live {
		s.shutdown()
	}
}
