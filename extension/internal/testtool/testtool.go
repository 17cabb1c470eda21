// Package testtool holds what tests of several packages share: finding an
// external DTLS tool and reading its output while it runs (the interop
// tests), a pool of workers and the heap after a GC (the churn tests),
// what the memory benchmarks read (Go heap and stacks, process RSS), and the
// process's CPU time (the CPU benchmarks and the rogue clients' costs).
package testtool

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need finds an external tool. A missing tool skips the test on a
// developer machine (loudly) but fails in CI, where .ci/run installs it;
// on Windows (under wine in CI) it skips: Debian has no Windows build of
// openssl or gnutls for .ci/run to install.
func Need(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
	case runtime.GOOS == "windows":
		t.Skipf("SKIPPED: %s not found: a Windows build of it is needed", name)
	case os.Getenv("CI") != "":
		t.Fatalf("%s not found: .ci/run must install it", name)
	default:
		t.Skipf("SKIPPED: %s not installed (apt-get install openssl gnutls-bin)", name)
	}
	return path
}

// Output collects a process's output while it runs.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// WaitFor waits until the output contains want; only a hang reaches the
// deadline.
func (o *Output) WaitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(o.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", want, o.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Workers runs f(i) for every i from from to from+n-1 on `workers`
// goroutines and returns the errors f returned, in no particular order:
// the churn tests' pool of clients connecting and leaving.
func Workers(workers, from, n int, f func(i int) error) []error {
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := from; i < from+n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// HeapAfterGC is the heap in use once two collections have run: what a
// leak test compares with its baseline (the second collection frees what
// the first one's finalizers let go).
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// MemNow is the Go heap in use and the goroutine stacks, after several GC
// cycles: the GC shrinks goroutine stacks that grew during the handshake
// crypto by half per cycle, as it does in a running game.
func MemNow() (heap, stack uint64) {
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// RSSKiB is the process's resident set (VmRSS), or 0 where /proc has none.
func RSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v
		}
	}
	return 0
}
