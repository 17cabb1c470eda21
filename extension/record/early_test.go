package record

import (
	"testing"

	"godtls/extension/wire"
)

// Early holds the records that authenticate, each sequence number once
// (also twice in one datagram), within its bounds, which an alert is not
// held back by; what it held opens through the record layer in the order
// it came.
func TestEarlyHoldsEachAuthenticRecordOnce(t *testing.T) {
	server, client := pair(t)
	e := NewEarly(3, 1<<20)
	a := seal(t, server, wire.ContentApplicationData, "a")
	b := seal(t, server, wire.ContentApplicationData, "b")
	forged := append([]byte(nil), seal(t, server, wire.ContentApplicationData, "f")...)
	forged[len(forged)-1] ^= 1

	if d, full := e.Hold(append(append([]byte(nil), a...), a...), client.suite); d.Replayed != 1 || full != 0 {
		t.Fatalf("a record twice in one datagram: %+v, %d over the bounds", d, full)
	}
	if d, _ := e.Hold(a, client.suite); d.Replayed != 1 {
		t.Fatalf("a record held before: %+v", d)
	}
	if d, _ := e.Hold(forged, client.suite); d.Forged != 1 {
		t.Fatalf("a forged record: %+v", d)
	}
	if d, full := e.Hold(b, client.suite); d.Total() != 0 || full != 0 {
		t.Fatalf("a fresh record: %+v, %d over the bounds", d, full)
	}
	c := seal(t, server, wire.ContentApplicationData, "c")
	d := seal(t, server, wire.ContentApplicationData, "d")
	if _, full := e.Hold(append(append([]byte(nil), c...), d...), client.suite); full != 1 {
		t.Fatalf("%d records over the bounds where three fit of four, want 1", full)
	}
	if drops, full := e.Hold(d, client.suite); drops.Replayed != 0 || full != 1 {
		t.Fatalf("the record refused before, again: %+v, %d over the bounds (it must not have been marked)", drops, full)
	}
	closing, _ := server.SealAlert(nil, LevelWarning, CloseNotify)
	if _, full := e.Hold(closing, client.suite); full != 0 {
		t.Fatal("a close_notify was refused at the data's bounds")
	}
	var g got
	for _, h := range e.Take() {
		if drops := client.Open(h, &g); drops.Total() != 0 {
			t.Fatalf("held records dropped on opening: %+v", drops)
		}
	}
	if len(g.data) != 3 || string(g.data[0]) != "a" || string(g.data[1]) != "b" || string(g.data[2]) != "c" || len(g.alerts) != 1 {
		t.Fatalf("opened %q and %d alerts, want a, b, c and the close_notify", g.data, len(g.alerts))
	}
	if again := e.Take(); len(again) != 0 {
		t.Fatalf("Take left %d datagrams held", len(again))
	}
}

// What Early holds from any datagram is only records the suite
// authenticates, each once: opened by a fresh record layer, nothing the
// fuzzer made up is accepted.
func FuzzEarlyHold(f *testing.F) {
	server, client := pair(f)
	seed := seal(f, server, wire.ContentApplicationData, "seed")
	f.Add(seed)
	f.Add(append(append([]byte(nil), seed...), seed...))
	f.Add(append(seal(f, server, wire.ContentAlert, "\x01\x00"), 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0))
	f.Add([]byte{20, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 200, 0, 1, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := NewEarly(1<<10, 1<<20)
		e.Hold(b, client.suite)
		e.Hold(b, client.suite)
		_, reader := pair(t)
		var g got
		for _, h := range e.Take() {
			if d := reader.Open(h, &g); d.Total() != 0 {
				t.Fatalf("a held record was dropped on opening (%+v): %x", d, b)
			}
		}
		for _, d := range g.data {
			if string(d) != "seed" {
				t.Fatalf("a record the fuzzer made up was held: %x", b)
			}
		}
		if len(g.data) > 1 || len(g.alerts) > 1 || g.handshakes > 0 {
			t.Fatalf("held: %d data, %d alerts, %d handshake records from %x", len(g.data), len(g.alerts), g.handshakes, b)
		}
	})
}
