package multiplayer

import (
	"sync"
	"testing"
	"time"
)

// endingCarrier is a carrier whose other side sends one record and closes
// at the moment the session looks: its first Receive finds nothing, and
// by the time the session waits, the record is queued and the
// connection is closed, both signalled at once.
type endingCarrier struct {
	mu       sync.Mutex
	receives int
	last     []byte
	signal   chan struct{}
	done     chan struct{}
}

func newEndingCarrier(last []byte) *endingCarrier {
	c := &endingCarrier{last: last, signal: make(chan struct{}, 1), done: make(chan struct{})}
	c.signal <- struct{}{}
	close(c.done)
	return c
}

func (c *endingCarrier) Send([]byte) error { return nil }
func (c *endingCarrier) Receive() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receives++
	if c.receives == 1 || c.last == nil {
		return nil, false
	}
	rec := c.last
	c.last = nil
	return rec, true
}
func (c *endingCarrier) Signal() <-chan struct{} { return c.signal }
func (c *endingCarrier) Done() <-chan struct{}   { return c.done }
func (c *endingCarrier) MaxPayload() int         { return 1200 }
func (c *endingCarrier) Close()                  {}

// A goodbye that arrives with the connection's end, while the client
// measures the round trip, gives the session its reason (a server that
// turns the client away says why just before it closes); it is not lost
// to "the connection closed during setup". Each try has the same odds
// as a coin (which of two ready channels a select takes), so 40 tries
// would all pass by luck once in 2^40.
func TestGoodbyeWithTheEndDuringSetup(t *testing.T) {
	for try := 0; try < 40; try++ {
		var reason string
		s := newSession(newShared(Options{}, 2), newEndingCarrier(byeRecord("the server is full")), false,
			func(_ *session, r string) { reason = r })
		_, err := s.measureRTT(time.Now().Add(2 * time.Second))
		if err == nil || err.Error() != "the server is full" || reason != "the server is full" {
			t.Fatalf("try %d: measureRTT returned %v, the session ended with %q; want the server's reason", try, err, reason)
		}
	}
}
