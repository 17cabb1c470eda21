package main

import (
	"fmt"
	"log"
	"math"
	"strings"
)

// The scale sweep: for each server, the echo scenario of "scale" (every
// peer sends 10 packets of 64 bytes a second, echoed) at growing peer
// counts, one run per count, until the p99 frame of the echo phase passes
// 16.7 ms or not every client gets in. The largest count that held is the
// server's capacity on this machine (the load generator shares its cores).

const scaleSweepName = "scale sweep"

// frameBudget is one frame at 60 fps.
const frameBudget = 16.7

var sweepModes = []string{"builtin", "go_udp_bulk", "go_listen", "go_listen_bulk", "go_listen_bulk_goroutine"}

type sweepPoint struct {
	peers, connected int
	p99, pps         float64
}

func scaleSweep(counts []int) (section, svg string) {
	res := map[string][]sweepPoint{}
	largest := map[string]int{}
	for _, m := range sweepModes {
		if !modeWanted(m) {
			continue
		}
		for _, n := range counts {
			const joinRate, joinTimeout = 400, 30
			sc := scenario{
				name: scaleSweepName, key: "ecdsa", fps: 0,
				// the server outlives the load generator: joins, their
				// time-out, the 10 s echo phase and a margin
				seconds:   float64(n)/joinRate + joinTimeout + 15,
				loadArgs:  []string{"-clients", itoa(n), "-join-rate", itoa(joinRate), "-join-timeout", fmt.Sprintf("%ds", joinTimeout), "-echo", "10s", "-rate", "10", "-size", "64"},
				godotArgs: []string{"pending=" + itoa(n)},
			}
			g, l, err := runOne(sc, m, 0)
			if err != nil {
				log.Printf("%s / %s at %d peers: %v", sc.name, m, n, err)
				break
			}
			pt := sweepPoint{peers: n, connected: l.Connected, p99: percentile(echoFrames(g), 0.99), pps: echoPPS(l)}
			res[m] = append(res[m], pt)
			if pt.connected < n || pt.p99 > frameBudget {
				break
			}
			largest[m] = n
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## %s: the most peers at 10 pkt/s that hold p99 frame ≤ 16.7 ms\n\n![p99 frame against peers](scale.svg)\n\n", scaleSweepName)
	b.WriteString("| server | largest count that held | p99 frame ms at each count (connected) |\n|---|---|---|\n")
	for _, m := range sweepModes {
		var pts []string
		for _, p := range res[m] {
			pts = append(pts, fmt.Sprintf("%d: %s (%d)", p.peers, num(p.p99), p.connected))
		}
		held := "none"
		if largest[m] > 0 {
			held = itoa(largest[m])
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", modeName[m], held, strings.Join(pts, ", "))
	}
	fmt.Fprintf(&b, "\nOne run per count (counts %v), ECDSA P-256, clients joining at 400/s (UDPServer's pending connections set to the count, so DTLSServer is not held back by its default 16), then 10 s of echo at `max_fps` 0; the p99 is over the echo phase's frames. A server stops at the first count it does not hold: p99 above 16.7 ms, or not every client in within 30 s. The load generator runs on the same 2 cores, so the counts are this machine's, not the servers' alone.\n\n", counts)
	return b.String(), scalePlot(res)
}

// scalePlot draws p99 frame against peers for each server, with the
// 16.7 ms budget as a line.
func scalePlot(res map[string][]sweepPoint) string {
	const w, h, left, bottom, top, right, legendW = 1160.0, 420.0, 60.0, 40.0, 30.0, 20.0, 460.0
	plotRight := w - legendW
	maxX, maxY := 1000.0, 40.0
	for _, pts := range res {
		for _, p := range pts {
			maxX = math.Max(maxX, float64(p.peers))
		}
	}
	x := func(v float64) float64 { return left + (plotRight-left-right)*v/maxX }
	y := func(v float64) float64 { return h - bottom - (h-bottom-top)*math.Min(v, maxY)/maxY }
	colors := map[string]string{"builtin": "#d9534f", "go_udp_bulk": "#5b8def", "go_listen": "#ff7f0e", "go_listen_bulk": "#2ca02c", "go_listen_bulk_goroutine": "#9467bd"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="18">p99 frame time against peers sending 10 packets/s each (echo phase, max_fps 0; capped at %.0f ms)</text>`, left, maxY)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, h-bottom, plotRight-right, h-bottom, left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="5" y="%.0f">%.0f ms</text><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#ddd"/>`, y(v)+4, v, left, y(v), plotRight-right, y(v))
		p := maxX * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%.0f</text>`, x(p)-10, h-bottom+18, p)
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="black" stroke-dasharray="6,4"/><text x="%.0f" y="%.1f">16.7 ms (60 fps)</text>`, left, y(frameBudget), plotRight-right, y(frameBudget), left+6, y(frameBudget)-4)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">peers</text>`, (left+plotRight)/2, h-6)
	legend := 0
	for _, m := range sweepModes {
		pts := res[m]
		if len(pts) == 0 {
			continue
		}
		var line []string
		for _, p := range pts {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(float64(p.peers)), y(p.p99)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(float64(p.peers)), y(p.p99), colors[m])
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, colors[m], strings.Join(line, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, plotRight, top+10+float64(legend)*18, colors[m], plotRight+18, top+21+float64(legend)*18, modeName[m])
		legend++
	}
	b.WriteString("</svg>\n")
	return b.String()
}
