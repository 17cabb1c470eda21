// Package testtool holds what the interop tests of both ends share: finding
// an external DTLS tool, and reading its output while it runs.
package testtool

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need finds an external tool. A missing tool skips the test on a
// developer machine (loudly) but fails in CI, where .ci/run installs it.
func Need(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: .ci/run must install it", name)
		}
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
