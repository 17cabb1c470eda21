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

// errReported is what a read or write on a connected socket fails with when
// an ICMP error report about an earlier datagram is waiting (Reported): the
// reports the system holds to end a connection, which it hands to the next
// call on a connected socket. Linux's tables (icmp_err_convert,
// icmpv6_err_convert) are the guide; reportedHere adds what only some
// systems say.
var errReported = append([]error{
	syscall.ECONNREFUSED, // port unreachable
	syscall.EHOSTUNREACH, // host or communication prohibited, precedence violation or cutoff
	syscall.ENETUNREACH,  // network unknown or prohibited
	syscall.EHOSTDOWN,    // host unknown
	syscall.ENOPROTOOPT,  // protocol unreachable
	syscall.EMSGSIZE,     // fragmentation needed, packet too big
	syscall.EPROTO,       // parameter problem
	syscall.EACCES,       // over IPv6: administratively prohibited, failed policy, reject route
}, reportedHere...)

// hearUnreachable: a connected socket here reports ICMP port unreachable
// by itself.
func hearUnreachable(*net.UDPConn) {}
