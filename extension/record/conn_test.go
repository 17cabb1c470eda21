package record

import (
	"bytes"
	"testing"

	"godtls/extension/suites"
	"godtls/extension/wire"
)

func pair(t testing.TB) (server, client *Conn) {
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	s, c := suites.New(suites.ECDHEECDSAChaCha20Poly1305), suites.New(suites.ECDHEECDSAChaCha20Poly1305)
	if err := s.Init(master, cr, sr, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Init(master, cr, sr, true); err != nil {
		t.Fatal(err)
	}
	return New(s), New(c)
}

type got struct {
	data       [][]byte
	alerts     [][2]byte
	handshakes int
}

func (g *got) Data(p []byte)      { g.data = append(g.data, append([]byte(nil), p...)) }
func (g *got) Alert(l, d byte)    { g.alerts = append(g.alerts, [2]byte{l, d}) }
func (g *got) Handshake(w []byte) { g.handshakes++ }

func seal(t testing.TB, c *Conn, ct byte, p string) []byte {
	t.Helper()
	b, err := c.Seal(nil, ct, []byte(p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenAndReplay(t *testing.T) {
	server, client := pair(t)
	var recs [][]byte
	for i := 0; i < 100; i++ {
		recs = append(recs, seal(t, server, wire.ContentApplicationData, string(rune('a'+i%26))))
	}
	var g got
	// two records in one datagram, then the rest one by one, reordered
	d := client.Open(append(append([]byte(nil), recs[0]...), recs[1]...), &g)
	if d.Total() != 0 || len(g.data) != 2 {
		t.Fatalf("two-record datagram: %+v, %d delivered", d, len(g.data))
	}
	for i := 99; i >= 2; i-- {
		client.Open(append([]byte(nil), recs[i]...), &g)
	}
	// 99..36 fit the 64-record window; 35..2 are older than it
	if len(g.data) != 2+64 {
		t.Fatalf("%d delivered, want %d", len(g.data), 2+64)
	}
	// every record replayed is dropped and counted
	replayed := 0
	for _, r := range recs {
		replayed += client.Open(append([]byte(nil), r...), &g).Replayed
	}
	if replayed != 100 || len(g.data) != 66 {
		t.Fatalf("replays: %d counted of 100, %d delivered", replayed, len(g.data))
	}
}

// A forged record with a high sequence number fails authentication and
// leaves the window where it was: the genuine records after it still open.
func TestForgedRecordMovesNothing(t *testing.T) {
	server, client := pair(t)
	first := seal(t, server, wire.ContentApplicationData, "one")
	forged := append([]byte(nil), first...)
	forged[5], forged[10] = 0xff, 0xc8 // sequence 2^47+200
	forged[len(forged)-1] ^= 1
	var g got
	if d := client.Open(forged, &g); d.Forged != 1 {
		t.Fatalf("forged record: %+v", d)
	}
	client.Open(first, &g)
	client.Open(seal(t, server, wire.ContentApplicationData, "two"), &g)
	if len(g.data) != 2 {
		t.Fatalf("%d genuine records delivered after a forged one, want 2", len(g.data))
	}
}

func TestAlertsAndHandshakeRecords(t *testing.T) {
	server, client := pair(t)
	var g got
	a, _ := server.SealAlert(nil, LevelWarning, CloseNotify)
	client.Open(a, &g)
	if len(g.alerts) != 1 || g.alerts[0] != [2]byte{LevelWarning, CloseNotify} {
		t.Fatalf("alerts %v", g.alerts)
	}
	// an alert of three bytes is not an alert
	if d := client.Open(seal(t, server, wire.ContentAlert, "xyz"), &g); d.Unexpected != 1 {
		t.Fatalf("long alert: %+v", d)
	}
	// epoch-1 handshake records are authenticated like the rest
	hs := seal(t, server, wire.ContentHandshake, "finished")
	forged := append([]byte(nil), hs...)
	forged[len(forged)-1] ^= 1
	client.Open(forged, &g)
	client.Open(hs, &g)
	if g.handshakes != 1 {
		t.Fatalf("%d handshake records handed over, want the genuine one", g.handshakes)
	}
	// ChangeCipherSpec and other epochs are dropped
	ccs := []byte{20, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 200, 0, 1, 1}
	if d := client.Open(ccs, &g); d.Unexpected != 1 {
		t.Fatalf("ccs: %+v", d)
	}
}

func TestWindow(t *testing.T) {
	var w Window
	for _, s := range []uint64{5, 3, 70, 7} {
		if !w.Fresh(s) {
			t.Fatalf("%d not fresh", s)
		}
		w.Mark(s)
	}
	for _, s := range []uint64{5, 3, 70, 7, 6} {
		if w.Fresh(s) {
			t.Fatalf("%d fresh after being marked or too old", s)
		}
	}
	if !w.Fresh(8) || !w.Fresh(69) || !w.Fresh(1<<47) {
		t.Fatal("unmarked numbers in or ahead of the window refused")
	}
}

// FuzzOpen: datagrams from the network never panic the decoder; with keys
// the fuzzer does not know, the only records it gets accepted are the
// genuine seeds it was given, each at most once (the window drops the
// replays).
func FuzzOpen(f *testing.F) {
	server, client := pair(f)
	f.Add(seal(f, server, wire.ContentApplicationData, "seed"))
	f.Add(append(seal(f, server, wire.ContentAlert, "\x01\x00"), 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0))
	f.Add([]byte{20, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 200, 0, 1, 1})
	f.Add([]byte{})
	var g got
	f.Fuzz(func(t *testing.T, b []byte) {
		client.Open(b, &g)
		for _, d := range g.data {
			if string(d) != "seed" {
				t.Fatalf("a record the fuzzer made up was accepted: %x", b)
			}
		}
		for _, a := range g.alerts {
			if a != [2]byte{1, 0} {
				t.Fatalf("an alert the fuzzer made up was accepted: %x", b)
			}
		}
		if g.handshakes > 0 {
			t.Fatalf("a handshake record the fuzzer made up was accepted: %x", b)
		}
		if len(g.data) > 1 || len(g.alerts) > 1 {
			t.Fatalf("a genuine record was accepted twice")
		}
	})
}
