// Package netsim is the bad network a game developer tests against without
// OS tools: loss, latency, jitter, duplication, reordering and a bandwidth
// bottleneck, applied to the datagrams of one socket in both directions,
// below DTLS (the handshake, its retransmissions and SCTP see what a real
// network would give them). A Link holds the settings; Wrap and WrapConn
// put it in front of a socket. While a link is off, a datagram costs one
// atomic load more than without it.
package netsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Settings describe the simulated link, each direction alike.
type Settings struct {
	Loss      float64       // share of datagrams dropped (0 … 1)
	Latency   time.Duration // added to every datagram (0 … MaxLatency)
	Jitter    time.Duration // the latency varies by up to ± this (0 … MaxLatency)
	Duplicate float64       // share of datagrams delivered twice
	// Reorder is the share of datagrams held back an extra ReorderHold
	// plus half the latency, so that the ones after them overtake them.
	Reorder float64
	// BandwidthKbps is a bottleneck of this many kilobits per second
	// (0: none). Datagrams queue behind it, as at a real link; once
	// BottleneckQueue worth of sending time is queued, new ones are dropped.
	BandwidthKbps int
}

// Bounds.
const (
	MaxLatency       = 10 * time.Second
	MinBandwidthKbps = 8
	MaxBandwidthKbps = 10_000_000
	ReorderHold      = 10 * time.Millisecond
	// BottleneckQueue is how much sending time a bandwidth bottleneck
	// queues before it drops: a quarter of a second, as a home router's
	// buffer holds.
	BottleneckQueue = 250 * time.Millisecond
)

// ErrBadSettings wraps every refusal of Validate and Parse.
var ErrBadSettings = errors.New("invalid network simulation")

// Off reports whether s simulates nothing.
func (s Settings) Off() bool { return s == Settings{} }

// Validate names the first setting out of range.
func (s Settings) Validate() error {
	share := func(name string, v float64) error {
		if v < 0 || v > 1 || v != v {
			return fmt.Errorf("%w: %s must be between 0.0 and 1.0, got %v", ErrBadSettings, name, v)
		}
		return nil
	}
	if err := share("loss", s.Loss); err != nil {
		return err
	}
	if err := share("duplicate", s.Duplicate); err != nil {
		return err
	}
	if err := share("reorder", s.Reorder); err != nil {
		return err
	}
	if s.Latency < 0 || s.Latency > MaxLatency {
		return fmt.Errorf("%w: latency_ms must be between 0 and %d, got %d", ErrBadSettings, MaxLatency.Milliseconds(), s.Latency.Milliseconds())
	}
	if s.Jitter < 0 || s.Jitter > MaxLatency {
		return fmt.Errorf("%w: jitter_ms must be between 0 and %d, got %d", ErrBadSettings, MaxLatency.Milliseconds(), s.Jitter.Milliseconds())
	}
	if s.BandwidthKbps != 0 && (s.BandwidthKbps < MinBandwidthKbps || s.BandwidthKbps > MaxBandwidthKbps) {
		return fmt.Errorf("%w: bandwidth_kbps must be 0 (no limit) or between %d and %d, got %d", ErrBadSettings, MinBandwidthKbps, MaxBandwidthKbps, s.BandwidthKbps)
	}
	return nil
}

// String is the settings in Parse's form.
func (s Settings) String() string {
	if s.Off() {
		return "off"
	}
	return fmt.Sprintf("loss=%g,latency=%d,jitter=%d,duplicate=%g,reorder=%g,bandwidth=%d",
		s.Loss, s.Latency.Milliseconds(), s.Jitter.Milliseconds(), s.Duplicate, s.Reorder, s.BandwidthKbps)
}

// Parse reads "loss=0.05,latency=80,jitter=20,duplicate=0.01,reorder=0.02,bandwidth=512"
// (any subset; times in milliseconds, bandwidth in kbit/s), the form of the
// GODTLS_SIMULATE environment variable.
func Parse(text string) (Settings, error) {
	var s Settings
	for _, field := range strings.Split(text, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return Settings{}, fmt.Errorf("%w: %q is not key=value", ErrBadSettings, field)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		num, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return Settings{}, fmt.Errorf("%w: %s=%q is not a number", ErrBadSettings, key, value)
		}
		switch key {
		case "loss":
			s.Loss = num
		case "latency":
			s.Latency = time.Duration(num * float64(time.Millisecond))
		case "jitter":
			s.Jitter = time.Duration(num * float64(time.Millisecond))
		case "duplicate":
			s.Duplicate = num
		case "reorder":
			s.Reorder = num
		case "bandwidth":
			s.BandwidthKbps = int(num)
		default:
			return Settings{}, fmt.Errorf("%w: unknown setting %q (loss, latency, jitter, duplicate, reorder, bandwidth)", ErrBadSettings, key)
		}
	}
	return s, s.Validate()
}
