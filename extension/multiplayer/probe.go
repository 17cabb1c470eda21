package multiplayer

import (
	"sync"
	"time"
)

// probe keeps the pings of one session: the round trip (smoothed as TCP
// does, RFC 6298) and how many of the last pings got no answer.
type probe struct {
	mu       sync.Mutex
	next     uint32
	sentAt   [probeWindow]int64
	answered [probeWindow]bool
	rtts     [probeWindow]time.Duration
	lastSent int64
	srtt     time.Duration
	last     time.Duration
	samples  int
}

// probeWindow is how many of the last pings loss is counted over: 32 s at
// one ping a second. Every session holds the window (two times and a flag
// per ping): with 32 the session measured 864 bytes (Go's 896-byte size
// class), with 64 it measured 1,408, half a KiB more for every idle player
// (2026-12-04).
const probeWindow = 32

// sent numbers a new ping and records when it left.
func (p *probe) sent() (uint32, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seq := p.next
	p.next++
	now := time.Now().UnixNano()
	p.sentAt[seq%probeWindow], p.answered[seq%probeWindow] = now, false
	p.lastSent = now
	return seq, now
}

// answer records a pong; one that does not match a ping we sent (stale or
// forged inside the session) is ignored.
func (p *probe) answer(seq uint32, at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := seq % probeWindow
	if p.sentAt[i] != at || p.answered[i] {
		return
	}
	p.answered[i] = true
	rtt := time.Duration(time.Now().UnixNano() - at)
	p.rtts[i] = rtt
	p.last = rtt
	if p.samples == 0 {
		p.srtt = rtt
	} else {
		p.srtt = (7*p.srtt + rtt) / 8
	}
	p.samples++
}

func (p *probe) due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.UnixNano()-p.lastSent >= int64(pingInterval)
}

// anyAnswer is the RTT of the first answered ping.
func (p *probe) anyAnswer() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.samples > 0
}

// answerTo is the RTT of ping seq, once it is answered.
func (p *probe) answerTo(seq uint32) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := seq % probeWindow
	return p.rtts[i], p.answered[i] && p.next-seq <= probeWindow
}

// read returns the smoothed and last RTT and the loss among the window's
// pings old enough to have been answered.
func (p *probe) read() (srtt, last time.Duration, loss float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	grace := max(time.Second, 4*p.srtt)
	now := time.Now().UnixNano()
	considered, lost := 0, 0
	for i := range p.sentAt {
		if p.sentAt[i] == 0 || now-p.sentAt[i] < int64(grace) {
			continue
		}
		considered++
		if !p.answered[i] {
			lost++
		}
	}
	if considered > 0 {
		loss = float64(lost) / float64(considered)
	}
	return p.srtt, p.last, loss
}
