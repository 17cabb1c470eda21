package main

import (
	"regexp"
	"strconv"
	"testing"
)

// TestPlotLegendFits: every legend label, at a generous 7.5 px per
// character of the 12 px font, ends inside the picture (the first
// join_storm.svg cut them at the right edge).
func TestPlotLegendFits(t *testing.T) {
	runs := map[string]godotResult{}
	for _, m := range modes {
		runs[m] = godotResult{Mode: m, FrameMs: []float64{16.7, 304.7, 17}, FrameAtMs: []float64{0, 16.7, 33.4}, Connected: []int{0, 50, 100}}
	}
	svg := plot(runs)
	width, _ := strconv.ParseFloat(regexp.MustCompile(`<svg [^>]*width="([0-9.]+)"`).FindStringSubmatch(svg)[1], 64)
	labels := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+">([^<]*\(worst [^<]*)</text>`).FindAllStringSubmatch(svg, -1)
	if len(labels) != len(modes) {
		t.Fatalf("%d legend labels, want %d", len(labels), len(modes))
	}
	for _, l := range labels {
		x, _ := strconv.ParseFloat(l[1], 64)
		if end := x + 7.5*float64(len([]rune(l[2]))); end > width {
			t.Errorf("legend %q ends at %.0f px, beyond the %.0f px picture", l[2], end, width)
		}
	}
}
