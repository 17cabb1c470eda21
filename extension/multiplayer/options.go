package multiplayer

import (
	"fmt"
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
)

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case o.Timeout < 0 || o.Timeout > MaxTimeout:
		return fmt.Errorf("%w: timeout must be between 0 and %v, got %v", ErrBadOptions, MaxTimeout, o.Timeout)
	case o.SetupTimeout < 0 || o.SetupTimeout > MaxTimeout:
		return fmt.Errorf("%w: setup timeout must be between 0 and %v, got %v", ErrBadOptions, MaxTimeout, o.SetupTimeout)
	case o.SendBuffer < 0 || o.InboxPackets < 0 || o.InboxBytes < 0 || o.PeerInboxBytes < 0:
		return fmt.Errorf("%w: buffer sizes must not be negative", ErrBadOptions)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SetupTimeout == 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.InboxPackets == 0 {
		o.InboxPackets = DefaultInboxPackets
	}
	if o.InboxBytes == 0 {
		o.InboxBytes = DefaultInboxBytes
	}
	if o.PeerInboxBytes == 0 {
		o.PeerInboxBytes = DefaultPeerInboxBytes
	}
	return o
}
