// Package udprelay is a test helper: a UDP relay between one client and a
// server, on loopback, through which a test watches, drops or injects
// datagrams, makes the server vanish (closing the relay sends nothing:
// the client's next datagrams draw ICMP port unreachable), or swaps the
// server for another behind the client's back (SwitchTo).
package udprelay

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"godtls/extension/internal/testsock"
	"godtls/extension/udpsock"
)

// Relay forwards the datagrams of the last client heard to the server and
// the server's answers back. Each way, a filter (nil: none) sees every
// datagram (the relay's buffer, valid during the call) and says whether it
// goes on.
type Relay struct {
	front  testsock.Conn            // where the client sends
	back   atomic.Pointer[backConn] // connected to the server
	client atomic.Pointer[net.UDPAddr]
	down   func([]byte) bool
	upLoop sync.WaitGroup // the client's side: its filter may switch servers
	loops  sync.WaitGroup // the answer loops, one per server socket
}

// backConn is the relay's socket towards the server. Its sockets are
// udpsock's, so that the tests that use the relay run under Wine too.
type backConn struct{ net.Conn }

// New starts a relay to server ("host:port"). The client reaches it on
// loopback in the server's address family.
func New(t testing.TB, server string, up, down func([]byte) bool) *Relay {
	t.Helper()
	loopback := net.IPv4(127, 0, 0, 1)
	if sa, err := net.ResolveUDPAddr("udp", server); err == nil && sa.IP.To4() == nil {
		loopback = net.IPv6loopback
	}
	front, err := testsock.ListenAt((&net.UDPAddr{IP: loopback}).String())
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{front: front, down: down}
	if err := r.SwitchTo(server); err != nil {
		front.Close()
		t.Fatal(err)
	}
	r.upLoop.Add(1)
	go func() {
		defer r.upLoop.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			r.client.Store(from.(*net.UDPAddr))
			// the server as it is after the filter: up may switch it
			if up == nil || up(buf[:n]) {
				_, _ = r.back.Load().Write(buf[:n])
			}
		}
	}()
	return r
}

// SwitchTo sends the client's datagrams to server ("host:port") from now
// on, from a new socket: the old server's answers are lost, and to the
// client it looks as if the server restarted on the same address.
func (r *Relay) SwitchTo(server string) error {
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return err
	}
	conn, err := udpsock.Dial(sa)
	if err != nil {
		return err
	}
	back := &backConn{conn}
	if old := r.back.Swap(back); old != nil {
		old.Close() // ends its answer loop
	}
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		buf := make([]byte, 65536)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // an ICMP error about an earlier datagram
			}
			if to := r.client.Load(); to != nil && (r.down == nil || r.down(buf[:n])) {
				_, _ = r.front.WriteTo(buf[:n], to)
			}
		}
	}()
	return nil
}

// Addr is where the client sends.
func (r *Relay) Addr() string { return r.front.LocalAddr().String() }

// Port is Addr's port.
func (r *Relay) Port() int { return r.front.LocalAddr().(*net.UDPAddr).Port }

// LastClient is the address of the last client heard (nil: none yet).
func (r *Relay) LastClient() *net.UDPAddr { return r.client.Load() }

// ToClient sends b to the last client heard, from the relay's address (as
// if from the server); nothing is sent before a client was heard.
func (r *Relay) ToClient(b []byte) error {
	to := r.client.Load()
	if to == nil {
		return errors.New("udprelay: no client heard yet")
	}
	_, err := r.front.WriteTo(b, to)
	return err
}

// ToServer sends b to the server from the relay's address (as if from the
// client).
func (r *Relay) ToServer(b []byte) error {
	_, err := r.back.Load().Write(b)
	return err
}

// Close closes the sockets and waits for the forwarding loops to end. The
// server's socket is closed once the client's loop has ended, so that a
// switch its filter was making is not left open.
func (r *Relay) Close() {
	r.front.Close()
	r.upLoop.Wait()
	r.back.Load().Close()
	r.loops.Wait()
}
