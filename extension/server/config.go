// Package server is the DTLS engine behind GoDTLSServer: one UDP socket, its
// own demultiplexer, one pion/dtls v2 handshake per remote address on its own
// goroutines, bounded queues towards the caller, and events the caller drains
// on its own thread. Nothing here calls into Godot.
package server

import (
	"time"

	"godtls/extension/limits"
	"godtls/extension/netsim"
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
	// HandshakeTimeout aborts a handshake that has not finished within it.
	// A client that echoed its cookie while the server was full waits for
	// room as long as it keeps retransmitting; its handshake gets the full
	// time from the last retransmission, or from the moment room freed.
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
	// Network simulates a bad network on the listening socket (package
	// netsim); nil: the server makes its own link, set as GODTLS_SIMULATE
	// says. Read by New only (SetConfig keeps the server's link); not used
	// in attach mode, whose socket is the caller's.
	Network *netsim.Link
	// PeerByteRate caps the bytes per second one connected peer's records
	// may bring (a burst of half a second's worth passes at once). A record
	// takes its size on the wire from it once it authenticates (on the
	// engine's record layer, or once pion opened it on its CBC fallback),
	// so a spoofer at the peer's address cannot spend it. What is over it
	// is dropped. NoLimit turns it off.
	PeerByteRate int
	// PeerPacketRate caps the records per second one connected peer may
	// send, taken as PeerByteRate is. Bytes do not bound packets: at the
	// byte budget, records of one byte (30 on the wire) would let one
	// player send 70,000 a second, and the game take up to its receive
	// queue's worth of them every frame, each a get_packet on its main
	// thread. NoLimit turns it off.
	PeerPacketRate int
}

// NoLimit turns a per-IP cap or a per-peer budget off.
const NoLimit = limits.NoLimit

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
	DefaultPeerPacketRate       = 10000 // a hundred times a 100 Hz client's; five times a bulk sender's at the byte budget in 1 KiB packets
	MinPeerPacketRate           = 100
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
	return limits.First(
		limits.AtLeast(ErrBadConfig, "max_peers", c.MaxPeers, 0),
		limits.AtLeast(ErrBadConfig, "max_peers_per_ip (NoLimit turns it off)", c.MaxPeersPerIP, NoLimit),
		limits.AtLeast(ErrBadConfig, "max_pending_handshakes", c.MaxPendingHandshakes, 0),
		limits.AtLeast(ErrBadConfig, "max_pending_per_ip", c.MaxPendingPerIP, 0),
		limits.Range(ErrBadConfig, "handshake_timeout", c.HandshakeTimeout, 0, MaxTimeout),
		limits.Range(ErrBadConfig, "idle_timeout (0 turns it off)", c.IdleTimeout, 0, MaxTimeout),
		limits.OrZero(c.MTU, limits.Range(ErrBadConfig, "mtu", c.MTU, MinMTU, MaxMTU)),
		limits.OrNoLimit(c.PeerByteRate, limits.AtLeast(ErrBadConfig, "max_peer_bytes_per_second (0 turns it off)", c.PeerByteRate, MinPeerByteRate)),
		limits.OrNoLimit(c.PeerPacketRate, limits.AtLeast(ErrBadConfig, "max_peer_packets_per_second (0 turns it off)", c.PeerPacketRate, MinPeerPacketRate)),
		limits.AtLeast(ErrBadConfig, "the receive queue", c.RecvQueue, 0),
		limits.AtLeast(ErrBadConfig, "the receive queue's bytes", c.RecvQueueBytes, 0),
		limits.AtLeast(ErrBadConfig, "the event queue", c.EventQueue, 0),
	)
}

// withDefaults fills zero values. Callers validate first.
func (c Config) withDefaults() Config {
	if c.Network == nil {
		c.Network = netsim.NewProcessLink()
	}
	limits.Default(&c.MaxPeers, DefaultMaxPeers)
	limits.Default(&c.MaxPeersPerIP, DefaultMaxPeersPerIP)
	limits.Default(&c.MaxPendingHandshakes, DefaultMaxPendingHandshakes)
	limits.Default(&c.MaxPendingPerIP, max(4, c.MaxPendingHandshakes/8))
	limits.Default(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	limits.Default(&c.MTU, DefaultMTU)
	limits.Default(&c.RecvQueue, DefaultRecvQueue)
	limits.Default(&c.RecvQueueBytes, DefaultRecvQueueBytes)
	limits.Default(&c.EventQueue, DefaultEventQueue)
	limits.Default(&c.PeerByteRate, DefaultPeerByteRate)
	limits.Default(&c.PeerPacketRate, DefaultPeerPacketRate)
	return c
}

// perIPPeerCap is MaxPeersPerIP with NoLimit as "unbounded".
func (c Config) perIPPeerCap() int {
	if c.MaxPeersPerIP == NoLimit {
		return int(^uint(0) >> 1)
	}
	return c.MaxPeersPerIP
}
