package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/internal/testtool"
	"godtls/extension/link"
)

// The client against servers this repository does not own: openssl
// s_server -dtls1_2 and gnutls-serv --udp, started by the test.

// freePort finds a UDP port nobody uses right now.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := testsock.ListenAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// external runs a DTLS server process until the test ends; it returns its
// stdin and output.
func external(t *testing.T, ready string, argv ...string) (io.Writer, *testtool.Output) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
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
	t.Cleanup(func() {
		_ = stdin.Close()
		cancel()
		_ = cmd.Wait()
	})
	if ready != "" {
		out.WaitFor(t, ready)
	}
	return stdin, out
}

// waitBound waits until the server process has bound the UDP port.
// gnutls-serv buffers its output when it is not a terminal, so its banner
// cannot say so. The kernel's socket table is read rather than the port
// probed by binding it: a probe that holds the port at the moment the server
// binds makes gnutls-serv give up IPv4 ("bind() failed") and listen on IPv6
// alone, where the client never looks.
func waitBound(t *testing.T, port int, out *testtool.Output) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		bound, err := udpPortBound(port)
		if err != nil {
			t.Fatalf("cannot tell whether port %d is bound: %v", port, err)
		}
		if bound {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d; the server printed:\n%s", port, out.String())
}

// udpPortBound reports whether an IPv4 UDP socket is bound to the local
// port (the client dials 127.0.0.1), from /proc/net/udp: lines like
// "0: 0100007F:E6A2 00000000:0000 07 ...", the port in hex after the colon.
func udpPortBound(port int) (bool, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false, err
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) > 1 && strings.HasSuffix(fields[1], suffix) {
			return true, nil
		}
	}
	return false, nil
}

func receive(t *testing.T, c *Client, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if b, ok := c.Receive(); ok {
			if strings.Contains(string(b), want) {
				return
			}
			continue
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing containing %q arrived", want)
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInteropOpenSSLServer(t *testing.T) {
	openssl := testtool.Need(t, "openssl")
	issued := testcert.Issue(t, testcert.Leaf{Hosts: []string{"game.example"}})
	dir := writeFiles(t, map[string][]byte{"cert.pem": issued.CertPEM, "key.pem": issued.KeyPEM})
	key := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name   string
		server []string
		cfg    Config
		suite  string
		fail   FailureKind
	}{
		{name: "certificate", server: []string{"-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem")},
			cfg: Config{RootCAs: pool(t, issued.CAPEM), ServerName: "game.example"}, suite: "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{name: "hostname mismatch", server: []string{"-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem")},
			cfg: Config{RootCAs: pool(t, issued.CAPEM), ServerName: "other.example"}, fail: FailHostname},
		{name: "PSK", server: []string{"-nocert", "-psk", hex.EncodeToString(key), "-psk_identity", "player-1", "-cipher", "PSK-CHACHA20-POLY1305"},
			cfg: Config{PSKIdentity: "player-1", PSKKey: key}, suite: "PSK-CHACHA20-POLY1305"},
		{name: "PSK wrong key", server: []string{"-nocert", "-psk", hex.EncodeToString([]byte("another key 0123")), "-psk_identity", "player-1", "-cipher", "PSK-CHACHA20-POLY1305"},
			cfg: Config{PSKIdentity: "player-1", PSKKey: key, HandshakeTimeout: 5 * time.Second}, fail: FailPSKKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			argv := append([]string{openssl, "s_server", "-dtls1_2", "-accept", "127.0.0.1:" + strconv.Itoa(port)}, tc.server...)
			stdin, out := external(t, "ACCEPT", argv...)
			c := connect(t, port, tc.cfg)
			if tc.fail != 0 {
				t.Log(mustFail(t, c, tc.fail, map[bool]link.Status{true: link.StatusErrorHostnameMismatch, false: link.StatusError}[tc.fail == FailHostname]))
				return
			}
			mustConnect(t, c)
			if err := c.Send([]byte("hello from GoDTLSClient\n")); err != nil {
				t.Fatal(err)
			}
			out.WaitFor(t, "hello from GoDTLSClient")
			if _, err := io.WriteString(stdin, "hello from openssl\n"); err != nil {
				t.Fatal(err)
			}
			receive(t, c, "hello from openssl")
			if !strings.Contains(out.String(), tc.suite) {
				t.Errorf("openssl did not report %s:\n%s", tc.suite, out.String())
			}
			if c.CipherSuite() == 0 {
				t.Error("not ChaCha20-Poly1305 on the client side")
			}
		})
	}
}

func TestInteropGnuTLSServer(t *testing.T) {
	gnutls := testtool.Need(t, "gnutls-serv")
	issued := testcert.Issue(t, testcert.Leaf{Hosts: []string{"game.example"}})
	key := []byte("0123456789abcdef")
	dir := writeFiles(t, map[string][]byte{
		"cert.pem": issued.CertPEM, "key.pem": issued.KeyPEM,
		"psk.txt": []byte("player-1:" + hex.EncodeToString(key) + "\n"),
	})
	for _, tc := range []struct {
		name   string
		server []string
		cfg    Config
		fail   FailureKind
	}{
		{name: "certificate", server: []string{"--x509certfile", filepath.Join(dir, "cert.pem"), "--x509keyfile", filepath.Join(dir, "key.pem")},
			cfg: Config{RootCAs: pool(t, issued.CAPEM), ServerName: "game.example"}},
		{name: "unknown CA", server: []string{"--x509certfile", filepath.Join(dir, "cert.pem"), "--x509keyfile", filepath.Join(dir, "key.pem")},
			cfg: Config{RootCAs: pool(t, testcert.Issue(t, testcert.Leaf{}).CAPEM), ServerName: "game.example"}, fail: FailUnknownCA},
		{name: "PSK", server: []string{"--pskpasswd", filepath.Join(dir, "psk.txt"), "--priority", "NORMAL:-KX-ALL:+PSK"},
			cfg: Config{PSKIdentity: "player-1", PSKKey: key}},
		// gnutls answers an unknown identity as if the key were wrong, as
		// RFC 4279 section 2 allows (it hides which identities exist).
		{name: "PSK unknown identity", server: []string{"--pskpasswd", filepath.Join(dir, "psk.txt"), "--priority", "NORMAL:-KX-ALL:+PSK"},
			cfg: Config{PSKIdentity: "stranger", PSKKey: key, HandshakeTimeout: 5 * time.Second}, fail: FailPSKKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			argv := append([]string{gnutls, "--udp", "--echo", "-p", strconv.Itoa(port)}, tc.server...)
			_, out := external(t, "", argv...)
			waitBound(t, port, out)
			c := connect(t, port, tc.cfg)
			if tc.fail != 0 {
				t.Log(mustFail(t, c, tc.fail, link.StatusError))
				return
			}
			mustConnect(t, c)
			echo(t, c, "echo through gnutls")
			if c.CipherSuite() == 0 {
				t.Error("not ChaCha20-Poly1305 on the client side")
			}
		})
	}
}
