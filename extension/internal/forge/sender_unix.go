//go:build unix

package forge

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
)

// Sender forges IPv4 UDP datagrams with any source address, and ICMP error
// reports over IPv4 and IPv6, through raw sockets (root only).
type Sender struct {
	fd  int
	fd6 int // -1: the system gave no IPv6 raw socket (Report6 says so)
}

// NewSender opens the raw sockets; the error says why it cannot (not root).
func NewSender() (*Sender, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("forging a source ip:port needs a raw socket (root): %w", err)
	}
	// An IPv6 raw socket of protocol "raw" takes the IP header from the
	// caller, as the IPv4 one does.
	fd6, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		fd6 = -1
	}
	return &Sender{fd: fd, fd6: fd6}, nil
}

// NeedSender opens a Sender for t and closes it when t ends; where the
// system gives no raw socket (not root) it skips t, saying so.
func NeedSender(t testing.TB) *Sender {
	t.Helper()
	s, err := NewSender()
	if err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Close closes the raw sockets.
func (s *Sender) Close() error {
	if s.fd6 >= 0 {
		_ = syscall.Close(s.fd6)
	}
	return syscall.Close(s.fd)
}

// Send sends payload from from to to, both IPv4.
func (s *Sender) Send(from, to netip.AddrPort, payload []byte) error {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return fmt.Errorf("forge: IPv4 only (%v -> %v)", from, to)
	}
	pkt := make([]byte, 28+len(payload))
	pkt[0], pkt[8], pkt[9] = 0x45, 64, syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	src, dst := from.Addr().As4(), to.Addr().As4()
	copy(pkt[12:], src[:])
	copy(pkt[16:], dst[:])
	binary.BigEndian.PutUint16(pkt[20:], from.Port())
	binary.BigEndian.PutUint16(pkt[22:], to.Port())
	binary.BigEndian.PutUint16(pkt[24:], uint16(8+len(payload)))
	copy(pkt[28:], payload)
	return syscall.Sendto(s.fd, pkt, 0, &syscall.SockaddrInet4{Addr: dst})
}

// Report sends the ICMP error report r about a UDP datagram from sent to
// to, as if to's host sent it (ReportPacket); over IPv6, r is one of
// HardReports6.
func (s *Sender) Report(r ICMPReport, from, to netip.AddrPort) error {
	if from.Addr().Is6() {
		if s.fd6 < 0 {
			return fmt.Errorf("forge: the system gave no IPv6 raw socket")
		}
		pkt, err := ReportPacket6(r, from, to)
		if err != nil {
			return err
		}
		return syscall.Sendto(s.fd6, pkt, 0, &syscall.SockaddrInet6{Addr: from.Addr().As16()})
	}
	pkt, err := ReportPacket(r, from, to)
	if err != nil {
		return err
	}
	return syscall.Sendto(s.fd, pkt, 0, &syscall.SockaddrInet4{Addr: from.Addr().As4()})
}
