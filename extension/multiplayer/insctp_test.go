package multiplayer

import "testing"

func TestInSCTPFollowsTheStreamsBytes(t *testing.T) {
	var l inSCTP
	for range 1000 {
		l.add(10)
	}
	if n := l.settle(10 * 1000); n != 1000 {
		t.Fatalf("%d messages held, want 1000", n)
	}
	if n := l.settle(10 * 300); n != 300 { // 700 acknowledged
		t.Fatalf("%d messages held after 700 acknowledged, want 300", n)
	}
	// acknowledged before it was logged: counted once, then forgotten
	l.add(10)
	if n := l.settle(10 * 300); n != 300 {
		t.Fatalf("%d messages held, want 300", n)
	}
	if n := l.settle(0); n != 0 || l.bytes != 0 || cap(l.sizes) > maxIdleLog {
		t.Fatalf("all acknowledged: %d held, %d bytes, room for %d kept", n, l.bytes, cap(l.sizes))
	}
	// the log does not grow with what has left it
	for range 100 {
		for range 100 {
			l.add(1)
		}
		l.settle(50)
	}
	if n := l.settle(50); n != 50 || cap(l.sizes) > 2048 { // 10,000 logged, at most 150 held at once
		t.Fatalf("%d held, log capacity %d", n, cap(l.sizes))
	}
}
