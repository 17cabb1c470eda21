package server

// The tools of the attack tests, which run attacks as a hostile client on
// loopback would: raw datagrams from spoofed sources (other 127.0.0.x
// addresses, or a raw socket forging the exact ip:port of a connected
// player). The attacks themselves are in forged_records_test.go,
// handshake_attack_test.go, limits_test.go, flood_test.go and
// panic_test.go.

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testsock"
	"godtls/extension/wire"
)

// ---- crafting ---------------------------------------------------------------

// withRandom returns a copy of a captured ClientHello datagram with another
// random: to the server, a different client.
func withRandom(hello []byte, r byte) []byte {
	out := append([]byte(nil), hello...)
	start := wire.RecordHeaderLen + wire.HandshakeHeaderLen + 2
	for i := 0; i < wire.RandomLen; i++ {
		out[start+i] = r ^ byte(i)
	}
	return out
}

// withCookie returns a copy of a cookieless ClientHello with a cookie put in
// (message_seq 1, lengths fixed up), as a client answering a
// HelloVerifyRequest sends it.
func withCookie(hello, cookie []byte) []byte {
	rec := wire.RecordHeaderLen
	hs := rec + wire.HandshakeHeaderLen
	sidAt := hs + 2 + wire.RandomLen
	cookieAt := sidAt + 1 + int(hello[sidAt])
	out := append([]byte(nil), hello[:cookieAt]...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, hello[cookieAt+1+int(hello[cookieAt]):]...)
	bodyLen := len(out) - hs
	put24 := func(b []byte, v int) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }
	put24(out[rec+1:], bodyLen)
	put24(out[rec+9:], bodyLen)
	binary.BigEndian.PutUint16(out[rec+4:], 1) // message_seq
	binary.BigEndian.PutUint16(out[11:], uint16(len(out)-rec))
	binary.BigEndian.PutUint64(out[3:], 1) // epoch 0, record sequence 1
	return out
}

func epochZeroRecord(ct byte, body ...byte) []byte {
	rec := []byte{ct, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0}
	binary.BigEndian.PutUint16(rec[11:], uint16(len(body)))
	return append(rec, body...)
}

// rawSender forges UDP datagrams with any source address (root only).
type rawSender struct{ *forge.Sender }

func newRawSender(t testing.TB) *rawSender {
	t.Helper()
	return &rawSender{forge.NeedSender(t)}
}

func (r *rawSender) send(t testing.TB, from, to netip.AddrPort, payload []byte) {
	t.Helper()
	if err := r.Send(from, to, payload); err != nil {
		t.Fatalf("raw send: %v", err)
	}
}

// helloCounter wraps a client's socket and counts the ClientHello datagrams
// it sends. A client that joins with exactly 2 (the first and the one with
// the cookie) never waited for a retransmission timer: the structural form
// of "got in at once", independent of how loaded the machine is.
type helloCounter struct {
	net.Conn
	hellos atomic.Int32
}

func (h *helloCounter) Write(b []byte) (int, error) {
	if wire.Classify(b).Kind == wire.ClientHello {
		h.hellos.Add(1)
	}
	return h.Conn.Write(b)
}

// dialCounting connects a pion client from local and reports how many
// ClientHellos it needed.
func dialCounting(s *Server, cfg *dtls.Config, local string) (*dtls.Conn, int, error) {
	udp, err := testsock.Dial(local, serverAddr(s))
	if err != nil {
		return nil, 0, err
	}
	hc := &helloCounter{Conn: udp}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := dtls.ClientWithContext(ctx, hc, cfg)
	if err != nil {
		_ = udp.Close()
		return nil, int(hc.hellos.Load()), err
	}
	udpMu.Lock()
	udpConns[c] = udp
	udpMu.Unlock()
	return c, int(hc.hellos.Load()), nil
}

// cookieFor plays the first half of a handshake from sock: it sends hello
// and returns the cookie of the HelloVerifyRequest that comes back.
func cookieFor(t testing.TB, sock net.PacketConn, s *Server, hello []byte) []byte {
	t.Helper()
	dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
	buf := make([]byte, 2048)
	for try := 0; try < 5; try++ {
		if _, err := sock.WriteTo(hello, dst); err != nil {
			t.Fatal(err)
		}
		_ = sock.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, _, err := sock.ReadFrom(buf)
			if err != nil {
				break
			}
			if ck, ok := wire.HelloVerifyCookie(buf[:n]); ok {
				return append([]byte(nil), ck...)
			}
		}
	}
	t.Fatal("no HelloVerifyRequest came back")
	return nil
}

func listenOn(t testing.TB, addr string) net.PacketConn {
	t.Helper()
	return testsock.Listen(t, addr)
}

func addrPort(t testing.TB, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
