package client

// The post-handshake matrix from the server's side of the wire: every
// content type × epoch × body × sequence number, forged from the server's
// exact ip:port to the client's socket. After each forged datagram the
// connection must still deliver both ways and report itself connected.

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/transport/v2/test"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/link"
	"godtls/extension/suites"
)

// pionEchoServer is pion's own server on our ChaCha20 suite, echoing on a
// goroutine per connection: no game-loop sleep between a packet and its echo.
func pionEchoServer(t testing.TB) *net.UDPAddr {
	return pionServer(t, "127.0.0.1", nil, echoConn)
}

// echoConn sends back every packet c reads until c fails.
func echoConn(c net.Conn) {
	buf := make([]byte, 2048)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// pionServer is pion's own server on bind, on our ChaCha20 suite (ECDSA),
// or on only the suites in only when there are any; it hands every
// connection to serve on a goroutine of its own and closes it when serve
// returns, and it stops with the test.
func pionServer(t testing.TB, bind string, only []dtls.CipherSuiteID, serve func(net.Conn)) *net.UDPAddr {
	t.Helper()
	pair := testcert.ECDSA(t)
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &dtls.Config{
		Certificates:         []tls.Certificate{cert},
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		LoggerFactory:        link.Quiet,
	}
	if only != nil {
		cfg.CipherSuites = only
	} else {
		suites.Apply(cfg, suites.ECDSAKey, false, nil)
	}
	// pion's listener over a socket of udpsock's, which also opens under
	// Wine (dtls.Listen's is Go's, which Wine refuses)
	inner, err := testsock.ListenDemux(net.JoinHostPort(bind, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := dtls.NewListener(inner, cfg)
	if err != nil {
		inner.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return ln.Addr().(*net.UDPAddr)
}

// echoWithin sends msg and waits for it to come back.
func echoWithin(c *Client, msg string, within time.Duration) error {
	if err := c.Send([]byte(msg)); err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, ok := c.Receive(); ok {
			if string(b) != msg {
				return fmt.Errorf("echo %q, want %q", b, msg)
			}
			return nil
		}
		runtime.Gosched()
		time.Sleep(20 * time.Microsecond)
	}
	return fmt.Errorf("no echo of %q within %v", msg, within)
}

func TestForgedRecordMatrixClient(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	fs := forge.NeedSender(t)
	srv := pionEchoServer(t)
	c := connect(t, srv.Port, Config{Insecure: true})
	mustConnect(t, c)
	if !suites.IsChaCha(c.CipherSuite()) {
		t.Fatalf("suite %v: the matrix is for the engine's ChaCha20-Poly1305 suites", c.CipherSuite())
	}
	if err := echoWithin(c, "before", wait); err != nil {
		t.Fatal(err)
	}
	from := srv.AddrPort()
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.LocalAddr().Port())
	i := 0
	forge.Matrix(2, func(fc forge.Case) bool {
		if err := fs.Send(from, to, fc.Bytes); err != nil {
			t.Fatal(err)
		}
		i++
		if err := echoWithin(c, fmt.Sprintf("after case %d", i), 3*time.Second); err != nil || c.Status() != link.StatusConnected {
			t.Errorf("after %q: status %v, %v", fc.Name, c.Status(), err)
			return false
		}
		return true
	})
	st := c.Stats()
	if st.PostHandshakeDropped == 0 || st.AuthFailed == 0 {
		t.Fatalf("dropped after the handshake %d, failed authentication %d", st.PostHandshakeDropped, st.AuthFailed)
	}
	t.Logf("%d forged datagrams: still connected; %d records dropped before pion, %d failed authentication",
		forge.MatrixSize(), st.PostHandshakeDropped, st.AuthFailed)
}
