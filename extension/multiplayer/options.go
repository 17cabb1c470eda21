package multiplayer

import (
	"godtls/extension/limits"
	"time"
)

// Options are the limits of a multiplayer server or client. Zero values
// mean the defaults.
type Options struct {
	// Timeout disconnects a peer nothing was heard from for this long
	// (pings go out every second, so an idle peer is still heard).
	Timeout time.Duration
	// SetupTimeout bounds what follows the DTLS handshake: the RTT probe,
	// the SCTP association and, on a client, receiving its peer id.
	SetupTimeout time.Duration
	// SendBuffer bounds the bytes of reliable and large unreliable
	// messages waiting to be sent or acknowledged, per peer.
	SendBuffer int
	// InboxPackets and InboxBytes bound what waits for the game overall;
	// PeerInboxBytes what one peer may occupy of it.
	InboxPackets, InboxBytes, PeerInboxBytes int
	// HoldUntilAnnounced keeps a peer's messages from the caller until it
	// has taken that peer's PeerConnected from NextEvent. A caller that
	// learns of peers through the events needs it (SceneMultiplayer drops a
	// packet from a peer it was not told of, and that packet may be the
	// peer's authentication); one that reads messages without events must
	// leave it off, or it would never get them.
	HoldUntilAnnounced bool
	// AuthOrder keeps a peer's messages that would overtake its
	// SceneMultiplayer authentication completion behind it (sceneauth.go).
	// GoDTLSMultiplayerPeer sets it with HoldUntilAnnounced.
	AuthOrder bool
	// SceneOrder, on a server, marks what it sends a client so that the
	// client's game never reads a relayed message before the ADD_PEER of
	// its sender or after its DEL_PEER, nor a reliable message on another
	// channel before a SPAWN sent earlier; on a client, what it sends
	// after a SPAWN of its own (sceneorder.go). Both sides always honour
	// the marks they receive, for at most markWait each.
	// GoDTLSMultiplayerPeer sets it.
	SceneOrder bool
	// PeerMessageRate caps the messages per second the other side may
	// send this side, with a burst of half a second's worth: each SCTP
	// DATA chunk (a reliable message, a fragment, a resend) and each
	// unreliable record. A packet whose DATA is over it is dropped before
	// pion/sctp reads it, and the peer's SCTP sends it again later, as it
	// would a lost packet; an unreliable record over it is dropped. The
	// byte budget (server.Config.PeerByteRate) cannot bound this: a
	// client's one-byte messages, sixty to a datagram, brought the game
	// 85,000 messages a second under it. 0: DefaultPeerMessageRate on a
	// server; none on a client, which takes what its one server sends
	// (every other player's relayed messages among it). NoLimit: none.
	PeerMessageRate int
}

// Defaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultSetupTimeout   = 10 * time.Second
	DefaultSendBuffer     = 4 << 20
	DefaultInboxPackets   = 1 << 16
	DefaultInboxBytes     = 64 << 20
	DefaultPeerInboxBytes = 2 * MaxMessage
	MaxTimeout            = time.Hour
	// DefaultPeerMessageRate is five times what a client sends in the
	// heaviest reliable echo of the benchmarks (32 messages in flight,
	// 2,000 a second).
	DefaultPeerMessageRate = 10000
	MinPeerMessageRate     = 100
	// NoLimit turns a per-peer budget off.
	NoLimit = limits.NoLimit
)

// Validate reports the first option out of range.
func (o Options) Validate() error {
	return limits.First(
		limits.Range(ErrBadOptions, "timeout", o.Timeout, 0, MaxTimeout),
		limits.Range(ErrBadOptions, "setup timeout", o.SetupTimeout, 0, MaxTimeout),
		limits.AtLeast(ErrBadOptions, "the send buffer", o.SendBuffer, 0),
		limits.AtLeast(ErrBadOptions, "the inbox's packets", o.InboxPackets, 0),
		limits.AtLeast(ErrBadOptions, "the inbox's bytes", o.InboxBytes, 0),
		limits.AtLeast(ErrBadOptions, "a peer's inbox bytes", o.PeerInboxBytes, 0),
		limits.OrNoLimit(o.PeerMessageRate, limits.AtLeast(ErrBadOptions, "a peer's messages per second", o.PeerMessageRate, MinPeerMessageRate)),
	)
}

// messageRate is the peer budget this side holds the other to: 0 for none.
func (o Options) messageRate(isServer bool) int {
	switch {
	case o.PeerMessageRate == NoLimit:
		return 0
	case o.PeerMessageRate == 0 && isServer:
		return DefaultPeerMessageRate
	}
	return o.PeerMessageRate
}

func (o Options) withDefaults() Options {
	limits.Default(&o.Timeout, DefaultTimeout)
	limits.Default(&o.SetupTimeout, DefaultSetupTimeout)
	limits.Default(&o.SendBuffer, DefaultSendBuffer)
	limits.Default(&o.InboxPackets, DefaultInboxPackets)
	limits.Default(&o.InboxBytes, DefaultInboxBytes)
	limits.Default(&o.PeerInboxBytes, DefaultPeerInboxBytes)
	return o
}
