package main

import (
	"fmt"
	"math"
	"strings"
)

// callLatency is what bench_server.gd reports of GoDTLSMonitors.call_latency()
// over its run: every call Godot made into the library, timed on the C side
// (a wait for a Go processor included), in log2 buckets of microseconds.
type callLatency struct {
	Calls   int     `json:"calls"`
	TotalUs float64 `json:"total_usec"`
	WorstUs float64 `json:"worst_usec"`
	// Buckets[0] counts calls under 1 µs, Buckets[b] calls of [2^(b-1), 2^b) µs.
	Buckets []int `json:"buckets"`
}

// quantileUs is the upper bound of the bucket that holds quantile q: the
// histogram says no more than that.
func (c *callLatency) quantileUs(q float64) float64 {
	want := int(math.Ceil(q * float64(c.Calls)))
	seen := 0
	for b, n := range c.Buckets {
		seen += n
		if seen >= want && n > 0 {
			return math.Ldexp(1, b)
		}
	}
	return math.NaN()
}

// callsTable is the bridge's call latency of the GoDTLS modes of a scenario.
func callsTable(modes []string, res map[string][]godotResult) string {
	var b strings.Builder
	rows := 0
	for _, m := range modes {
		var calls, mean, p50, p99, p999, worst []float64
		for _, g := range res[m] {
			c := g.CallLatency
			if c == nil || c.Calls == 0 {
				continue
			}
			calls = append(calls, float64(c.Calls))
			mean = append(mean, c.TotalUs/float64(c.Calls))
			p50 = append(p50, c.quantileUs(0.5))
			p99 = append(p99, c.quantileUs(0.99))
			p999 = append(p999, c.quantileUs(0.999))
			worst = append(worst, c.WorstUs)
		}
		if len(calls) == 0 {
			continue
		}
		if rows == 0 {
			b.WriteString("Calls from Godot into the library during the run (`GoDTLSMonitors.call_latency()`: each call timed on the C side, so a wait for a Go processor counts; quantiles are the upper bound of their log2 bucket):\n\n")
			b.WriteString("| server | calls | mean µs | p50 ≤ µs | p99 ≤ µs | p99.9 ≤ µs | slowest µs |\n|---|---|---|---|---|---|---|\n")
		}
		rows++
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", modeName[m], over(calls), over(mean), over(p50), over(p99), over(p999), over(worst))
	}
	if rows > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
