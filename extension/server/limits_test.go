package server

// The bounds a client cannot talk the server past: the largest record pion
// reads, and the peers one address may hold.

import (
	"context"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testsock"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// ---- D6: the MTU is what pion can carry ---------------------------------------

func TestMTUBoundIsWhatPionReads(t *testing.T) {
	defer checkRoutines(t)()
	if err := (Config{MTU: 16384}).Validate(); err == nil {
		t.Fatal("an MTU pion cannot read must be refused")
	}
	s, _ := startServer(t, suites.ECDSAKey, Config{MTU: MaxMTU})
	defer s.Stop()
	c := dial(t, s, clientConfig(suites.ECDSAKey))
	defer c.Close()
	p := waitTake(t, s)
	big := make([]byte, p.MaxPayload())
	big[0], big[len(big)-1] = 1, 2
	if err := p.Send(big); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16384)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil || n != len(big) {
		t.Fatalf("client read %d of %d: %v", n, len(big), err)
	}
	if err := p.Send(make([]byte, p.MaxPayload()+1)); err == nil {
		t.Fatal("one byte over MaxPayload must be refused")
	}
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the full-size packet", func() bool { return p.Available() == 1 })
	// a datagram over 8,192 bytes is dropped at the socket and counted
	conn := udpOf(c)
	conn.Write(make([]byte, wire.MaxDatagram+1))
	waitFor(t, "oversize counted", func() bool { return s.Stats().Oversize == 1 })
	t.Logf("MTU %d: max payload %d both ways", MaxMTU, p.MaxPayload())
}

// ---- limits -----------------------------------------------------------------

func TestPerIPPeerCap(t *testing.T) {
	testsock.NeedSourceAddress(t, "127.0.0.2") // the other host
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{MaxPeersPerIP: 2, HandshakeTimeout: 2 * time.Second})
	defer s.Stop()
	a := dial(t, s, clientConfig(suites.ECDSAKey))
	defer a.Close()
	b := dial(t, s, clientConfig(suites.ECDSAKey))
	defer b.Close()
	udp, err := testsock.Dial("", serverAddr(s))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	third, err := dtls.ClientWithContext(ctx, udp, clientConfig(suites.ECDSAKey))
	cancel()
	udp.Close()
	if err == nil {
		third.Close()
		t.Fatal("a third peer from 127.0.0.1 got in past max_peers_per_ip = 2")
	}
	c, err := dialFrom(s, clientConfig(suites.ECDSAKey), "127.0.0.2:0")
	if err != nil {
		t.Fatalf("another host must still get in: %v", err)
	}
	c.Close()
	if s.Stats().Rejected == 0 {
		t.Fatal("the refusal was not counted")
	}
}
