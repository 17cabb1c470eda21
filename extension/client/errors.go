package client

import (
	"errors"
	"godtls/extension/link"
)

// Errors of Connect (the arguments) and Send.
var (
	ErrBadConfig       = errors.New("invalid client configuration")
	ErrNotConnected    = errors.New("not connected")
	ErrTooBig          = errors.New("packet larger than the maximum payload")
	ErrSendQueueFull   = link.ErrQueueFull
	errClosedByCaller  = errors.New("closed")
	errTooManyRefusals = errors.New("the server's port answered unreachable")
)
