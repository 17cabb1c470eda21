package main

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// legendFits: every legend label, at a generous 7.5 px per character of
// the 12 px font, ends inside the picture (the first join_storm.svg cut
// them at the right edge).
func legendFits(t *testing.T, svg string, labels int) {
	t.Helper()
	width, _ := strconv.ParseFloat(regexp.MustCompile(`<svg [^>]*width="([0-9.]+)"`).FindStringSubmatch(svg)[1], 64)
	found := regexp.MustCompile(`<rect x="[0-9.]+" y="[0-9.]+" width="12" height="12" fill="[^"]+"/><text x="([0-9.]+)" y="[0-9.]+">([^<]*)</text>`).FindAllStringSubmatch(svg, -1)
	if len(found) != labels {
		t.Fatalf("%d legend labels, want %d", len(found), labels)
	}
	for _, l := range found {
		x, _ := strconv.ParseFloat(l[1], 64)
		if end := x + 7.5*float64(len([]rune(l[2]))); end > width {
			t.Errorf("legend %q ends at %.0f px, beyond the %.0f px picture", l[2], end, width)
		}
	}
}

func TestPlotLegendFits(t *testing.T) {
	runs := map[string]godotResult{}
	for _, m := range modes {
		runs[m] = godotResult{Mode: m, FrameMs: []float64{16.7, 304.7, 17}, FrameAtMs: []float64{0, 16.7, 33.4}, Connected: []int{0, 50, 100}}
	}
	legendFits(t, plot(runs), len(modes))
	res := map[string][]sweepPoint{}
	for _, m := range sweepModes {
		res[m] = []sweepPoint{{peers: 500, connected: 500, p99: 9}, {peers: 8000, connected: 8000, p99: 30}}
	}
	legendFits(t, scalePlot(res), len(sweepModes))
}

// TestCPUFromSamples: the joins' CPU less the idle rate, per joined peer;
// the echo phase's CPU per 1,000 packets; no idle tail, no figure.
func TestCPUFromSamples(t *testing.T) {
	// t ms, CPU ms, echoed, connected, joined: 10 peers join by 200 ms
	// using 100 ms of CPU above an idle 10 ms per second; then idle 6 s.
	g := godotResult{Samples: [][5]float64{
		{0, 1000, 0, 0, 0}, {100, 1050, 0, 5, 5}, {200, 1102, 0, 10, 10},
		{1200, 1112, 0, 10, 10}, {7200, 1172, 0, 0, 10},
	}}
	if got := cpuPerHandshake(g); math.Abs(got-10) > 0.01 {
		t.Fatalf("CPU per handshake %.3f ms, want 10", got)
	}
	g.Samples = g.Samples[:4] // no 5 s idle tail
	if got := cpuPerHandshake(g); !math.IsNaN(got) {
		t.Fatalf("CPU per handshake %.3f without an idle tail, want none", got)
	}
	e := godotResult{Samples: [][5]float64{
		{0, 0, 0, 10, 10}, {100, 10, 100, 10, 10}, {200, 40, 1100, 10, 10}, {300, 70, 2100, 10, 10}, {400, 75, 2100, 10, 10},
	}, FrameMs: []float64{5, 6, 7, 8, 9}, FrameAtMs: []float64{50, 100, 250, 300, 350}}
	if got := cpuPer1000Echoed(e); math.Abs(got-30) > 0.01 {
		t.Fatalf("CPU per 1,000 echoed %.3f ms, want 30", got)
	}
	if f := echoFrames(e); len(f) != 3 || f[0] != 6 || f[2] != 8 {
		t.Fatalf("echo frames %v, want those from 100 to 300 ms", f)
	}
}

// quantileUs reads the bucket bounds call_latency() documents: bucket 0 is
// under 1 µs, bucket b is [2^(b-1), 2^b) µs.
func TestCallQuantiles(t *testing.T) {
	c := &callLatency{Calls: 1000, Buckets: make([]int, 24)}
	c.Buckets[2] = 900 // 2–4 µs
	c.Buckets[5] = 99  // 16–32 µs
	c.Buckets[12] = 1  // 2048–4096 µs
	for _, tc := range []struct{ q, want float64 }{{0.5, 4}, {0.9, 4}, {0.99, 32}, {0.999, 32}, {1, 4096}} {
		if got := c.quantileUs(tc.q); got != tc.want {
			t.Errorf("quantile %v: %v µs, want ≤ %v", tc.q, got, tc.want)
		}
	}
	if got := (&callLatency{Buckets: make([]int, 24)}).quantileUs(0.5); !math.IsNaN(got) {
		t.Errorf("no calls: %v, want NaN", got)
	}
}

// TestMultiplayerTablesText: the page's notes are printed as written (a
// bare "%" in a note once came out as "%!l(MISSING)"), and a growth that
// came out negative gets no ratio (it once read "-7.54×").
func TestMultiplayerTablesText(t *testing.T) {
	cases := []mpCase{
		{"reliable RPC echo, 0 % loss", "rpc", 50, "ecdsa", "0", 8, 16},
		{"idle clients memory", "idle", 50, "ecdsa", "0", 0, 16},
	}
	results := map[string]map[string][]mpResult{
		cases[0].name: {"go": {{"msgs_per_s": 200, "p50_ms": 1, "p99_ms": 2}}, "enet": {{"msgs_per_s": 100, "p50_ms": 2, "p99_ms": 4}}},
		cases[1].name: {"go": {{"rss_growth_kb_per_client": 100, "second_wave_kb_per_client": 54}}, "enet": {{"rss_growth_kb_per_client": -13.5, "second_wave_kb_per_client": -152}}},
	}
	page := mpTables(cases, results)
	if regexp.MustCompile(`%!`).MatchString(page) {
		t.Errorf("a format verb leaked into the page:\n%s", page)
	}
	if !regexp.MustCompile(`at 0 % loss each would be`).MatchString(page) {
		t.Errorf("the echo's note lost its text:\n%s", page)
	}
	if !regexp.MustCompile(`\| GoDTLSMultiplayerPeer \| 200 [^\n]*\| 2× \|`).MatchString(page) {
		t.Errorf("the echo's ratio is not 2×:\n%s", page)
	}
	if regexp.MustCompile(`\| -[0-9.]+× \|`).MatchString(page) || !regexp.MustCompile(`\| GoDTLSMultiplayerPeer \| 100 [^\n]*\| – \|`).MatchString(page) {
		t.Errorf("a negative growth was given a ratio:\n%s", page)
	}
}
