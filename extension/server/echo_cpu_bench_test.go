package server

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"godtls/extension/credentials"
	"godtls/extension/internal/pionecho"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testtool"
	"godtls/extension/suites"
)

// BenchmarkEchoCPU measures the process CPU (user + system, every thread)
// the server spends per echoed packet, with the load generator
// (extension/cmd/loadgen) in its own process: 50 clients keep 8 packets of
// 1 KiB in flight each for 5 s. Two servers in the same run: the engine
// (listen(), a 1 ms game loop draining ReceiveAll and sending each packet
// back) and raw pion v2 (dtls.Listen, a goroutine per connection echoing).
// Reported per server: µs of CPU per echoed packet and packets/s; and the
// engine's CPU per packet as a multiple of raw pion's. Godot's DTLSServer
// and ENet are measured by ./build.sh bench (docs/benchmarks.md).
func BenchmarkEchoCPU(b *testing.B) {
	loadgen := filepath.Join(b.TempDir(), "loadgen")
	if out, err := exec.Command("go", "build", "-o", loadgen, "godtls/extension/cmd/loadgen").CombinedOutput(); err != nil {
		b.Fatalf("building loadgen: %v\n%s", err, out)
	}
	var engine, pion float64
	b.Run("engine", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s, _ := startServer(b, suites.ECDSAKey, Config{MaxPeersPerIP: NoLimit})
			ctx, cancel := context.WithCancel(context.Background())
			done := gameLoopEcho(ctx, s)
			engine = echoCPU(b, loadgen, serverAddr(s))
			cancel()
			<-done
			s.Stop()
		}
	})
	b.Run("raw_pion", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			addr, stop := rawPionEcho(b)
			pion = echoCPU(b, loadgen, addr)
			stop()
		}
	})
	if engine > 0 && pion > 0 {
		b.Logf("engine: %.2f µs of CPU per echoed packet, raw pion %.2f µs: %.2f×", engine, pion, engine/pion)
	}
}

// gameLoopEcho plays a game's frame loop at 1 ms: it drains ReceiveAll and
// sends every packet back.
func gameLoopEcho(ctx context.Context, s *Server) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			for s.TakeConnection() != nil {
			}
			s.ReceiveAll(0, func(p *Peer, b []byte) { _ = p.Send(b) })
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// rawPionEcho is a pion v2 echo server with the engine's suites
// (pionecho, which the Godot benchmarks' raw pion runs use too).
func rawPionEcho(b *testing.B) (string, func()) {
	pair := testcert.ECDSA(b)
	c, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	addr, stop, err := pionecho.Start(c, false)
	if err != nil {
		b.Fatal(err)
	}
	return addr, stop
}

// echoCPU runs the load generator against addr and reports the process's
// CPU per echoed packet over the run, in µs.
func echoCPU(b *testing.B, loadgen, addr string) float64 {
	cpu0 := testtool.ProcessCPU()
	out, err := exec.Command(loadgen, "-addr", addr, "-clients", "50", "-echo", "5s", "-size", "1024", "-inflight", "8").Output()
	cpu := testtool.ProcessCPU() - cpu0
	if err != nil {
		b.Fatalf("loadgen: %v\n%s", err, out)
	}
	var r struct {
		Connected int `json:"connected"`
		Echo      struct {
			Received uint64  `json:"received"`
			Lost     uint64  `json:"lost"`
			PPS      float64 `json:"packets_per_second"`
		} `json:"echo"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Echo.Received == 0 {
		b.Fatalf("loadgen report %q: %v", out, err)
	}
	us := cpu.Seconds() * 1e6 / float64(r.Echo.Received)
	b.ReportMetric(us, "cpu-µs/packet")
	b.ReportMetric(r.Echo.PPS, "packets/s")
	b.ReportMetric(float64(r.Echo.Lost), "lost")
	b.Logf("%d clients, %s packets echoed, %.0f/s, %d lost, %.2f µs CPU each", r.Connected, strconv.FormatUint(r.Echo.Received, 10), r.Echo.PPS, r.Echo.Lost, us)
	return us
}
