package main

/*
#include "gdx.h"
*/
import "C"

// The bridge's call latency (call_latency.c): every call Godot made into
// the library since it loaded, timed on the C side so that a wait for a Go
// processor counts. GoDTLSMonitors.call_latency() returns it; the monitor
// GoDTLS/slowest_call_us shows the slowest call between two readings.

const callBuckets = C.GDX_CALL_BUCKETS

// callLatency is one reading of the histogram.
type callLatency struct {
	counts  [callBuckets]uint64 // bucket 0: < 1 us; bucket b: [2^(b-1), 2^b) us
	totalNs uint64
	worstNs uint64
}

func readCallLatency() (l callLatency) {
	var total, worst C.uint64_t
	C.gdx_call_latency((*C.uint64_t)(&l.counts[0]), &total, &worst)
	l.totalNs, l.worstNs = uint64(total), uint64(worst)
	return l
}

// slowestCallSinceReadUs is the slowest call since the previous reading, in
// microseconds, and starts over.
func slowestCallSinceReadUs() float64 { return float64(C.gdx_call_worst_since_read()) / 1e3 }

// dict is the reading as GoDTLSMonitors.call_latency() documents it.
func (l callLatency) dict() *dict {
	d := newDict()
	var calls uint64
	buckets := newArray()
	for _, n := range l.counts {
		calls += n
		buckets.append(variantInt(int64(n)))
	}
	d.setInt("calls", int64(calls))
	d.set("total_usec", variantFloat(float64(l.totalNs)/1e3))
	d.set("worst_usec", variantFloat(float64(l.worstNs)/1e3))
	d.set("buckets", buckets.v)
	return d
}
