//go:build !linux

package udpsock

import "net"

// Unpolled sockets are Linux's (unpolled_linux.go); elsewhere the engine uses
// Go's own.
func listenUnpolled(*net.UDPAddr) (c PacketConn, ok bool, err error) { return nil, false, nil }
