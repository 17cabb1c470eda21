//go:build !linux && !darwin

package udpsock

import "errors"

// GrowReceiveBuffer is not available here: Windows sockets of the process
// cannot be found by port (see grow_unix.go).
func GrowReceiveBuffer(port, bytes int) (int, error) {
	return 0, errors.ErrUnsupported
}
