package server

import (
	"sync/atomic"
	"testing"
	"time"

	"godtls/extension/hostfirst"
	"godtls/extension/suites"
)

// TestHandshakeStandsAsideForHostCalls: while a call from Godot is counted
// on its way into Go, a handshake's goroutines (the socket reader, pion's
// reads and writes, the certificate step before the signature) park, and
// the call's entry lets them go on. It fails if those goroutines no longer
// stand aside: the handshake would finish while the call is counted.
func TestHandshakeStandsAsideForHostCalls(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()

	var count int32
	hostfirst.Watch(&count)
	defer hostfirst.Watch(nil)
	// parked until the call enters, however long that is
	defer hostfirst.SetMaxStand(hostfirst.SetMaxStand(time.Hour))
	// Godot's thread, on its way in, before any datagram comes
	atomic.StoreInt32(&count, 1)

	dialed := make(chan error, 1)
	go func() {
		c, err := dialFrom(s, clientConfig(suites.ECDSAKey), "127.0.0.1:0")
		if err == nil {
			_ = c.Close()
		}
		dialed <- err
	}()
	waitFor(t, "a goroutine standing aside", func() bool { return hostfirst.Standing() > 0 })
	select {
	case err := <-dialed:
		t.Fatalf("the handshake ended (err %v) while a host call was counted", err)
	case <-time.After(500 * time.Millisecond):
	}
	if n := s.Stats().Peers; n != 0 {
		t.Fatalf("%d peers connected while a host call was counted", n)
	}

	hostfirst.Entered() // the call is in: everyone goes on
	select {
	case err := <-dialed:
		if err != nil {
			t.Fatalf("the handshake failed after the call entered: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handshake did not finish after the call entered")
	}
	if hostfirst.Waiting() != 0 {
		t.Fatalf("Waiting() = %d after the call entered", hostfirst.Waiting())
	}
}
