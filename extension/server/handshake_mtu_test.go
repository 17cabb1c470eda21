package server

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"godtls/extension/credentials"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/internal/udprelay"
	"godtls/extension/suites"
)

// No datagram of the handshake is larger than the configured MTU, and none
// sent to an IPv6 peer larger than 1,232 bytes, whatever the MTU, so that a
// forged (or genuine) ICMPv6 "packet too big", which lowers a path's MTU to
// 1,280, never cuts a flight into IP fragments. The flight (a certificate
// naming 40 hosts) is large enough for both bounds to matter: over IPv4
// its datagrams reach more than 1,232 bytes. Before, pion's fragments went
// 25 bytes over the MTU (1,425 at 1,400) and the IPv6 bound did not exist.
// After the handshake, the largest packet a peer takes fills a datagram of
// exactly the MTU, over both.
func TestHandshakeDatagramsFitTheMTU(t *testing.T) {
	defer checkRoutines(t)()
	const mtu = 1400
	// a certificate naming 40 hosts: more than one 1,232-byte datagram
	hosts := make([]string, 40)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("server-%02d.region.example.com", i)
	}
	issued := testcert.Issue(t, testcert.Leaf{Hosts: hosts})
	bigCert, err := credentials.FromPEM(issued.KeyPEM, issued.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []struct {
		name, host string
		bound      int // the largest datagram allowed
	}{
		{"IPv6", "::1", ipv6HandshakeMTU},
		{"IPv4", "127.0.0.1", mtu},
	} {
		t.Run(family.name, func(t *testing.T) {
			testsock.NeedLoopback(t, family.host)
			s := New(Config{MTU: mtu})
			defer s.Stop()
			if err := s.SetCertificate(bigCert); err != nil {
				t.Fatal(err)
			}
			if err := s.Listen(0, family.host); err != nil {
				t.Fatal(err)
			}
			var (
				mu      sync.Mutex
				largest int // the server's largest datagram
			)
			relay := udprelay.New(t, net.JoinHostPort(family.host, strconv.Itoa(s.LocalPort())), nil, func(b []byte) bool {
				mu.Lock()
				largest = max(largest, len(b))
				mu.Unlock()
				return true
			})
			defer relay.Close()
			c, _, err := dialUDP(net.JoinHostPort(family.host, "0"), relay.Addr(), clientConfig(suites.ECDSAKey))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			mu.Lock()
			handshake := largest
			largest = 0
			mu.Unlock()
			t.Logf("largest datagram of the handshake from the server: %d bytes", handshake)
			if handshake > family.bound {
				t.Fatalf("the server sent a %d-byte datagram; at most %d allowed", handshake, family.bound)
			}
			if handshake <= ipv6HandshakeMTU && family.bound > ipv6HandshakeMTU {
				t.Fatalf("the largest datagram of the flight was %d bytes: too small a flight to test the bounds", handshake)
			}
			// application data keeps the configured MTU, to the byte: the
			// largest packet a peer takes fills one datagram of mtu bytes
			var p *Peer
			waitFor(t, "the peer", func() bool { p = s.TakeConnection(); return p != nil })
			if err := p.Send(make([]byte, p.MaxPayload())); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2*mtu)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			_ = c.SetReadDeadline(time.Time{}) // ends pion's deadline timer
			if err != nil || n != p.MaxPayload() {
				t.Fatalf("the client read %d bytes (%v), want %d", n, err, p.MaxPayload())
			}
			mu.Lock()
			defer mu.Unlock()
			if largest != mtu {
				t.Fatalf("the largest packet went in a %d-byte datagram, want %d (the MTU)", largest, mtu)
			}
		})
	}
}
