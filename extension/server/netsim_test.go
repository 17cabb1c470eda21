package server

import (
	"testing"
	"time"

	"godtls/extension/netsim"
	"godtls/extension/suites"
)

// The listening socket passes the simulated network: the handshake and the
// echo cross it, and a round trip takes the latency twice (in and out).
func TestSimulatedNetworkOnTheListeningSocket(t *testing.T) {
	defer checkRoutines(t)()
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	defer s.Stop()
	defer echoing(s)()

	c := dial(t, s, clientConfig(suites.ECDSAKey))
	defer c.Close()
	roundTrip(t, c, "before")
	if err := s.Network().Set(netsim.Settings{Latency: 60 * time.Millisecond, Loss: 0.1}); err != nil {
		t.Fatal(err)
	}
	// the read already waiting when the link came on returns its datagram
	// unsimulated (netsim's documented first-datagram exception)
	_ = echoCheckWithin(c, "warm-up", 2*time.Second)
	var fastest time.Duration = time.Hour
	ok := 0
	for i := range 20 {
		start := time.Now()
		if err := echoCheckWithin(c, "with latency "+string(rune('a'+i)), 1500*time.Millisecond); err != nil {
			continue // lost, at 10 % each way
		}
		ok++
		fastest = min(fastest, time.Since(start))
	}
	if ok < 10 {
		t.Fatalf("%d of 20 echoes came back at 10 %% loss", ok)
	}
	if fastest < 115*time.Millisecond {
		t.Fatalf("the fastest echo took %v with 60 ms each way on the server's socket", fastest)
	}
	if err := s.Network().Set(netsim.Settings{}); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "after")
	t.Logf("%d of 20 echoes, the fastest in %v", ok, fastest)
}
