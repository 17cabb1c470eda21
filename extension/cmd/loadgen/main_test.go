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

func TestLoadgenAgainstEngine(t *testing.T) {
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
	defer s.Stop()
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
