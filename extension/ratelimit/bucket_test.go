package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	var b Bucket
	t0 := time.Unix(1000, 0)
	// A fresh bucket holds half a second's worth.
	if !b.Take(50, 100, t0) {
		t.Fatal("the first half second's worth was refused")
	}
	if b.Take(1, 100, t0) {
		t.Fatal("more than the burst passed at once")
	}
	// It refills at the rate, up to the burst.
	if !b.Take(10, 100, t0.Add(100*time.Millisecond)) || b.Take(1, 100, t0.Add(100*time.Millisecond)) {
		t.Fatal("0.1 s at 100/s did not refill exactly 10")
	}
	if !b.Take(50, 100, t0.Add(time.Hour)) || b.Take(1, 100, t0.Add(time.Hour)) {
		t.Fatal("an hour's idleness filled more or less than the burst")
	}
	// What does not fit is not taken: a smaller take still passes.
	b = Bucket{}
	if b.Take(51, 100, t0) || !b.Take(50, 100, t0) {
		t.Fatal("a refused take used up tokens")
	}
	// A clock that goes back adds nothing.
	if b.Take(1, 100, t0.Add(-time.Second)) {
		t.Fatal("a clock going back refilled the bucket")
	}
}
