//go:build !linux && !windows

package udpsock

// reportedHere: nothing beyond errReported's list here.
var reportedHere []error
