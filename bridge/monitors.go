package main

/*
#include "gdx.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"time"

	"godtls/extension/client"
	"godtls/extension/link"
	"godtls/extension/memtrim"
	"godtls/extension/multiplayer"
	"godtls/extension/server"
)

// The editor debugger's Monitors tab: custom Performance monitors under
// GoDTLS/, added with the first GoDTLSServer, GoDTLSClient or
// GoDTLSMultiplayerPeer of the process and removed with the last. Several
// objects add up (round trips: the worst). Each monitor is a Callable of a
// GoDTLSMonitors object's read(id); reading sums what each object's engine
// publishes lock-free (server.PublishedStats, multiplayer.Health, client counters),
// so a monitor never waits for a lock a goroutine holds across work.

// monitorTotals is one reading of every live object, added up.
type monitorTotals struct {
	peers, pending                 int
	handshakesOK, handshakesFailed uint64
	bytesIn, bytesOut              uint64
	droppedFull, droppedOverRate   uint64 // a queue or handshake budget was full; over a peer's byte or message budget
	droppedForged                  uint64 // records no genuine peer sends after the handshake, replays, or records that failed authentication
	spoofed, garbage               uint64
	rttP50, rttP99                 time.Duration
	retransmissions                uint64
}

// monitored is an object of ours whose traffic the monitors show.
type monitored interface {
	addMonitorTotals(t *monitorTotals)
}

type monitorDef struct {
	id    string
	value func(t *monitorTotals) float64
	rate  bool // shown per second: the change since the previous reading
}

var monitorDefs = []monitorDef{
	{"GoDTLS/connected_peers", func(t *monitorTotals) float64 { return float64(t.peers) }, false},
	{"GoDTLS/pending_handshakes", func(t *monitorTotals) float64 { return float64(t.pending) }, false},
	{"GoDTLS/handshakes_per_second", func(t *monitorTotals) float64 { return float64(t.handshakesOK) }, true},
	{"GoDTLS/failed_handshakes_per_second", func(t *monitorTotals) float64 { return float64(t.handshakesFailed) }, true},
	{"GoDTLS/bytes_in_per_second", func(t *monitorTotals) float64 { return float64(t.bytesIn) }, true},
	{"GoDTLS/bytes_out_per_second", func(t *monitorTotals) float64 { return float64(t.bytesOut) }, true},
	{"GoDTLS/packets_dropped", func(t *monitorTotals) float64 {
		return float64(t.droppedFull + t.droppedOverRate + t.droppedForged)
	}, false},
	{"GoDTLS/dropped_queue_full", func(t *monitorTotals) float64 { return float64(t.droppedFull) }, false},
	{"GoDTLS/dropped_over_rate", func(t *monitorTotals) float64 { return float64(t.droppedOverRate) }, false},
	{"GoDTLS/dropped_forged_records", func(t *monitorTotals) float64 { return float64(t.droppedForged) }, false},
	{"GoDTLS/spoofed_datagrams", func(t *monitorTotals) float64 { return float64(t.spoofed) }, false},
	{"GoDTLS/garbage_datagrams", func(t *monitorTotals) float64 { return float64(t.garbage) }, false},
	{"GoDTLS/multiplayer_rtt_p50_ms", func(t *monitorTotals) float64 { return float64(t.rttP50) / 1e6 }, false},
	{"GoDTLS/multiplayer_rtt_p99_ms", func(t *monitorTotals) float64 { return float64(t.rttP99) / 1e6 }, false},
	{"GoDTLS/multiplayer_retransmissions", func(t *monitorTotals) float64 { return float64(t.retransmissions) }, false},
	// not from the objects: the library's calls (call_latency.go)
	{"GoDTLS/slowest_call_us", func(*monitorTotals) float64 { return slowestCallSinceReadUs() }, false},
	// nor these: the Go runtime's memory (extension/memtrim)
	{"GoDTLS/go_memory_kib", func(*monitorTotals) float64 { return float64(memtrim.ReadUsage().Held) / 1024 }, false},
	{"GoDTLS/go_heap_live_kib", func(*monitorTotals) float64 { return float64(memtrim.ReadUsage().HeapLive) / 1024 }, false},
	// the library's goroutines: one that stays after its object went is a leak
	{"GoDTLS/go_goroutines", func(*monitorTotals) float64 { return float64(runtime.NumGoroutine()) }, false},
}

type rateSample struct {
	value float64
	at    time.Time
}

var (
	monitorsMu     sync.Mutex // never held across a call into Godot
	monitorSources = map[monitored]struct{}{}
	monitorRates   = map[string]rateSample{}
	// monitorsObj is the GoDTLSMonitors object the Callables call while the
	// monitors are registered (we hold one reference); main thread only.
	monitorsObj object
)

// watchMonitors counts src in; the first source registers the monitors.
func watchMonitors(src monitored) {
	monitorsMu.Lock()
	monitorSources[src] = struct{}{}
	first := len(monitorSources) == 1
	monitorsMu.Unlock()
	if first {
		onMainThread(syncMonitors)
	}
}

// unwatchMonitors counts src out; the last one removes the monitors.
func unwatchMonitors(src monitored) {
	monitorsMu.Lock()
	_, was := monitorSources[src]
	delete(monitorSources, src)
	last := was && len(monitorSources) == 0
	monitorsMu.Unlock()
	if last {
		onMainThread(syncMonitors)
	}
}

// syncMonitors registers or removes the monitors as the sources now ask
// (main thread: it calls Performance).
func syncMonitors() {
	monitorsMu.Lock()
	want := len(monitorSources) > 0
	monitorsMu.Unlock()
	switch {
	case want && monitorsObj.isNull():
		registerMonitors()
	case !want && !monitorsObj.isNull():
		removeMonitors()
	}
}

func performance() object {
	return object{C.gdx_singleton(sn("Performance").ptr())}
}

func registerMonitors() {
	perf := performance()
	if perf.isNull() {
		return
	}
	obj, _ := constructNamed(monitorsName, func(obj object) instance { return &gdMonitors{} })
	obj.retain()
	monitorsObj = obj
	for _, m := range monitorDefs {
		callable := newCallable(obj, "read")
		args := newArray()
		args.append(variantString(m.id))
		call(bindAddCustomMonitor, perf, variantStringName(sn(m.id)), callable, args.v)
	}
}

func removeMonitors() {
	perf := performance()
	for _, m := range monitorDefs {
		if !perf.isNull() {
			call(bindRemoveCustomMonitor, perf, variantStringName(sn(m.id)))
		}
	}
	monitorsObj.release()
	monitorsObj = null
	monitorsMu.Lock()
	clear(monitorRates)
	monitorsMu.Unlock()
}

// readMonitor is one monitor's value now.
func readMonitor(id string) float64 {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	var t monitorTotals
	for src := range monitorSources {
		src.addMonitorTotals(&t)
	}
	for _, m := range monitorDefs {
		if m.id != id {
			continue
		}
		v := m.value(&t)
		if !m.rate {
			return v
		}
		now := time.Now()
		last, seen := monitorRates[id]
		monitorRates[id] = rateSample{v, now}
		if !seen || !now.After(last.at) || v < last.value {
			return 0
		}
		return (v - last.value) / now.Sub(last.at).Seconds()
	}
	return 0
}

func addServerTotals(t *monitorTotals, g server.Stats) {
	t.peers += g.Peers
	t.pending += g.Pending
	t.handshakesOK += g.HandshakesOK
	t.handshakesFailed += g.HandshakesFailed
	t.bytesIn += g.BytesIn
	t.bytesOut += g.BytesOut
	t.droppedFull += g.Dropped
	t.droppedOverRate += g.OverRate
	t.droppedForged += g.PostHandshakeDropped + g.AuthFailed + g.Replayed
	t.spoofed += g.Spoofed
	t.garbage += g.Garbage
}

func addClientTotals(t *monitorTotals, c *client.Client) {
	switch c.Status() {
	case link.StatusConnected:
		t.peers++
	case link.StatusHandshaking:
		t.pending++
	}
	st := c.Stats()
	t.bytesIn += st.BytesIn
	t.bytesOut += st.BytesOut
	t.droppedFull += st.Dropped
	t.droppedForged += st.PostHandshakeDropped + st.AuthFailed + st.Replayed
	t.garbage += st.Garbage
}

func addHealth(t *monitorTotals, h multiplayer.Health) {
	t.rttP50 = max(t.rttP50, h.RTTp50)
	t.rttP99 = max(t.rttP99, h.RTTp99)
	t.retransmissions += h.Retransmissions
	t.droppedOverRate += h.OverBudget
}
