package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"godtls/extension/suites"
)

// needTool finds an interop client. A missing tool skips the test on a
// developer machine but fails in CI, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
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

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runInterop starts an external DTLS client, waits for the handshake marker,
// sends a line, and waits for the echo. It returns everything it printed.
func runInterop(t *testing.T, s *Server, ready string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	waitForOutput(t, out, ready)
	msg := "ping-from-" + strings.TrimSuffix(argv[0][strings.LastIndex(argv[0], "/")+1:], "-cli")
	if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, out, msg)
	return out.String()
}

func waitForOutput(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInteropOpenSSL(t *testing.T) {
	openssl := needTool(t, "openssl")
	for _, tc := range []struct {
		name  string
		kind  suites.KeyKind
		extra []string
		suite string
	}{
		{"ECDSA", suites.ECDSAKey, nil, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"RSA", suites.RSAKey, nil, "ECDHE-RSA-CHACHA20-POLY1305"},
		{"PSK", suites.PreSharedKey, []string{"-psk", hex.EncodeToString(testPSKKey), "-psk_identity", testPSKIdentity, "-cipher", "PSK-CHACHA20-POLY1305:PSK-AES128-CBC-SHA256"}, "PSK-CHACHA20-POLY1305"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer checkRoutines(t)()
			s, _ := startServer(t, tc.kind, Config{})
			defer s.Stop()
			ctx, cancel := context.WithCancel(context.Background())
			done := echoLoop(ctx, s)
			defer func() { cancel(); <-done }()
			argv := append([]string{openssl, "s_client", "-dtls1_2", "-connect", serverAddr(s), "-brief", "-ign_eof"}, tc.extra...)
			out := runInterop(t, s, "CONNECTION ESTABLISHED", argv...)
			if !strings.Contains(out, tc.suite) {
				t.Fatalf("openssl did not negotiate %s:\n%s", tc.suite, out)
			}
			// the client may already have left: ask the connected event
			if p := nextEvent(t, s, EventConnected).Peer; !suites.IsChaCha(p.CipherSuite()) {
				t.Fatalf("server side suite %#x, want ChaCha20", p.CipherSuite())
			}
			t.Logf("openssl negotiated %s", tc.suite)
		})
	}
}

func TestInteropGnuTLS(t *testing.T) {
	gnutls := needTool(t, "gnutls-cli")
	for _, tc := range []struct {
		name  string
		kind  suites.KeyKind
		extra []string
		suite string
	}{
		{"ECDSA", suites.ECDSAKey, []string{"--insecure"}, "(ECDSA-SHA256)-(CHACHA20-POLY1305)"},
		{"RSA", suites.RSAKey, []string{"--insecure"}, "(CHACHA20-POLY1305)"},
		{"PSK", suites.PreSharedKey, []string{"--pskusername", testPSKIdentity, "--pskkey", hex.EncodeToString(testPSKKey), "--priority", "NORMAL:-KX-ALL:+PSK"}, "(PSK)-(CHACHA20-POLY1305)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer checkRoutines(t)()
			s, _ := startServer(t, tc.kind, Config{})
			defer s.Stop()
			ctx, cancel := context.WithCancel(context.Background())
			done := echoLoop(ctx, s)
			defer func() { cancel(); <-done }()
			argv := append([]string{gnutls, "--udp", "-p", strconv.Itoa(s.LocalPort())}, tc.extra...)
			argv = append(argv, "127.0.0.1")
			out := runInterop(t, s, "Handshake was completed", argv...)
			if !strings.Contains(out, tc.suite) {
				t.Fatalf("gnutls did not negotiate %s:\n%s", tc.suite, out)
			}
			// the client may already have left: ask the connected event
			if p := nextEvent(t, s, EventConnected).Peer; !suites.IsChaCha(p.CipherSuite()) {
				t.Fatalf("server side suite %#x, want ChaCha20", p.CipherSuite())
			}
		})
	}
}
