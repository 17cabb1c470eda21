package multiplayer

import (
	"errors"
	"fmt"
)

// ErrBadOptions is returned for options out of range.
var ErrBadOptions = errors.New("invalid multiplayer options")

// ErrUnknownPeer: no connected peer has that id.
var ErrUnknownPeer = errors.New("no connected peer has this id")

// Errors of send.
var (
	ErrNotReady    = errors.New("the connection is not set up yet")
	ErrClosed      = errors.New("the connection is closed")
	ErrBadChannel  = fmt.Errorf("channel out of range (0 to %d)", MaxChannels-1)
	ErrTooLarge    = fmt.Errorf("message larger than %d bytes", MaxMessage)
	ErrSendBacklog = errors.New("too many bytes waiting to be sent to this peer")
)
