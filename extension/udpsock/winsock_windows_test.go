package udpsock

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestOwnSockets runs the fallback itself, which a real Windows never
// needs (Go's sockets work there) and Wine always does.
func TestOwnSockets(t *testing.T) {
	exercise(t, listenOwn, func(raddr *net.UDPAddr) (net.Conn, error) { return dialOwn(nil, raddr) })
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

// TestReceiveTimeoutIsHonoured checks what Close and deadlines rely on:
// a blocking receive on an idle socket comes back every pollInterval
// (SO_RCVTIMEO). Where it did not, a read could block past Close and a
// process wait for it at exit. It times each raw receive and reports the
// slowest.
func TestReceiveTimeoutIsHonoured(t *testing.T) {
	s, err := open(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var slowest time.Duration
	late := 0
	buf := make([]byte, 64)
	for i := 0; i < 40; i++ {
		var rsa syscall.RawSockaddrAny
		rsaLen := int32(unsafe.Sizeof(rsa))
		var n, flags uint32
		wb := syscall.WSABuf{Len: uint32(len(buf)), Buf: &buf[0]}
		began := time.Now()
		err := syscall.WSARecvFrom(s.fd, &wb, 1, &n, &flags, &rsa, &rsaLen, nil, nil)
		took := time.Since(began)
		if !errors.Is(err, wsaeTimedOut) {
			t.Fatalf("receive %d on an idle socket: %v after %v, want the poll tick's timeout", i, err, took)
		}
		slowest = max(slowest, took)
		if took > 4*pollInterval {
			late++
		}
	}
	t.Logf("40 receives on an idle socket timed out; the slowest after %v (poll interval %v)", slowest, pollInterval)
	if late > 0 {
		t.Errorf("%d of 40 receives came back later than 4 poll intervals", late)
	}
}

// TestCloseEndsABlockedRead closes sockets while a read is blocked in
// them, many times: every read must end with net.ErrClosed within a few
// poll intervals, and every Close must come back.
func TestCloseEndsABlockedRead(t *testing.T) {
	var slowest time.Duration
	for i := 0; i < 50; i++ {
		s, err := open(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := s.ReadFromUDPAddrPort(make([]byte, 64))
			done <- err
		}()
		time.Sleep(time.Duration(i%7) * 10 * time.Millisecond) // anywhere in a poll tick
		began := time.Now()
		_ = s.Close()
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("close %d: the read ended with %v, want net.ErrClosed", i, err)
			}
		case <-time.After(10 * pollInterval):
			t.Fatalf("close %d: the read was still blocked %v after Close", i, 10*pollInterval)
		}
		slowest = max(slowest, time.Since(began))
	}
	t.Logf("50 closes ended their blocked reads; the slowest after %v", slowest)
}
