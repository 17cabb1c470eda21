//go:build unix

package testtool

import (
	"syscall"
	"time"
)

// ProcessCPU is the user and system CPU time of the whole process so far:
// every thread's, the runtime's included.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
