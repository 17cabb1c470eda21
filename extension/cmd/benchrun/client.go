package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"godtls/extension/server"
)

// The client join storm: N clients in one Godot process (bench_client.gd)
// connect at once to a GoDTLSServer engine running in this process, once
// with PacketPeerDTLS and once with GoDTLSClient, side by side.

var clientModes = []string{"builtin", "go"}

var clientModeName = map[string]string{
	"builtin": "PacketPeerDTLS (built-in)",
	"go":      "GoDTLSClient",
}

type clientResult struct {
	Connected int       `json:"connected"`
	Failed    int       `json:"failed"`
	FrameMs   []float64 `json:"frame_ms"`
	WorkMs    []float64 `json:"work_ms"`
	AllInMs   float64   `json:"all_in_ms"`
	CPUMs     float64   `json:"cpu_ms"`
}

func clientJoin(key string, n int, mode string, run int) (clientResult, error) {
	var r clientResult
	pair, err := keyPair(key)
	if err != nil {
		return r, err
	}
	s := server.New(server.Config{MaxPeersPerIP: server.NoLimit})
	if err := s.SetCertificate(pair); err != nil {
		return r, err
	}
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		return r, err
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	go func() { // take connections as a game server would
		for ctx.Err() == nil {
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	out := filepath.Join(os.TempDir(), fmt.Sprintf("godtls-bench-client-%d-%s.json", os.Getpid(), mode))
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, *godot, "--headless", "--path", *project, "-s", "res://bench/bench_client.gd", "--",
		"mode="+mode, fmt.Sprintf("port=%d", s.LocalPort()), fmt.Sprintf("clients=%d", n), "seconds=60", "fps=60", "out="+out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("godot: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	log.Printf("client join %s / %s run %d: %d/%d connected in %.0f ms, worst main-thread work %.1f ms, total %.0f ms, CPU %.0f ms",
		key, mode, run, r.Connected, n, r.AllInMs, maxOf(r.WorkMs), sum(r.WorkMs), r.CPUMs)
	return r, nil
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

// clientTable runs the client join storm for one key and renders its table.
func clientTable(name, key string, n int) string {
	res := map[string][]clientResult{}
	for r := 0; r < *runs; r++ {
		for _, m := range clientModes {
			cr, err := clientJoin(key, n, m, r)
			if err != nil {
				log.Printf("%s / %s run %d: %v", name, m, r, err)
				continue
			}
			res[m] = append(res[m], cr)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", name)
	b.WriteString("| client | worst main-thread work in a frame, ms | main-thread work until all in, ms | worst frame ms | all clients in, ms | process CPU until all in, ms | connected | worst work vs PacketPeerDTLS | total work vs PacketPeerDTLS |\n|---|---|---|---|---|---|---|---|---|\n")
	get := func(m string, f func(clientResult) float64) spread {
		var v []float64
		for _, r := range res[m] {
			v = append(v, f(r))
		}
		return over(v)
	}
	worst := func(r clientResult) float64 { return maxOf(r.WorkMs) }
	total := func(r clientResult) float64 { return sum(r.WorkMs) }
	for _, m := range clientModes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", clientModeName[m],
			get(m, worst), get(m, total), get(m, func(r clientResult) float64 { return maxOf(r.FrameMs) }),
			get(m, func(r clientResult) float64 { return r.AllInMs }), get(m, func(r clientResult) float64 { return r.CPUMs }),
			get(m, func(r clientResult) float64 { return float64(r.Connected) }),
			ratio(get(m, worst), get("builtin", worst)), ratio(get(m, total), get("builtin", total)))
	}
	fmt.Fprintf(&b, "\n%d clients in one Godot process start connecting in the same frame to a GoDTLSServer engine in the benchmark's own process (loopback, `max_fps` 60). *Work* is the time the client logic (the connect calls and every client's `poll`) took on the main thread; *process CPU* is user + system time of every thread of the Godot process (from `/proc/self/stat`, 10 ms ticks) from the first connect until the last client was in.\n", n)
	return b.String()
}
