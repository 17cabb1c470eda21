package server

// FuzzEstablishedRecordPath feeds arbitrary datagrams to an established
// session as if they came from its player's address (attach mode's Feed is
// exactly where UDPServer mode hands the engine a datagram, after which
// the path is the demultiplexer's), and checks after each that the session
// still echoes a packet. Run the seeds with go test; fuzz with
//
//	go test ./extension/server -run '^$' -fuzz FuzzEstablishedRecordPath -fuzztime 60s

import (
	"context"
	"fmt"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/link"
	"godtls/extension/suites"
)

func FuzzEstablishedRecordPath(f *testing.F) {
	f.Add(forge.Record(20, 1, 200, []byte{1}))            // the CCS that deafened pion
	f.Add(forge.Record(20, 1, 1<<40, []byte{2}))          // the CCS that drew decode_error
	f.Add(forge.Record(21, 0, 5, []byte{2, 40}))          // epoch-0 fatal alert
	f.Add(forge.Record(23, 1, 1<<48-1, make([]byte, 40))) // unauthenticated data at the last sequence
	f.Add(forge.Record(22, 2, 0, []byte{20, 0, 0, 12}))
	f.Add(append(forge.Record(23, 1, 9, nil), 0xfe))

	s := newAttachServer(f)
	u := newPump(f, s, time.Millisecond)
	u.echo = true
	ctx, cancel := context.WithCancel(context.Background())
	done := u.run(ctx)
	player, err := dialPump(u, clientConfig(suites.ECDSAKey))
	if err != nil {
		cancel()
		<-done
		f.Fatal(err)
	}
	f.Cleanup(func() {
		player.Close()
		cancel()
		<-done
		u.sock.Close()
		s.Stop()
	})
	if err := echoCheck(player, "before"); err != nil {
		f.Fatal(err)
	}
	u.mu.Lock()
	var peer *Peer
	for _, p := range u.peers {
		peer = p
	}
	u.mu.Unlock()

	n := 0
	f.Fuzz(func(t *testing.T, b []byte) {
		peer.Feed(b)
		n++
		if err := echoCheck(player, fmt.Sprintf("after input %d", n)); err != nil {
			t.Fatalf("the session stopped delivering after %x: %v", b, err)
		}
		if peer.Status() != link.StatusConnected {
			t.Fatalf("the session ended after %x: %s", b, peer.LastError())
		}
		// The server's goroutines that recover from a panic (the janitor,
		// a writer) count it; the session may still echo, so only the
		// counter tells.
		if p := s.Stats().Panics; p != 0 {
			t.Fatalf("the server recovered from %d panics, the last after %x", p, b)
		}
	})
}
