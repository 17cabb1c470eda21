package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"time"

	"godtls/extension/credentials"
)

func rsaPair(bits int) (*credentials.Certificate, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	return credentials.FromPEM(
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), time.Now())
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// spread is a median with its range across runs.
type spread struct{ med, lo, hi float64 }

func over(vals []float64) spread {
	if len(vals) == 0 {
		return spread{math.NaN(), math.NaN(), math.NaN()}
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	return spread{s[len(s)/2], s[0], s[len(s)-1]}
}

func (s spread) String() string {
	if math.IsNaN(s.med) {
		return "–"
	}
	return fmt.Sprintf("%s [%s–%s]", num(s.med), num(s.lo), num(s.hi))
}

func num(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func ratio(a, b spread) string {
	// a growth that came out negative (the allocator's noise) has no ratio
	if math.IsNaN(a.med) || math.IsNaN(b.med) || b.med <= 0 || a.med < 0 {
		return "–"
	}
	return fmt.Sprintf("%.3g×", a.med/b.med)
}

// stormWindow is the frames from the start until every client was in.
// When no client got in, it is the whole run.
func stormWindow(g godotResult, want int) []float64 {
	end := len(g.FrameMs)
	if want <= 0 {
		return g.FrameMs
	}
	for i, c := range g.Connected {
		if c >= want {
			end = i + 1
			break
		}
	}
	return g.FrameMs[:end]
}

func table(sc scenario, res map[string][]godotResult, loads map[string][]loadResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", sc.name)
	collect := func(m string, f func(godotResult, loadResult) float64) spread {
		var v []float64
		for i, g := range res[m] {
			v = append(v, f(g, loads[m][i]))
		}
		return over(v)
	}
	switch {
	case strings.HasPrefix(sc.name, "join"):
		flood := strings.Contains(sc.name, "flood")
		b.WriteString("| server | worst main-thread work in a frame, ms | p99 work ms | worst frame ms | p99 frame ms | all clients in, ms | connected | process CPU per handshake, ms | worst work vs DTLSServer | all-in vs raw pion |\n|---|---|---|---|---|---|---|---|---|---|\n")
		work := map[string]spread{}
		allIn := map[string]spread{}
		for _, m := range append(append([]string{}, sc.modes...), "raw_pion") {
			var allv []float64
			for _, l := range loads[m] {
				allv = append(allv, l.AllConnectedMs)
			}
			allIn[m] = over(allv)
		}
		win := func(g godotResult, l loadResult, v []float64) []float64 { return v[:len(stormWindow(g, l.Connected))] }
		for _, m := range sc.modes {
			work[m] = collect(m, func(g godotResult, l loadResult) float64 { return maxOf(win(g, l, g.WorkMs)) })
		}
		for _, m := range sc.modes {
			p99w := collect(m, func(g godotResult, l loadResult) float64 { return percentile(win(g, l, g.WorkMs), 0.99) })
			worst := collect(m, func(g godotResult, l loadResult) float64 { return maxOf(stormWindow(g, l.Connected)) })
			p99 := collect(m, func(g godotResult, l loadResult) float64 { return percentile(stormWindow(g, l.Connected), 0.99) })
			conn := collect(m, func(g godotResult, l loadResult) float64 { return float64(l.Connected) })
			cpu := collect(m, func(g godotResult, l loadResult) float64 {
				if flood {
					return math.NaN() // the flood's CPU is not the genuine handshakes'
				}
				return cpuPerHandshake(g)
			})
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", modeName[m], work[m], p99w, worst, p99, allIn[m], conn, cpu, ratio(work[m], work["builtin"]), ratio(allIn[m], allIn["raw_pion"]))
		}
		fmt.Fprintf(&b, "| %s | – | – | – | – | %s | %s | – | – | 1× |\n", modeName["raw_pion"], allIn["raw_pion"], connectedOf(loads["raw_pion"]))
		if flood {
			b.WriteString("\nThe genuine clients start after one second of a flood of cookieless ClientHellos with fresh randoms from 2048 sockets on 127.0.0.100–115, which never answer a HelloVerifyRequest (as spoofed sources cannot); it goes on until the last genuine client is in.\n")
		}
		b.WriteString("\nThe window is from the start until every client was in. *Work* is the time the GDScript server logic (UDPServer.poll, take_connection, peer polls, echo) took inside a frame; *frame* is frame-to-frame time, which cannot drop below 16.7 ms at `max_fps` 60. ")
		if pending := godotArg(sc, "pending"); pending != "" {
			if src := loadArg(sc, "-sources"); src != "" {
				fmt.Fprintf(&b, "The clients come from %s addresses (127.0.0.1 to 127.0.0.%s in turn); in the storm above they all come from 127.0.0.1, and a GoDTLS server keeps at most 128 handshakes from one address whose cookie has not come back (`max_pending_handshakes` / 8) and queues 256 more ClientHellos from it, so the clients beyond those wait for their 1 s retransmission. ", src, src)
			}
			fmt.Fprintf(&b, "The clients stay connected after joining. Goals: worst work ≤ 1/10 of DTLSServer's, p99 work ≤ 2 ms. UDPServer's pending connections are raised to %s for DTLSServer and `take_connection(udp)`; `receive_all()` does every peer's poll in the GoDTLS modes.\n\n", pending)
		} else {
			b.WriteString("Goals: worst work ≤ 1/50 of DTLSServer's; all clients in ≤ 1.2× raw pion. DTLSServer and `take_connection(udp)` share UDPServer's 16 pending connections, so their joins wait for client retransmissions.\n\n")
		}
		b.WriteString(callsTable(sc.modes, res))
	case strings.HasPrefix(sc.name, "echo"):
		b.WriteString("| server | echoed packets/s | lost | process CPU per 1,000 echoed, ms | p99 frame ms | vs DTLSServer | CPU per packet vs DTLSServer |\n|---|---|---|---|---|---|---|\n")
		pps := map[string]spread{}
		for _, m := range sc.modes {
			pps[m] = collect(m, func(g godotResult, l loadResult) float64 { return echoPPS(l) })
		}
		cpu := map[string]spread{}
		for _, m := range sc.modes {
			cpu[m] = collect(m, func(g godotResult, l loadResult) float64 { return cpuPer1000Echoed(g) })
		}
		for _, m := range sc.modes {
			lost := collect(m, func(g godotResult, l loadResult) float64 { return echoLost(l) })
			p99 := collect(m, func(g godotResult, l loadResult) float64 { return percentile(echoFrames(g), 0.99) })
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", modeName[m], pps[m], lost, cpu[m], p99, ratio(pps[m], pps["builtin"]), ratio(cpu[m], cpu["builtin"]))
		}
		b.WriteString("\nThe server echoes as fast as it can (`max_fps` 0). Goals: listen() with receive_all() ≥ 6× DTLSServer's packets/s and take_connection(udp) ≥ 2×, none lost; CPU per packet ≤ DTLSServer's. CPU per packet here is at each server's own rate (DTLSServer's varies from run set to run set with its losses, which stall the clients' windows); the scale scenario below compares it at one rate for all.\n\n")
	case strings.HasPrefix(sc.name, "idle"):
		b.WriteString("| server | peers | RSS per connected peer, KiB | process CPU per handshake, ms | vs DTLSServer |\n|---|---|---|---|---|\n")
		per := map[string]spread{}
		for _, m := range sc.modes {
			per[m] = collect(m, func(g godotResult, l loadResult) float64 {
				if g.PeakPeers == 0 {
					return math.NaN()
				}
				return float64(g.RSSAtPeak-g.RSSStart) / float64(g.PeakPeers)
			})
		}
		for _, m := range sc.modes {
			peers := collect(m, func(g godotResult, l loadResult) float64 { return float64(g.PeakPeers) })
			cpu := collect(m, func(g godotResult, l loadResult) float64 { return cpuPerHandshake(g) })
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", modeName[m], peers, per[m], cpu, ratio(per[m], per["builtin"]))
		}
		b.WriteString("\nGoal: ≤ DTLSServer's. RSS (/proc/self/status) at the start, and when the most peers were connected and idle. The clients join at 200 per second.\n\n")
	default:
		b.WriteString("| server | peers | p99 frame ms | worst frame ms | echoed packets/s | process CPU per 1,000 echoed, ms | CPU per packet vs DTLSServer |\n|---|---|---|---|---|---|---|\n")
		cpu := map[string]spread{}
		for _, m := range sc.modes {
			cpu[m] = collect(m, func(g godotResult, l loadResult) float64 { return cpuPer1000Echoed(g) })
		}
		for _, m := range sc.modes {
			peers := collect(m, func(g godotResult, l loadResult) float64 { return float64(l.Connected) })
			p99 := collect(m, func(g godotResult, l loadResult) float64 { return percentile(echoFrames(g), 0.99) })
			worst := collect(m, func(g godotResult, l loadResult) float64 { return maxOf(echoFrames(g)) })
			pps := collect(m, func(g godotResult, l loadResult) float64 { return echoPPS(l) })
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", modeName[m], peers, p99, worst, pps, cpu[m], ratio(cpu[m], cpu["builtin"]))
		}
		b.WriteString("\nFrames of the echo phase (every peer sending 10 packets/s of 64 bytes, echoed), `max_fps` 0; DTLSServer with UDPServer's pending slots raised to the peer count. Goal: p99 frame ≤ 16.7 ms with the bulk path. Every server here echoes the same packets per second, so CPU per packet compares like with like (in the echo scenario above each server runs as fast as it can, and a server's fixed per-frame costs spread over its own rate). The largest count each server holds is in the sweep below.\n\n")
	}
	return b.String()
}

func connectedOf(ls []loadResult) spread {
	var v []float64
	for _, l := range ls {
		v = append(v, float64(l.Connected))
	}
	return over(v)
}

func echoPPS(l loadResult) float64 {
	if l.Echo == nil {
		return math.NaN()
	}
	return l.Echo.PPS
}

func echoLost(l loadResult) float64 {
	if l.Echo == nil {
		return math.NaN()
	}
	return float64(l.Echo.Lost)
}

// plot draws frame time against time for each server during the storm.
func plot(runs map[string]godotResult) string {
	// the legend has its own column right of the plot (its labels are long)
	const w, h, left, bottom, top, right, legendW = 1240.0, 420.0, 60.0, 40.0, 30.0, 20.0, 400.0
	plotRight := w - legendW
	maxT, maxY := 1000.0, 20.0
	for _, g := range runs {
		end := len(g.FrameAtMs)
		for i, c := range g.Connected {
			if c > 0 && i+1 < end && c == g.Connected[len(g.Connected)-1] {
				end = min(len(g.FrameAtMs), i+60)
				break
			}
		}
		if end > 0 {
			maxT = math.Max(maxT, g.FrameAtMs[end-1])
		}
		maxY = math.Max(maxY, maxOf(g.FrameMs))
	}
	x := func(t float64) float64 { return left + (plotRight-left-right)*t/maxT }
	y := func(v float64) float64 { return h - bottom - (h-bottom-top)*math.Min(v, maxY)/maxY }
	colors := map[string]string{"builtin": "#d9534f", "go_udp": "#5b8def", "go_listen": "#2ca02c"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="18">Frame time during a join storm of clients (RSA-4096 key, Engine.max_fps 60)</text>`, left)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, h-bottom, plotRight-right, h-bottom, left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="5" y="%.0f">%.0f ms</text><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#ddd"/>`, y(v)+4, v, left, y(v), plotRight-right, y(v))
		t := maxT * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%.1f s</text>`, x(t)-10, h-bottom+18, t/1000)
	}
	legend := 0
	for _, m := range modes {
		g, ok := runs[m]
		if !ok {
			continue
		}
		var pts []string
		for i, t := range g.FrameAtMs {
			if t > maxT {
				break
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(g.FrameMs[i])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>`, colors[m], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s (worst %.1f ms)</text>`, plotRight, top+10+float64(legend)*18, colors[m], plotRight+18, top+21+float64(legend)*18, modeName[m], maxOf(g.FrameMs))
		legend++
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// godotArg is the value of a bench_server.gd argument the scenario sets.
func godotArg(sc scenario, key string) string {
	for _, a := range sc.godotArgs {
		if v, ok := strings.CutPrefix(a, key+"="); ok {
			return v
		}
	}
	return ""
}

// loadArg is the value after flag in the scenario's load generator
// arguments, or "".
func loadArg(sc scenario, flag string) string {
	for i, a := range sc.loadArgs {
		if a == flag && i+1 < len(sc.loadArgs) {
			return sc.loadArgs[i+1]
		}
	}
	return ""
}
