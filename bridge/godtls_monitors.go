package main

// GoDTLSMonitors: what the editor debugger's custom monitors call
// (monitors.go registers one, with the first GoDTLS object of the process).
// A game never needs to make one; read() works on any.

const monitorsName = "GoDTLSMonitors"

func monitorsClass() *classDef {
	return &classDef{
		name:   monitorsName,
		parent: "RefCounted",
		create: func(object) instance { return &gdMonitors{} },
		methods: []*methodDef{
			method1("read", (*gdMonitors).read).arg("id", tString).returns(tFloat),
			method("call_latency", (*gdMonitors).callLatency).returns(tDictionary),
		},
	}
}

type gdMonitors struct{}

func (*gdMonitors) free() {}

func (*gdMonitors) read(id string) result { return readMonitor(id) }

func (*gdMonitors) callLatency() result { return readCallLatency().dict() }
