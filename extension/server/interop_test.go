package server

import (
	"context"
	"encoding/hex"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"godtls/extension/internal/testtool"
	"godtls/extension/suites"
)

// runInterop starts an external DTLS client, waits for the handshake marker,
// sends a line, and waits for the echo. It returns everything it printed.
func runInterop(t *testing.T, s *Server, ready string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out := &testtool.Output{}
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
	out.WaitFor(t, ready)
	msg := "ping-from-" + strings.TrimSuffix(argv[0][strings.LastIndex(argv[0], "/")+1:], "-cli")
	if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
		t.Fatal(err)
	}
	out.WaitFor(t, msg)
	return out.String()
}

func TestInteropOpenSSL(t *testing.T) {
	openssl := testtool.Need(t, "openssl")
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
			defer echoing(s)()
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
	gnutls := testtool.Need(t, "gnutls-cli")
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
			defer echoing(s)()
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
