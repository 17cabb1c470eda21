package udpsock

import (
	"net"
	"testing"
)

// TestOwnSockets runs the fallback itself, which a real Windows never
// needs (Go's sockets work there) and Wine always does.
func TestOwnSockets(t *testing.T) {
	exercise(t, listenOwn, dialOwn)
}

// TestWhichSockets says which sockets this system gives: on Wine, Go's
// are refused for the reason the fallback exists, and TestSockets above
// ran on the fallback.
func TestWhichSockets(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	switch {
	case err == nil:
		c.Close()
		t.Log("Go's own UDP sockets work here: TestSockets used them")
	case fallbackFor(err):
		t.Logf("Go's UDP sockets are refused here (%v): TestSockets used the fallback", err)
	default:
		t.Fatalf("Go's UDP socket failed for another reason: %v", err)
	}
}
