// Package udprelay is a test helper: a UDP relay between one client and a
// server, on loopback, through which a test watches, drops or injects
// datagrams, or makes the server vanish (closing the relay sends nothing:
// the client's next datagrams draw ICMP port unreachable).
package udprelay

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Relay forwards the datagrams of the last client heard to the server and
// the server's answers back. Each way, a filter (nil: none) sees every
// datagram (the relay's buffer, valid during the call) and says whether it
// goes on.
type Relay struct {
	front  *net.UDPConn // where the client sends
	back   *net.UDPConn // connected to the server
	client atomic.Pointer[net.UDPAddr]
	loops  sync.WaitGroup
}

// New starts a relay to server ("host:port").
func New(t testing.TB, server string, up, down func([]byte) bool) *Relay {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		front.Close()
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, sa)
	if err != nil {
		front.Close()
		t.Fatal(err)
	}
	r := &Relay{front: front, back: back}
	r.loops.Add(2)
	go func() {
		defer r.loops.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.client.Store(from)
			if up == nil || up(buf[:n]) {
				_, _ = back.Write(buf[:n])
			}
		}
	}()
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
			if to := r.client.Load(); to != nil && (down == nil || down(buf[:n])) {
				_, _ = front.WriteToUDP(buf[:n], to)
			}
		}
	}()
	return r
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
	_, err := r.front.WriteToUDP(b, to)
	return err
}

// ToServer sends b to the server from the relay's address (as if from the
// client).
func (r *Relay) ToServer(b []byte) error {
	_, err := r.back.Write(b)
	return err
}

// Close closes both sockets and waits for the forwarding loops to end.
func (r *Relay) Close() {
	r.front.Close()
	r.back.Close()
	r.loops.Wait()
}
