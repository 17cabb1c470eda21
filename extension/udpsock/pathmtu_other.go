//go:build !linux

package udpsock

import (
	"errors"
	"syscall"
)

// ignorePathMTUReportsOn does nothing here: the option that keeps a forged
// "fragmentation needed" report from lowering a path's MTU
// (pathmtu_linux.go) is Linux's.
func ignorePathMTUReportsOn(syscall.Conn) {}

// IgnorePathMTUReportsAt is not available here (pathmtu_linux.go).
func IgnorePathMTUReportsAt(port int) (int, error) { return 0, errors.ErrUnsupported }
