//go:build !linux

package udpsock

import "syscall"

// ignorePathMTUReportsOn does nothing here: the option that keeps a forged
// "fragmentation needed" report from lowering a path's MTU
// (pathmtu_linux.go) is Linux's.
func ignorePathMTUReportsOn(syscall.Conn) {}

// ignorePathMTUReports does nothing here, for the same reason.
func ignorePathMTUReports(int) error { return nil }
