package multiplayer

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"godtls/extension/client"
	"godtls/extension/internal/testtool"
)

// TestMain doubles as the idle-client helper process of
// BenchmarkIdleClients: the clients live in their own process, so their
// memory is not the server's.
func TestMain(m *testing.M) {
	if port := os.Getenv("GODTLS_MP_HELPER_PORT"); port != "" {
		os.Exit(helperClients(port, os.Getenv("GODTLS_MP_HELPER_N")))
	}
	os.Exit(m.Run())
}

func helperClients(portText, nText string) int {
	port, _ := strconv.Atoi(portText)
	n, _ := strconv.Atoi(nText)
	var clients []*Client
	for i := 0; i < n; i++ {
		c, err := Dial("127.0.0.1", port, client.Config{Insecure: true}, Options{})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		clients = append(clients, c)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range clients {
		for c.Status() != Connected && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if c.Status() != Connected {
			fmt.Println("error: a client did not connect")
			return 1
		}
	}
	fmt.Println("connected", len(clients))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range clients {
		c.Close("bye")
	}
	return 0
}

// BenchmarkIdleClients connects 200 idle multiplayer clients from a helper
// process and reports what each costs the server: goroutines, Go heap and
// stacks, and process RSS, 3 s after the last joined (the pings of the idle
// sessions go on meanwhile), after returning freed memory to the system
// at both ends (debug.FreeOSMemory: the handshakes' garbage is not what an
// idle session holds). Run it alone with -benchtime=1x.
func BenchmarkIdleClients(b *testing.B) {
	const n = 200
	if os.Getenv("GODTLS_IDLE_HEAPPROFILE") != "" {
		// every allocation in the profile, not a sample: the per-client
		// figures are small. The bookkeeping inflates the reported heap
		// and RSS, so profile and measure in separate runs.
		runtime.MemProfileRate = 1
	}
	for i := 0; i < b.N; i++ {
		m := startServer(b, n, Options{})
		debug.FreeOSMemory()
		heap0, stack0 := testtool.MemNow()
		rss0 := testtool.RSSKiB()
		g0 := runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GODTLS_MP_HELPER_PORT="+strconv.Itoa(m.srv.LocalPort()), "GODTLS_MP_HELPER_N="+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		joined := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			joined <- line
		}()
		// The game's loop: take the events and messages.
		var line string
		for line == "" {
			select {
			case line = <-joined:
			case <-time.After(5 * time.Millisecond):
			}
			for _, ok := m.NextEvent(); ok; _, ok = m.NextEvent() {
			}
			for _, ok := m.Pop(); ok; _, ok = m.Pop() {
			}
		}
		if !strings.HasPrefix(line, "connected") {
			b.Fatalf("helper: %q", line)
		}
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			for _, ok := m.NextEvent(); ok; _, ok = m.NextEvent() {
			}
		}
		runtime.GC()
		if path := os.Getenv("GODTLS_IDLE_HEAPPROFILE"); path != "" {
			// what the idle sessions hold, for go tool pprof -sample_index=inuse_space
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
				// and which goroutines each client keeps
				if g, err := os.Create(path + ".goroutines"); err == nil {
					_ = pprof.Lookup("goroutine").WriteTo(g, 1)
					_ = g.Close()
				}
			}
		}
		heap1, stack1 := testtool.MemNow()
		debug.FreeOSMemory() // what the sessions hold, not the handshakes' garbage
		rss1 := testtool.RSSKiB()
		b.ReportMetric(float64(runtime.NumGoroutine()-g0)/n, "goroutines/client")
		b.ReportMetric(float64(heap1-heap0)/n/1024, "heapKiB/client")
		b.ReportMetric(float64(stack1-stack0)/n/1024, "stackKiB/client")
		b.ReportMetric(float64(rss1-rss0)/n, "rssKiB/client")
		_ = stdin.Close()
		_ = cmd.Wait()
	}
}
