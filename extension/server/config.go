// Package server is the DTLS engine behind GoDTLSServer: one UDP socket, its
// own demultiplexer, one pion/dtls v2 handshake per remote address on its own
// goroutines, bounded queues towards the caller, and events the caller drains
// on its own thread. Nothing here calls into Godot.
package server

import (
	"fmt"
	"time"

	"godtls/extension/wire"
)

// Config holds the limits of a server. The zero value of a field means its
// default; Validate says which values are refused.
type Config struct {
	// MaxPeers caps connected peers plus handshakes whose client has proven
	// it owns its address (echoed its cookie).
	MaxPeers int
	// MaxPeersPerIP caps the same per source IP, so one host cannot fill
	// MaxPeers. NoLimit turns it off.
	MaxPeersPerIP int
	// MaxPendingHandshakes caps handshakes whose client has not yet echoed
	// its cookie: the pool a spoofed flood lands in. These are the only
	// handshakes a newcomer may evict.
	MaxPendingHandshakes int
	// MaxPendingPerIP caps the same per source IP.
	MaxPendingPerIP int
	// HandshakeTimeout aborts a handshake that has not finished.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connected peer silent for longer; 0 turns it off.
	IdleTimeout time.Duration
	// MTU is the largest datagram the server sends (DTLS record included).
	MTU int
	// RecvQueue is each peer's receive queue, in packets; RecvQueueBytes the
	// same in bytes.
	RecvQueue      int
	RecvQueueBytes int
	// EventQueue is the number of undrained events kept.
	EventQueue int
	// DisableCBCFallback offers only ChaCha20-Poly1305 suites.
	DisableCBCFallback bool
	// PeerByteRate caps the bytes per second one connected peer's datagrams
	// may bring (a burst of half a second's worth passes at once); what is
	// over it is dropped before decryption. NoLimit turns it off.
	PeerByteRate int
}

// NoLimit turns a per-IP cap off.
const NoLimit = -1

// Defaults and bounds.
const (
	DefaultMaxPeers             = 4096
	DefaultMaxPeersPerIP        = 512
	DefaultMaxPendingHandshakes = 1024
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultMTU                  = 1400
	DefaultRecvQueue            = 1024
	DefaultRecvQueueBytes       = 1 << 20
	DefaultEventQueue           = 4096
	DefaultPeerByteRate         = 2 << 20 // 16 Mbit/s: far above a game's upstream per player
	MinPeerByteRate             = 16 << 10
	MinMTU                      = 256
	// MaxMTU is what pion/dtls v2 can read in one datagram: a larger MTU
	// would let packets through Send that the other side's pion drops.
	MaxMTU = wire.MaxDatagram
	// MaxTimeout bounds both timeouts (one day).
	MaxTimeout = 24 * time.Hour
)

// Validate reports the first value that is out of range. Zero values are
// valid (they mean the default).
func (c Config) Validate() error {
	switch {
	case c.MaxPeers < 0:
		return fmt.Errorf("%w: max_peers must be at least 1, got %d", ErrBadConfig, c.MaxPeers)
	case c.MaxPeersPerIP < NoLimit:
		return fmt.Errorf("%w: max_peers_per_ip must be at least 1 (0 turns it off), got %d", ErrBadConfig, c.MaxPeersPerIP)
	case c.MaxPendingHandshakes < 0:
		return fmt.Errorf("%w: max_pending_handshakes must be at least 1, got %d", ErrBadConfig, c.MaxPendingHandshakes)
	case c.MaxPendingPerIP < 0:
		return fmt.Errorf("%w: max_pending_per_ip must be at least 1, got %d", ErrBadConfig, c.MaxPendingPerIP)
	case c.HandshakeTimeout < 0 || c.HandshakeTimeout > MaxTimeout:
		return fmt.Errorf("%w: handshake_timeout must be between 0 and %v, got %v", ErrBadConfig, MaxTimeout, c.HandshakeTimeout)
	case c.IdleTimeout < 0 || c.IdleTimeout > MaxTimeout:
		return fmt.Errorf("%w: idle_timeout must be between 0 (off) and %v, got %v", ErrBadConfig, MaxTimeout, c.IdleTimeout)
	case c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU):
		return fmt.Errorf("%w: mtu must be between %d and %d, got %d", ErrBadConfig, MinMTU, MaxMTU, c.MTU)
	case c.PeerByteRate < NoLimit || (c.PeerByteRate > 0 && c.PeerByteRate < MinPeerByteRate):
		return fmt.Errorf("%w: max_peer_bytes_per_second must be at least %d (0 turns it off), got %d", ErrBadConfig, MinPeerByteRate, c.PeerByteRate)
	case c.RecvQueue < 0 || c.RecvQueueBytes < 0 || c.EventQueue < 0:
		return fmt.Errorf("%w: queue sizes must not be negative", ErrBadConfig)
	}
	return nil
}

// withDefaults fills zero values. Callers validate first.
func (c Config) withDefaults() Config {
	if c.MaxPeers <= 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.MaxPeersPerIP == 0 {
		c.MaxPeersPerIP = DefaultMaxPeersPerIP
	}
	if c.MaxPendingHandshakes <= 0 {
		c.MaxPendingHandshakes = DefaultMaxPendingHandshakes
	}
	if c.MaxPendingPerIP <= 0 {
		c.MaxPendingPerIP = max(4, c.MaxPendingHandshakes/8)
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MTU <= 0 {
		c.MTU = DefaultMTU
	}
	if c.RecvQueue <= 0 {
		c.RecvQueue = DefaultRecvQueue
	}
	if c.RecvQueueBytes <= 0 {
		c.RecvQueueBytes = DefaultRecvQueueBytes
	}
	if c.EventQueue <= 0 {
		c.EventQueue = DefaultEventQueue
	}
	if c.PeerByteRate == 0 {
		c.PeerByteRate = DefaultPeerByteRate
	}
	return c
}

// perIPPeerCap is MaxPeersPerIP with NoLimit as "unbounded".
func (c Config) perIPPeerCap() int {
	if c.MaxPeersPerIP == NoLimit {
		return int(^uint(0) >> 1)
	}
	return c.MaxPeersPerIP
}
