package client

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v2/test"

	"godtls/extension/credentials"
	"godtls/extension/internal/testcert"
	"godtls/extension/server"
	"godtls/extension/wire"
)

// switchRelay forwards one client's datagrams to a server it can switch to
// another without a word: to the client, the server restarted on the same
// address and forgot everything.
type switchRelay struct {
	front  *net.UDPConn
	back   atomic.Pointer[net.UDPConn]
	client atomic.Pointer[net.UDPAddr]
	wg     sync.WaitGroup
	// onCookie, if set, runs once, before the first ClientHello with a
	// cookie is forwarded.
	onCookie func(r *switchRelay)
}

func newSwitchRelay(t *testing.T, target int, onCookie func(r *switchRelay)) *switchRelay {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &switchRelay{front: front, onCookie: onCookie}
	r.switchTo(t, target)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 9000)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.client.Store(from)
			if info := wire.Classify(buf[:n]); info.HasCookie && r.onCookie != nil {
				r.onCookie(r)
				r.onCookie = nil
			}
			_, _ = r.back.Load().Write(buf[:n])
		}
	}()
	t.Cleanup(func() {
		front.Close()
		r.back.Load().Close()
		r.wg.Wait()
	})
	return r
}

// switchTo sends from now on to target; the old server's answers are lost.
func (r *switchRelay) switchTo(t *testing.T, target int) {
	back, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: target})
	if err != nil {
		t.Fatal(err)
	}
	if old := r.back.Swap(back); old != nil {
		old.Close()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 9000)
		for {
			n, err := back.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if to := r.client.Load(); err == nil && to != nil {
				_, _ = r.front.WriteToUDP(buf[:n], to)
			}
		}
	}()
}

func (r *switchRelay) port() int { return r.front.LocalAddr().(*net.UDPAddr).Port }

// A server that forgets a handshake after our cookie (here: the address
// leads to a fresh server from the moment our ClientHello with the cookie
// leaves, as if the first had restarted in between) never answers our
// retransmissions, which carry that cookie; the client starts over from a
// new socket and gets in.
func TestClientStartsOverWhenTheServerForgetsItsCookie(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	pair := testcert.ECDSA(t)
	cred, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	listen := func() *server.Server {
		s := server.New(server.Config{})
		if err := s.SetCertificate(cred); err != nil {
			t.Fatal(err)
		}
		if err := s.Listen(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s
	}
	first, fresh := listen(), listen()
	r := newSwitchRelay(t, first.LocalPort(), func(r *switchRelay) { r.switchTo(t, fresh.LocalPort()) })
	c := connect(t, r.port(), Config{Insecure: true, HandshakeTimeout: 20 * time.Second})
	mustConnect(t, c)
	if n := c.restarts.Load(); n == 0 {
		t.Fatal("connected without starting over: the test did not reach the stale cookie")
	}
	// The client is in once it has the server's Finished; the server's
	// handshake goroutine counts the handshake a moment later.
	st := fresh.Stats()
	for wait := time.Now().Add(10 * time.Second); st.HandshakesOK == 0 && time.Now().Before(wait); st = fresh.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Spoofed == 0 || st.HandshakesOK != 1 {
		t.Fatalf("the fresh server dropped %d ClientHellos with unknown cookies and completed %d handshakes", st.Spoofed, st.HandshakesOK)
	}
	t.Logf("connected after %d restart(s); the fresh server dropped %d ClientHellos with a cookie it never sent", c.restarts.Load(), st.Spoofed)
}
