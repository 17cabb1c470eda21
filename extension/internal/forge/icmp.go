package forge

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
)

// PortUnreachable sends the ICMP report a host makes when a UDP datagram
// from sent to to finds nothing listening (type 3, code 3), as if to's host
// sent it: what anyone who knows both ends of a connection can forge to make
// its sender believe that nobody is there. The report quotes the datagram's
// IP and UDP headers, by which the sender's system finds the socket.
func (s *Sender) PortUnreachable(from, to netip.AddrPort) error {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return fmt.Errorf("forge: IPv4 only (%v -> %v)", from, to)
	}
	src, dst := from.Addr().As4(), to.Addr().As4()
	pkt := make([]byte, 20+8+20+8)
	// the report's own IP header, from to's host to from's
	pkt[0], pkt[8], pkt[9] = 0x45, 64, syscall.IPPROTO_ICMP
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	copy(pkt[12:], dst[:])
	copy(pkt[16:], src[:])
	icmp := pkt[20:]
	icmp[0], icmp[1] = 3, 3 // destination unreachable: port unreachable
	// the quoted datagram: its IP header and the first 8 bytes (UDP's header)
	quoted := icmp[8:]
	quoted[0], quoted[8], quoted[9] = 0x45, 64, syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(quoted[2:], 20+8)
	copy(quoted[12:], src[:])
	copy(quoted[16:], dst[:])
	binary.BigEndian.PutUint16(quoted[20:], from.Port())
	binary.BigEndian.PutUint16(quoted[22:], to.Port())
	binary.BigEndian.PutUint16(quoted[24:], 8)
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	return syscall.Sendto(s.fd, pkt, 0, &syscall.SockaddrInet4{Addr: src})
}

// checksum is the Internet checksum (RFC 1071) of b, whose checksum field
// is zero.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
