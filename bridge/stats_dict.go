package main

import "godtls/extension/link"

// Every get_stats() Dictionary is built here: counters under the names the
// class reference documents.

type counter struct {
	key string
	n   uint64
}

// statsDict is a new Dictionary of the counters.
func statsDict(counters ...counter) *dict {
	d := newDict()
	for _, c := range counters {
		d.setInt(c.key, int64(c.n))
	}
	return d
}

// trafficCounters are the traffic counts every connection reports.
func trafficCounters(t link.Traffic) []counter {
	return []counter{
		{"packets_in", t.PacketsIn}, {"packets_out", t.PacketsOut},
		{"bytes_in", t.BytesIn}, {"bytes_out", t.BytesOut},
	}
}
