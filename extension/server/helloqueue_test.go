package server

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// The indexed admission queue against a plain slice doing the same thing:
// random pushes and removals from 12 IPs, and after each step the oldest
// entry, the count, the bytes and the per-IP counts agree.
func TestHelloQueueMatchesASlice(t *testing.T) {
	q := newHelloQueue()
	var model []*queuedHello
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1000, 0)
	for step := 0; step < 20000; step++ {
		if rng.IntN(3) > 0 || len(model) == 0 {
			ip := netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + rng.IntN(12))})
			e := &queuedHello{addr: netip.AddrPortFrom(ip, uint16(rng.IntN(4000))), data: make([]byte, rng.IntN(300)), at: t0.Add(time.Duration(step) * time.Millisecond)}
			if q.has(queueKey{e.addr, nil}) {
				continue
			}
			q.push(e)
			model = append(model, e)
		} else {
			i := rng.IntN(len(model))
			q.remove(model[i].key())
			model = append(model[:i], model[i+1:]...)
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: %d queued, want %d", step, q.len(), len(model))
		}
		bytes, perIP := 0, map[netip.Addr]int{}
		for _, e := range model {
			bytes += len(e.data)
			perIP[e.addr.Addr()]++
		}
		if q.bytes != bytes {
			t.Fatalf("step %d: %d bytes, want %d", step, q.bytes, bytes)
		}
		for ip, n := range perIP {
			if q.perIP(ip) != n {
				t.Fatalf("step %d: %v has %d, want %d", step, ip, q.perIP(ip), n)
			}
		}
		if len(model) > 0 && q.oldest() != model[0] {
			t.Fatalf("step %d: oldest %v, want %v", step, q.oldest().at, model[0].at)
		}
	}
}
