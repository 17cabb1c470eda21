package main

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// take_connection(udp_peer) sets up the UDPServer's socket, found by its
// port, as listen() sets up its own: the receive buffer grown, and forged
// "fragmentation needed" reports ignored (udpsock/pathmtu_linux.go, whose
// test forges them). Here a plain Go socket stands for Godot's.
func TestAdoptUDPServerSocket(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadBuffer(8192); err != nil {
		t.Fatal(err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	read := func(level, opt int) (v int) {
		var getErr error
		if err := raw.Control(func(fd uintptr) { v, getErr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil || getErr != nil {
			t.Fatal(err, getErr)
		}
		return v
	}
	buffer := read(syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	s := &gdServer{adopted: map[int]bool{}}
	s.adoptUDPServerSocket(c.LocalAddr().(*net.UDPAddr).Port)
	if got := read(syscall.SOL_SOCKET, syscall.SO_RCVBUF); got <= buffer {
		t.Errorf("receive buffer %d bytes after take_connection's set-up, %d before", got, buffer)
	}
	if got := read(unix.IPPROTO_IP, unix.IP_MTU_DISCOVER); got != unix.IP_PMTUDISC_OMIT {
		t.Errorf("IP_MTU_DISCOVER %d after take_connection's set-up, want IP_PMTUDISC_OMIT (%d)", got, unix.IP_PMTUDISC_OMIT)
	}
}
