// Command benchrun runs the Godot benchmarks side by side and writes the
// results table and the join-storm plot:
//
//	benchrun -godot $GODOT -project godot_project -loadgen /path/loadgen -out docs -runs 3
//
// Every scenario runs the same GDScript server logic (godot_project/bench)
// on Godot's DTLSServer, on GoDTLSServer with take_connection(udp_peer), and
// on GoDTLSServer with listen(), against the load generator in a separate
// process; the join storm also runs against a raw pion v2 server (one
// goroutine per handshake) in this process. Results are medians of -runs
// runs, reported with their spread, and ratios to DTLSServer.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"godtls/extension/credentials"
	"godtls/extension/internal/pionecho"
)

var (
	godot    = flag.String("godot", os.Getenv("GODOT"), "Godot 4 binary")
	project  = flag.String("project", "godot_project", "Godot project with bench/bench_server.gd")
	loadgen  = flag.String("loadgen", "", "loadgen binary")
	outDir   = flag.String("out", "docs", "where to write benchmarks.md and join_storm.svg")
	runs     = flag.Int("runs", 3, "runs per scenario")
	quick    = flag.Bool("quick", false, "smaller scenarios (a smoke test of the harness)")
	only     = flag.String("only", "", "run only the scenarios whose name starts with this")
	onlyMode = flag.String("modes", "", "run only these servers (comma-separated: builtin,go_udp,go_udp_bulk,go_listen,go_listen_bulk,go_listen_bulk_goroutine)")
	mp       = flag.Bool("multiplayer", false, "run the multiplayer benchmark instead (writes benchmarks-multiplayer.md, multiplayer.svg)")
	relay    = flag.String("relay", "", "lossyrelay binary (-multiplayer)")
	counts   = flag.String("counts", "", "the scale sweep's peer counts (comma-separated; default 250 to 10,000)")
	keep     = flag.String("keep", "", "keep each server run's own report (per-frame work, connected counts) in this directory")
	set      = flag.String("set", "", "more bench_server.gd arguments for every run (comma-separated key=value, such as disconnects=0), for runs that compare a setting")
	loadSet  = flag.String("loadgen-set", "", "more loadgen arguments for every run (comma-separated, such as -close-together), for runs that compare a setting")
)

// modes are the three servers the join storms compare; the receive path
// scenarios add the bulk variants (receive_all() instead of a loop over
// every peer) of both GoDTLSServer modes.
var (
	modes     = []string{"builtin", "go_udp", "go_listen"}
	bulkModes = []string{"builtin", "go_udp", "go_udp_bulk", "go_listen", "go_listen_bulk"}
)

var modeName = map[string]string{
	"builtin":        "DTLSServer (built-in)",
	"go_udp":         "GoDTLSServer take_connection(udp)",
	"go_udp_bulk":    "GoDTLSServer take_connection(udp) + receive_all()",
	"go_listen":      "GoDTLSServer listen()",
	"go_listen_bulk": "GoDTLSServer listen() + receive_all()",
	// read_in_frame off: the reader goroutine reads every datagram
	"go_listen_bulk_goroutine": "GoDTLSServer listen() + receive_all(), read_in_frame off",
	"raw_pion":                 "raw pion v2",
}

// godotResult is what bench_server.gd writes.
type godotResult struct {
	Mode      string    `json:"mode"`
	Frames    int       `json:"frames"`
	FrameMs   []float64 `json:"frame_ms"`
	WorkMs    []float64 `json:"work_ms"`
	FrameAtMs []float64 `json:"frame_at_ms"`
	Connected []int     `json:"connected"`
	Echoed    int       `json:"echoed"`
	RSSStart  int       `json:"rss_start_kib"`
	RSSEnd    int       `json:"rss_end_kib"`
	Peers     int       `json:"peers_connected"`
	PeakPeers int       `json:"peak_peers"`
	RSSAtPeak int       `json:"rss_at_peak_kib"`
	Godot     string    `json:"godot"`
	// CallLatency is the calls into the library during the run (GoDTLS
	// servers only): GoDTLSMonitors.call_latency()'s buckets.
	CallLatency *callLatency `json:"call_latency"`
	// Samples (see cpu.go).
	Samples [][5]float64 `json:"samples"`
	// Ends is how many peer_disconnected the GoDTLSServer listen modes
	// heard; FirstEndMs when the first came; EndWorkMs the largest
	// main-thread work of a frame from then on (the burst of ends when the
	// load generator's clients close together).
	Ends       int     `json:"ends"`
	FirstEndMs float64 `json:"first_end_ms"`
	EndWorkMs  float64 `json:"end_work_ms"`
}

type loadResult struct {
	Connected      int     `json:"connected"`
	Failed         int     `json:"failed"`
	FirstError     string  `json:"first_error"`
	AllConnectedMs float64 `json:"all_connected_ms"`
	CloseNotifies  int     `json:"close_notifies_written"`
	Echo           *struct {
		Sent     uint64  `json:"sent"`
		Received uint64  `json:"received"`
		Lost     uint64  `json:"lost"`
		PPS      float64 `json:"packets_per_second"`
	} `json:"echo"`
}

type scenario struct {
	name     string
	key      string
	fps      int
	seconds  float64
	loadArgs []string
	modes    []string
	// godotArgs are more bench_server.gd arguments (key=value).
	godotArgs []string
}

func main() {
	flag.Parse()
	if *mp {
		if *godot == "" || *relay == "" {
			log.Fatal("benchrun -multiplayer needs -godot and -relay")
		}
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			log.Fatal(err)
		}
		runMultiplayer(*relay)
		return
	}
	if *godot == "" || *loadgen == "" {
		log.Fatal("benchrun needs -godot and -loadgen")
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		log.Fatal(err)
	}
	n, echoClients, memPeers, scalePeers, floodClients, floodRate, bigStorm := 100, 50, 1000, 2000, 20, 10000, 1000
	echoSecs := "10s"
	const stormSources = 16
	sweepCounts := []int{250, 500, 1000, 2000, 3000, 4000, 6000, 8000, 10000}
	if *quick {
		n, echoClients, memPeers, scalePeers, floodClients, floodRate, bigStorm, echoSecs = 20, 10, 50, 100, 10, 2000, 50, "3s"
		sweepCounts = []int{50, 100}
	}
	if *counts != "" {
		sweepCounts = nil
		for _, f := range strings.Split(*counts, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				log.Fatalf("-counts: %q is not a peer count", f)
			}
			sweepCounts = append(sweepCounts, n)
		}
	}
	scen := []scenario{
		{name: "join storm RSA-4096", key: "rsa4096", fps: 60, seconds: 20, loadArgs: []string{"-clients", itoa(n)}, modes: modes},
		{name: "join storm ECDSA P-256", key: "ecdsa", fps: 60, seconds: 15, loadArgs: []string{"-clients", itoa(n)}, modes: modes},
		{name: fmt.Sprintf("join storm ECDSA P-256 under a %d/s spoofed flood", floodRate), key: "ecdsa", fps: 60, seconds: 20, loadArgs: []string{"-clients", itoa(floodClients), "-flood-rate", itoa(floodRate), "-flood-sources", "2048"}, modes: modes},
		{name: fmt.Sprintf("join storm ECDSA P-256, %d clients that stay connected", bigStorm), key: "ecdsa", fps: 60, seconds: 40, loadArgs: []string{"-clients", itoa(bigStorm), "-hold", "5s"}, modes: []string{"builtin", "go_udp_bulk", "go_listen_bulk", "go_listen_bulk_goroutine"}, godotArgs: []string{"pending=" + itoa(bigStorm)}},
		// The same storm from 16 addresses, as players behind different
		// addresses come: from one address, the server's per-address cap on
		// handshakes whose cookie has not come back (max_pending_handshakes
		// / 8, 128) and its queue of 256 more hold the clients beyond them
		// to their 1 s retransmission.
		{name: fmt.Sprintf("join storm ECDSA P-256, %d clients from %d addresses that stay connected", bigStorm, stormSources), key: "ecdsa", fps: 60, seconds: 40, loadArgs: []string{"-clients", itoa(bigStorm), "-hold", "5s", "-sources", itoa(stormSources)}, modes: []string{"builtin", "go_udp_bulk", "go_listen_bulk", "go_listen_bulk_goroutine"}, godotArgs: []string{"pending=" + itoa(bigStorm)}},
		{name: "echo 8 x 1 KiB in flight", key: "ecdsa", fps: 0, seconds: 25, loadArgs: []string{"-clients", itoa(echoClients), "-echo", echoSecs, "-size", "1024", "-inflight", "8"}, modes: append(bulkModes, "go_listen_bulk_goroutine")},
		{name: "idle peers memory", key: "ecdsa", fps: 60, seconds: 45, loadArgs: []string{"-clients", itoa(memPeers), "-join-rate", "200", "-hold", "10s"}, modes: modes},
		{name: "scale 10 pkt/s per peer", key: "ecdsa", fps: 0, seconds: 45, loadArgs: []string{"-clients", itoa(scalePeers), "-join-rate", "400", "-echo", "10s", "-rate", "10", "-size", "64"}, modes: []string{"builtin", "go_listen", "go_listen_bulk", "go_listen_bulk_goroutine", "go_udp", "go_udp_bulk"}, godotArgs: []string{"pending=" + itoa(scalePeers)}},
	}
	var sections []string
	var stormRuns = map[string]godotResult{}
	for _, sc := range scen {
		if !scenarioWanted(sc.name) {
			continue
		}
		res := map[string][]godotResult{}
		loads := map[string][]loadResult{}
		for r := 0; r < *runs; r++ {
			for _, m := range sc.modes {
				if !modeWanted(m) {
					continue
				}
				g, l, err := runOne(sc, m, r)
				if err != nil {
					log.Printf("%s / %s run %d: %v", sc.name, m, r, err)
					continue
				}
				res[m] = append(res[m], g)
				loads[m] = append(loads[m], l)
				if sc.key == "rsa4096" && strings.HasPrefix(sc.name, "join") && r == 0 {
					stormRuns[m] = g
				}
			}
			if strings.HasPrefix(sc.name, "join") {
				l, err := rawPionJoin(sc)
				if err != nil {
					log.Printf("raw pion: %v", err)
				} else {
					loads["raw_pion"] = append(loads["raw_pion"], l)
				}
			}
		}
		sections = append(sections, table(sc, res, loads))
	}
	if scenarioWanted(scaleSweepName) {
		sec, svg := scaleSweep(sweepCounts)
		sections = append(sections, sec)
		if err := os.WriteFile(filepath.Join(*outDir, "scale.svg"), []byte(svg), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for _, cs := range []struct{ name, key string }{{"client join storm RSA-4096", "rsa4096"}, {"client join storm ECDSA P-256", "ecdsa"}} {
		if scenarioWanted(cs.name) {
			sections = append(sections, clientTable(cs.name, cs.key, n))
		}
	}
	if len(stormRuns) > 0 { // -only may have skipped the server join storms
		if err := os.WriteFile(filepath.Join(*outDir, "join_storm.svg"), []byte(plot(stormRuns)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	host, _ := os.Hostname()
	// take_connection(udp) grows the UDPServer socket's receive buffer up to
	// this cap: it decides whether that mode loses bursts on a machine
	rmem, _ := os.ReadFile("/proc/sys/net/core/rmem_max")
	md := "# Benchmarks: GoDTLSServer vs Godot's DTLSServer, GoDTLSClient vs PacketPeerDTLS\n\n" +
		fmt.Sprintf("Generated by `./build.sh bench` (`extension/cmd/benchrun`) on %s, %s, %d runs per scenario; medians with [min–max] across runs. The load generator (`extension/cmd/loadgen`) runs in its own process on loopback. Ratios are to DTLSServer in the same run set. The system's largest socket receive buffer (net.core.rmem_max, which caps what take_connection(udp) asks for the UDPServer socket) is %s bytes here.\n\n", host, time.Now().UTC().Format("2006-01-02"), *runs, strings.TrimSpace(string(rmem))) +
		"The multiplayer transport (GoDTLSMultiplayerPeer vs ENetMultiplayerPeer with DTLS) has its own page: [benchmarks-multiplayer.md](benchmarks-multiplayer.md).\n\n" +
		"![frame time during the RSA-4096 join storm](join_storm.svg)\n\n" + strings.Join(sections, "\n") + cpuNote
	if err := os.WriteFile(filepath.Join(*outDir, "benchmarks.md"), []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(md)
}

func itoa(i int) string { return strconv.Itoa(i) }

func scenarioWanted(name string) bool {
	if exact, ok := strings.CutSuffix(*only, "$"); ok {
		return name == exact
	}
	return strings.HasPrefix(name, *only)
}

func modeWanted(m string) bool {
	return *onlyMode == "" || strings.Contains(","+*onlyMode+",", ","+m+",")
}

// runOne starts Godot with the bench scene, waits for it to listen, runs the
// load generator against it and collects both reports.
func runOne(sc scenario, mode string, run int) (godotResult, loadResult, error) {
	var g godotResult
	var l loadResult
	out := filepath.Join(os.TempDir(), fmt.Sprintf("godtls-bench-%d-%s.json", os.Getpid(), mode))
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			return g, l, err
		}
		out = filepath.Join(*keep, fmt.Sprintf("%s-%s-%d.json", strings.NewReplacer(" ", "_", ",", "", "/", "_").Replace(sc.name), mode, run))
	} else {
		defer os.Remove(out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(sc.seconds+120)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, *godot, append([]string{"--headless", "--path", *project, "-s", "res://bench/bench_server.gd", "--",
		"mode=" + mode, "key=" + sc.key, "fps=" + itoa(sc.fps), fmt.Sprintf("seconds=%g", sc.seconds), "out=" + out}, append(sc.godotArgs, extraGodotArgs()...)...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return g, l, err
	}
	defer func() { _ = cmd.Wait() }()
	port := ""
	sc2 := bufio.NewScanner(stdout)
	for sc2.Scan() {
		if f := strings.Fields(sc2.Text()); len(f) == 3 && f[0] == "BENCH" && f[1] == "READY" {
			port = f[2]
			break
		}
	}
	if port == "" {
		return g, l, fmt.Errorf("godot never printed BENCH READY")
	}
	go func() {
		for sc2.Scan() {
		}
	}()
	args := append(append([]string{"-addr", "127.0.0.1:" + port}, sc.loadArgs...), extraLoadArgs()...)
	lo, err := exec.CommandContext(ctx, *loadgen, args...).Output()
	if err != nil {
		return g, l, fmt.Errorf("loadgen: %v", err)
	}
	if err := json.Unmarshal(lo, &l); err != nil {
		return g, l, err
	}
	if err := cmd.Wait(); err != nil {
		return g, l, fmt.Errorf("godot: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return g, l, err
	}
	err = json.Unmarshal(b, &g)
	log.Printf("%s / %s run %d: %d/%d connected in %.0f ms, worst frame %.1f ms, worst main-thread work %.1f ms (%.1f until every client was in)", sc.name, mode, run, l.Connected, l.Connected+l.Failed, l.AllConnectedMs, maxOf(g.FrameMs), maxOf(g.WorkMs), maxOf(g.WorkMs[:min(len(g.WorkMs), len(stormWindow(g, l.Connected)))]))
	if g.Ends > 0 {
		log.Printf("%s / %s run %d: %d peer_disconnected (the clients wrote %d close_notify), the first at %.0f ms; worst main-thread work from then on %.2f ms", sc.name, mode, run, g.Ends, l.CloseNotifies, g.FirstEndMs, g.EndWorkMs)
	}
	return g, l, err
}

// extraLoadArgs are -loadgen-set's arguments.
func extraLoadArgs() []string {
	if *loadSet == "" {
		return nil
	}
	return strings.Split(*loadSet, ",")
}

// extraGodotArgs are -set's arguments.
func extraGodotArgs() []string {
	if *set == "" {
		return nil
	}
	return strings.Split(*set, ",")
}

// rawPionJoin measures the join storm against a raw pion v2 server: one
// goroutine per handshake behind pion's own UDP demultiplexer.
func rawPionJoin(sc scenario) (loadResult, error) {
	var l loadResult
	pair, err := keyPair(sc.key)
	if err != nil {
		return l, err
	}
	addr, stop, err := pionecho.Start(pair, true)
	if err != nil {
		return l, err
	}
	defer stop()
	args := append(append([]string{"-addr", addr}, sc.loadArgs...), extraLoadArgs()...)
	out, err := exec.Command(*loadgen, args...).Output()
	if err != nil {
		return l, err
	}
	err = json.Unmarshal(out, &l)
	return l, err
}

func keyPair(kind string) (*credentials.Certificate, error) {
	dir := filepath.Join(*project, "tests", "fixtures")
	if kind == "ecdsa" {
		k, _ := os.ReadFile(filepath.Join(dir, "ecdsa_key.pem"))
		c, _ := os.ReadFile(filepath.Join(dir, "ecdsa_cert.pem"))
		return credentials.FromPEM(k, c, time.Now())
	}
	return rsaPair(4096)
}
