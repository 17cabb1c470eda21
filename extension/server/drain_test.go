package server

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"godtls/extension/link"
	"godtls/extension/suites"
)

// A draining server keeps its peer, turns a new client away at once with a
// fatal access_denied alert (not a timeout), reports EventDrained when the
// last peer leaves, and takes clients again once refusing is off.
func TestDrainRefusesNewClientsAndReportsDrained(t *testing.T) {
	defer checkRoutines(t)()
	// The idle timeout ends the kept peer if the pion client's Close
	// writes no close_notify (pion v2 sometimes writes none: link's
	// TestReadLoopDeliversAndCloses); drained must follow either way.
	s, _ := startServer(t, suites.ECDSAKey, Config{IdleTimeout: 10 * time.Second})
	defer s.Stop()
	cfg := clientConfig(suites.ECDSAKey)
	kept := dial(t, s, cfg)
	waitFor(t, "the first peer", func() bool { return s.ConnectionAvailable() })
	p := s.TakeConnection()

	s.SetRefusing(true)
	if !s.Refusing() {
		t.Fatal("Refusing() is false after SetRefusing(true)")
	}
	start := time.Now()
	_, err := dialFrom(s, cfg, "127.0.0.1:0")
	if err == nil {
		t.Fatal("a new client connected while the server refuses")
	}
	if !strings.Contains(err.Error(), "AccessDenied") && !strings.Contains(err.Error(), "access_denied") && !strings.Contains(strings.ToLower(err.Error()), "access denied") {
		t.Fatalf("the new client failed with %v; want the access_denied alert", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the refusal took %v: the client waited instead of being told", took)
	}
	if got := s.Stats().Refused; got < 1 {
		t.Fatalf("Stats().Refused = %d after a refusal", got)
	}
	// the peer that was there stays, both ways
	if err := p.Send([]byte("still here")); err != nil {
		t.Fatalf("Send to the kept peer: %v", err)
	}
	buf := make([]byte, 64)
	_ = kept.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := kept.Read(buf); err != nil || string(buf[:n]) != "still here" {
		t.Fatalf("the kept peer read %q, %v", buf[:n], err)
	}
	for ev, ok := s.NextEvent(); ok; ev, ok = s.NextEvent() {
		if ev.Kind == EventDrained {
			t.Fatal("EventDrained while a peer is connected")
		}
	}
	closed := time.Now()
	_ = kept.Close()
	nextEvent(t, s, EventDrained)
	t.Logf("refusal after %v, drained %v after the last peer closed", time.Since(start), time.Since(closed))
	waitFor(t, "the peer's status", func() bool { return p.Status() != link.StatusConnected })
	t.Logf("the kept peer ended with %q", p.LastError())

	s.SetRefusing(false)
	again := dial(t, s, cfg)
	_ = again.Close()
}

// Refusing with nothing connected is drained at once; attach mode refuses
// with ErrRefusing (the bridge sends RefusalAlert through the UDPServer).
func TestDrainWhenEmptyAndInAttachMode(t *testing.T) {
	defer checkRoutines(t)()
	s := newAttachServer(t)
	defer s.Stop()
	s.SetRefusing(true)
	nextEvent(t, s, EventDrained)
	if _, err := s.Attach(netip.MustParseAddrPort("127.0.0.1:40000")); !errors.Is(err, ErrRefusing) {
		t.Fatalf("Attach while refusing: %v, want ErrRefusing", err)
	}
	if a := RefusalAlert(); len(a) != 15 || a[0] != 21 || a[13] != 2 || a[14] != 49 {
		t.Fatalf("RefusalAlert() = %v", a)
	}
}
