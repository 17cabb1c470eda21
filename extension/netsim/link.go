package netsim

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Link holds the settings of one socket's simulation; they may change at
// any time, from any goroutine. Its counters add up both directions.
type Link struct {
	on atomic.Pointer[Settings] // nil: off

	rngMu sync.Mutex
	rng   *rand.Rand

	Lost       atomic.Uint64 // dropped by Loss
	Duplicated atomic.Uint64
	Overflowed atomic.Uint64 // dropped at a full bottleneck or queue
}

// NewLink returns a link that is off.
func NewLink() *Link {
	return &Link{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Set turns the simulation on with s, or off with the zero Settings.
func (l *Link) Set(s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Off() {
		l.on.Store(nil)
	} else {
		l.on.Store(&s)
	}
	return nil
}

// Settings is what the link simulates now.
func (l *Link) Settings() Settings {
	if s := l.on.Load(); s != nil {
		return *s
	}
	return Settings{}
}

// fate draws one datagram's fate under s: lost, duplicated, and the delay
// of each copy.
func (l *Link) fate(s *Settings) (lost bool, delays []float64) {
	l.rngMu.Lock()
	defer l.rngMu.Unlock()
	if l.rng.Float64() < s.Loss {
		return true, nil
	}
	copies := 1
	if s.Duplicate > 0 && l.rng.Float64() < s.Duplicate {
		copies = 2
	}
	for range copies {
		d := float64(s.Latency)
		if s.Jitter > 0 {
			d += float64(s.Jitter) * (2*l.rng.Float64() - 1)
		}
		if s.Reorder > 0 && l.rng.Float64() < s.Reorder {
			d += float64(ReorderHold) + float64(s.Latency)/2
		}
		delays = append(delays, max(d, 0))
	}
	return false, delays
}
