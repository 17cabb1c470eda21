package client

// FuzzEstablishedRecordPath feeds arbitrary datagrams to an established
// client as if they came from its server's address (a relay between them
// injects them), and checks after each that the client is connected and
// still echoes a packet: the client's side of the server package's target
// of the same name. Run the seeds with go test; fuzz with
//
//	go test ./extension/client -run '^$' -fuzz FuzzEstablishedRecordPath -fuzztime 60s

import (
	"fmt"
	"testing"
	"time"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/udprelay"
	"godtls/extension/link"
)

func FuzzEstablishedRecordPath(f *testing.F) {
	f.Add(forge.Record(20, 1, 200, []byte{1}))            // a ChangeCipherSpec after the handshake
	f.Add(forge.Record(21, 0, 5, []byte{2, 40}))          // an epoch-0 fatal alert
	f.Add(forge.Record(21, 1, 7, []byte{1, 0}))           // an unauthenticated close_notify
	f.Add(forge.Record(23, 1, 1<<48-1, make([]byte, 40))) // unauthenticated data at the last sequence
	f.Add(forge.Record(22, 1, 3, []byte{0, 0, 0, 0}))     // a HelloRequest under the session's epoch
	f.Add(forge.Record(22, 0, 9, []byte{20, 0, 0, 12}))   // a Finished in the clear
	f.Add(append(forge.Record(23, 1, 9, nil), 0xfe))

	server := pionEchoServer(f)
	relay := udprelay.New(f, server.String(), nil, nil)
	f.Cleanup(relay.Close)
	c := connect(f, relay.Port(), Config{Insecure: true})
	mustConnect(f, c)
	if err := echoWithin(c, "before", wait); err != nil {
		f.Fatal(err)
	}
	n := 0
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := relay.ToClient(b); err != nil {
			t.Fatal(err)
		}
		n++
		if err := echoWithin(c, fmt.Sprintf("after input %d", n), 3*time.Second); err != nil {
			t.Fatalf("the client stopped delivering after %x: %v", b, err)
		}
		if c.Status() != link.StatusConnected {
			t.Fatalf("the client ended after %x: %v", b, c.Status())
		}
	})
}
