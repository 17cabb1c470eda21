//go:build !linux && !darwin

package udpsock

import "errors"

// AdoptServerSocket is not available here: Windows sockets of the process
// cannot be found by port (see adopt_unix.go).
func AdoptServerSocket(port, bytes int) (int, error) {
	return 0, errors.ErrUnsupported
}
