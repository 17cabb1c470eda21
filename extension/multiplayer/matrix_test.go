package multiplayer

// The post-handshake matrix against a multiplayer session, both ways: every
// content type × epoch × body × sequence number forged from the client's
// exact ip:port to the server, and from the server's to the client. The
// session must keep delivering reliable messages both ways and neither end
// may report a disconnection.

import (
	"fmt"
	"net/netip"
	"testing"

	"godtls/extension/internal/forge"
)

func TestForgedRecordMatrixMultiplayer(t *testing.T) {
	fs := forge.NeedSender(t)
	m := startServer(t, 4, Options{})
	c := dial(t, port(m), Options{})
	waitEvent(t, c, PeerConnected)
	waitEvent(t, m, PeerConnected)
	loop := netip.MustParseAddr("127.0.0.1")
	serverAt := netip.AddrPortFrom(loop, uint16(port(m)))
	clientAt := netip.AddrPortFrom(loop, c.dtls.LocalAddr().Port())

	roundTrip := func(what string) error {
		if err := c.Send(0, Reliable, []byte(what)); err != nil {
			return err
		}
		if p := waitPacket(t, m); string(p.Data) != what {
			return fmt.Errorf("server got %q, want %q", p.Data, what)
		}
		if err := m.Send(c.ID(), 0, Reliable, []byte(what)); err != nil {
			return err
		}
		if p := waitPacket(t, c); string(p.Data) != what {
			return fmt.Errorf("client got %q, want %q", p.Data, what)
		}
		return nil
	}
	// A reliable round trip costs a few milliseconds of the test's polling:
	// the session is checked after every 4 datagrams (a datagram that ends
	// or deafens a session leaves it so; the failure names the run).
	const every = 4
	i := 0
	forge.Matrix(3, func(fc forge.Case) bool {
		if err := fs.Send(clientAt, serverAt, fc.Bytes); err != nil {
			t.Fatal(err)
		}
		if err := fs.Send(serverAt, clientAt, fc.Bytes); err != nil {
			t.Fatal(err)
		}
		i++
		if i%every != 0 && i != forge.MatrixSize() {
			return true
		}
		if err := roundTrip(fmt.Sprintf("after case %d", i)); err != nil || c.Status() != Connected {
			t.Errorf("after %q or the %d cases before it: status %d, %v", fc.Name, every-1, c.Status(), err)
			return false
		}
		return true
	})
	for _, src := range []eventSource{m, c} {
		if ev, ok := src.NextEvent(); ok {
			t.Fatalf("event %+v after the forged records", ev)
		}
	}
	st := m.DTLS().Stats()
	if st.PostHandshakeDropped == 0 {
		t.Fatal("no record was dropped after the handshake")
	}
	t.Logf("%d forged datagrams each way: still connected; server: %d records dropped before pion, %d failed authentication",
		forge.MatrixSize(), st.PostHandshakeDropped, st.AuthFailed)
}
