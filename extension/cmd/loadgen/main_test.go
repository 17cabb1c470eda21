package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"godtls/extension/credentials"
	"godtls/extension/internal/testcert"
	"godtls/extension/server"
)

// engine starts this repository's server engine on loopback for a test.
func engine(t *testing.T) *server.Server {
	t.Helper()
	pair := testcert.ECDSA(t)
	cert, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{})
	_ = s.SetCertificate(cert)
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func TestLoadgenAgainstEngine(t *testing.T) {
	s := engine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // echo loop
		var peers []*server.Peer
		for ctx.Err() == nil {
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
				peers = append(peers, p)
			}
			for _, p := range peers {
				for b, ok := p.Receive(); ok; b, ok = p.Receive() {
					_ = p.Send(b)
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	rep := run(options{
		addr: "127.0.0.1:" + strconv.Itoa(s.LocalPort()), clients: 20, joinWait: 30 * time.Second,
		echo: time.Second, size: 256, inflight: 4, handshake: 20 * time.Second,
	})
	if rep.Connected != 20 || rep.Failed != 0 {
		t.Fatalf("connected %d failed %d: %s", rep.Connected, rep.Failed, rep.FirstError)
	}
	if rep.Echo == nil || rep.Echo.Received == 0 || rep.Echo.Received > rep.Echo.Sent {
		t.Fatalf("echo %+v", rep.Echo)
	}
	if len(rep.ConnectedOverMs) == 0 || rep.ConnectedOverMs[len(rep.ConnectedOverMs)-1].Value > 20 {
		t.Fatalf("time series %v", rep.ConnectedOverMs)
	}
	t.Logf("20 clients in %.0f ms; echo %.0f pkt/s, lost %d, rtt p50 %.2f ms", rep.AllConnectedMs, rep.Echo.PPS, rep.Echo.Lost, rep.Echo.RTTMs.P50)
}

// The flood option: spoofed ClientHellos land in the engine's unverified
// pool while the genuine clients join.
func TestLoadgenFlood(t *testing.T) {
	s := engine(t)
	rep := run(options{
		addr: "127.0.0.1:" + strconv.Itoa(s.LocalPort()), clients: 5, joinWait: 30 * time.Second, handshake: 20 * time.Second,
		floodRate: 1000, floodSources: 64, floodLead: 300 * time.Millisecond,
	})
	if rep.Connected != 5 {
		t.Fatalf("connected %d: %s", rep.Connected, rep.FirstError)
	}
	if rep.Flood == nil || rep.Flood.Sent < 100 {
		t.Fatalf("flood %+v", rep.Flood)
	}
	if st := s.Stats(); st.Unverified+int(st.Evicted) == 0 && st.Spoofed == 0 {
		t.Fatalf("the server saw no flood: %+v", st)
	}
	t.Logf("5 clients in %.0f ms beside %d spoofed hellos", rep.AllConnectedMs, rep.Flood.Sent)
}

// -sources: the clients come from that many loopback addresses in turn,
// and the server sees each of them.
func TestLoadgenSources(t *testing.T) {
	s := engine(t)
	// the clients close when run returns: take them while they are connected
	seen := map[string]int{}
	stop, taken := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(taken)
		for {
			for p := s.TakeConnection(); p != nil; p = s.TakeConnection() {
				seen[p.Addr().Addr().String()]++
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	rep := run(options{
		addr: "127.0.0.1:" + strconv.Itoa(s.LocalPort()), clients: 8, joinWait: 30 * time.Second, handshake: 20 * time.Second,
		sources: 4, hold: 300 * time.Millisecond,
	})
	close(stop)
	<-taken
	if rep.Connected != 8 {
		t.Fatalf("connected %d: %s", rep.Connected, rep.FirstError)
	}
	want := map[string]int{"127.0.0.1": 2, "127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 2}
	if len(seen) != len(want) {
		t.Fatalf("the server saw the clients come from %v, want %v", seen, want)
	}
	for a, n := range want {
		if seen[a] != n {
			t.Fatalf("the server saw the clients come from %v, want %v", seen, want)
		}
	}
	if clientSource(1, 5) != nil {
		t.Fatal("one source is the system's choice of address, not a bound one")
	}
}
