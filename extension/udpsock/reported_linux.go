package udpsock

import "syscall"

// reportedHere: Linux also ends a connected socket's call on "host
// isolated" (errReported).
var reportedHere = []error{syscall.ENONET}
