//go:build !windows

package udpsock

import "syscall"

// errAddrInUse is what a bind to a taken address fails with (AddrInUse).
const errAddrInUse = syscall.EADDRINUSE
