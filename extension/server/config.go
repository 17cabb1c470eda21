// Package server is the DTLS engine behind GoDTLSServer: one UDP socket, its
// own demultiplexer, one pion/dtls v2 handshake per remote address on its own
// goroutine, bounded queues towards the caller, and events the caller drains
// on its own thread. Nothing here calls into Godot.
package server

import "time"

// Config holds the limits of a server. The zero value of a field means its
// default.
type Config struct {
	// MaxPeers caps connected peers plus handshakes in progress.
	MaxPeers int
	// MaxPendingHandshakes caps handshakes in progress.
	MaxPendingHandshakes int
	// MaxPendingPerIP caps handshakes in progress from one source IP, so one
	// host spraying ClientHellos from many ports cannot take every slot.
	MaxPendingPerIP int
	// HandshakeTimeout aborts a handshake that has not finished.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connected peer silent for longer; 0 turns it off.
	IdleTimeout time.Duration
	// MTU is the largest datagram the server sends (DTLS record included).
	MTU int
	// RecvQueue is each peer's receive queue, in packets.
	RecvQueue int
	// EventQueue is the number of undrained events kept.
	EventQueue int
	// DisableCBCFallback offers only ChaCha20-Poly1305 suites.
	DisableCBCFallback bool
}

// Defaults.
const (
	DefaultMaxPeers             = 4096
	DefaultMaxPendingHandshakes = 128
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultMTU                  = 1400
	DefaultRecvQueue            = 1024
	DefaultEventQueue           = 4096
	MinMTU                      = 256
	MaxMTU                      = 16384
)

func (c Config) withDefaults() Config {
	if c.MaxPeers <= 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.MaxPendingHandshakes <= 0 {
		c.MaxPendingHandshakes = DefaultMaxPendingHandshakes
	}
	if c.MaxPendingPerIP <= 0 {
		c.MaxPendingPerIP = max(4, c.MaxPendingHandshakes/4)
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout < 0 {
		c.IdleTimeout = 0
	}
	if c.MTU <= 0 {
		c.MTU = DefaultMTU
	}
	c.MTU = min(max(c.MTU, MinMTU), MaxMTU)
	if c.RecvQueue <= 0 {
		c.RecvQueue = DefaultRecvQueue
	}
	if c.EventQueue <= 0 {
		c.EventQueue = DefaultEventQueue
	}
	return c
}
