//go:build !windows

package udpsock

import (
	"net"
	"syscall"
)

// errAddrInUse is what a bind to a taken address fails with (AddrInUse).
const errAddrInUse = syscall.EADDRINUSE

// errUnreachable is what a read on a connected socket fails with after
// ICMP port unreachable (Unreachable).
var errUnreachable = []error{syscall.ECONNREFUSED}

// hearUnreachable: a connected socket here reports ICMP port unreachable
// by itself.
func hearUnreachable(*net.UDPConn) {}
