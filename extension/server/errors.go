package server

import (
	"errors"

	"godtls/extension/link"
)

// Errors of the engine's API. The bridge maps each to a Godot Error code and
// a message naming what was wrong.
var (
	ErrNotConfigured    = errors.New("no certificate or PSK set up")
	ErrAlreadyListening = errors.New("already listening")
	ErrPortInUse        = errors.New("port already in use")
	ErrBadAddress       = errors.New("invalid bind address")
	ErrBadPort          = errors.New("port must be between 0 and 65535")
	ErrModeMixed        = errors.New("listen() and take_connection(udp_peer) cannot be mixed on one server")
	ErrBusy             = errors.New("too many peers or pending handshakes")
	ErrSendQueueFull    = link.ErrQueueFull
	ErrBadConfig        = errors.New("invalid limit")
	ErrRefusing         = errors.New("the server is not accepting new connections")

	// Errors of Peer.Send.
	ErrNotConnected = errors.New("peer is not connected")
	ErrTooBig       = errors.New("packet larger than the maximum payload")

	errSessionClosed = errors.New("session closed")
)
