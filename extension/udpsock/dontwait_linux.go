package udpsock

import "syscall"

// dontWait makes a batched read return at once when nothing waits.
const dontWait = syscall.MSG_DONTWAIT
