package main

// GoDTLSMonitors: what the editor debugger's custom monitors call
// (monitors.go registers one, with the first GoDTLS object of the process).
// A game never needs to make one; read() works on any.

import (
	"runtime"

	"godtls/extension/memtrim"
)

const monitorsName = "GoDTLSMonitors"

func monitorsClass() *classDef {
	return &classDef{
		name:   monitorsName,
		parent: "RefCounted",
		create: func(object) instance { return &gdMonitors{} },
		methods: []*methodDef{
			method1("read", (*gdMonitors).read).arg("id", tString).returns(tFloat),
			method("call_latency", (*gdMonitors).callLatency).returns(tDictionary),
			method("memory", (*gdMonitors).memory).returns(tDictionary),
		},
	}
}

type gdMonitors struct{}

func (*gdMonitors) free() {}

func (*gdMonitors) read(id string) result { return readMonitor(id) }

func (*gdMonitors) callLatency() result { return readCallLatency().dict() }

// memory is the Go runtime's memory as GoDTLSMonitors.memory() documents
// it: what the library holds beside Godot's own allocations.
func (*gdMonitors) memory() result {
	u := memtrim.ReadUsage()
	d := newDict()
	d.setInt("heap_live_bytes", int64(u.HeapLive))
	d.setInt("heap_in_use_bytes", int64(u.HeapInUse))
	d.setInt("stack_bytes", int64(u.Stacks))
	d.setInt("held_bytes", int64(u.Held))
	d.setInt("allocated_bytes", int64(u.Allocated))
	d.setInt("trims", int64(u.Trims))
	d.setInt("goroutines", int64(runtime.NumGoroutine()))
	return d
}
