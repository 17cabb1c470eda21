//go:build !windows

package udpsock

import (
	"errors"
	"net"
)

// Go's own sockets have no known failure to work around here.
func fallbackFor(error) bool { return false }

var errNoFallback = errors.New("udpsock: no fallback socket on this platform")

func listenOwn(*net.UDPAddr) (DeadlineConn, error) { return nil, errNoFallback }
func dialOwn(_, _ *net.UDPAddr) (net.Conn, error)  { return nil, errNoFallback }
