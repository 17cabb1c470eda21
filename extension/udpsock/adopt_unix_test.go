//go:build linux || darwin

package udpsock

import (
	"net"
	"syscall"
	"testing"
)

// TestAdoptServerSocketGrowsItsBuffer finds a socket this process did not
// open through this package by its port and grows its receive buffer; a
// port nobody holds finds nothing. (pathmtu_linux_test.go forges reports
// at a socket it sets up.)
func TestAdoptServerSocketGrowsItsBuffer(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadBuffer(8192); err != nil {
		t.Fatal(err)
	}
	raw, _ := c.SyscallConn()
	size := func() (n int) {
		_ = raw.Control(func(fd uintptr) { n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
		return n
	}
	before := size()
	port := c.LocalAddr().(*net.UDPAddr).Port
	n, err := AdoptServerSocket(port, 1<<20)
	if err != nil || n != 1 {
		t.Fatalf("found %d sockets on port %d (%v), want 1", n, port, err)
	}
	if after := size(); after <= before {
		t.Fatalf("receive buffer %d bytes after growing, %d before", after, before)
	}
	if n, _ := AdoptServerSocket(1, 1<<20); n != 0 {
		t.Fatalf("found %d sockets on port 1", n)
	}
}
