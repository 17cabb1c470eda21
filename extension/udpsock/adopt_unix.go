//go:build linux || darwin

package udpsock

import (
	"os"
	"strconv"
	"syscall"
)

// AdoptServerSocket sets up every UDP socket of this process bound to port
// as the library sets up its own, in one pass over the process's
// descriptors, and returns how many it found with a receive buffer of at
// least bytes. The socket of a Godot UDPServer is the case, in
// take_connection(udp_peer) mode; only these options change, and the
// socket stays Godot's:
//   - its receive buffer grows to bytes (capped by the system: on Linux
//     net.core.rmem_max). Godot drains the socket once per frame, has no
//     setting for its buffer, and a burst larger than the system's default
//     (208 KiB on Linux) is lost in the kernel before the game sees it;
//   - on Linux it ignores forged "fragmentation needed" reports about its
//     IPv4 datagrams (pathmtu_linux.go).
func AdoptServerSocket(port, bytes int) (int, error) {
	return socketsOn(port, func(fd int) bool {
		_ = ignorePathMTUReports(fd)
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
