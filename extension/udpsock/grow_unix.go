//go:build linux || darwin

package udpsock

import (
	"os"
	"strconv"
	"syscall"
)

// GrowReceiveBuffer sets the receive buffer of every UDP socket of this
// process bound to port to bytes (capped by the system: on Linux
// net.core.rmem_max) and returns how many it found. The socket of a Godot
// UDPServer is the case: Godot drains it once per frame, has no setting
// for its buffer, and a burst larger than the system's default (208 KiB
// on Linux) is lost in the kernel before the game sees it. Only the
// buffer size changes; the socket stays Godot's.
func GrowReceiveBuffer(port, bytes int) (int, error) {
	return socketsOn(port, func(fd int) bool {
		if have, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil && have >= bytes {
			return true
		}
		return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, bytes) == nil
	})
}

// socketsOn calls do with every UDP socket of this process bound to port
// (found through /dev/fd: a socket the process did not open through this
// package, such as a Godot UDPServer's) and returns for how many do
// returned true.
func socketsOn(port int, do func(fd int) bool) (int, error) {
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 0 {
			continue
		}
		if t, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || t != syscall.SOCK_DGRAM {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		bound := -1
		switch a := sa.(type) {
		case *syscall.SockaddrInet4:
			bound = a.Port
		case *syscall.SockaddrInet6:
			bound = a.Port
		}
		if bound == port && do(fd) {
			n++
		}
	}
	return n, nil
}
