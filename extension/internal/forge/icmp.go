package forge

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPReport is the kind of an ICMP error report: its type and code.
type ICMPReport struct {
	Type, Code byte
	Name       string
	// NextHopMTU is the MTU a "fragmentation needed" or "packet too big"
	// report names; 0 names 65,535 (ReportPacket says why).
	NextHopMTU uint16
}

// FragmentationNeeded is IPv4's "fragmentation needed" report naming a
// next hop of mtu bytes: the report that lowers a path's MTU.
func FragmentationNeeded(mtu uint16) ICMPReport {
	return ICMPReport{Type: 3, Code: 4, Name: "fragmentation needed", NextHopMTU: mtu}
}

// PortUnreachable is the report a host makes when a UDP datagram finds
// nothing listening.
var PortUnreachable = ICMPReport{3, 3, "port unreachable", 0}

// HardReports are the ICMP error reports Linux hands to the next read or
// write of a connected UDP socket (those its icmp_err_convert table calls
// fatal, fragmentation needed on a socket that keeps its datagrams whole
// or wants path MTU discovery, the default, and a parameter problem); the
// others it keeps from the socket.
var HardReports = []ICMPReport{
	{3, 2, "protocol unreachable", 0},
	PortUnreachable,
	{3, 4, "fragmentation needed", 0},
	{3, 6, "destination network unknown", 0},
	{3, 7, "destination host unknown", 0},
	{3, 8, "source host isolated", 0},
	{3, 9, "network administratively prohibited", 0},
	{3, 10, "host administratively prohibited", 0},
	{3, 13, "communication administratively prohibited", 0},
	{3, 14, "host precedence violation", 0},
	{3, 15, "precedence cutoff in effect", 0},
	{12, 0, "parameter problem", 0},
}

// ReportPacket is the IPv4 packet of ICMP error report r about a UDP
// datagram from sent to to, as if to's host sent it: what anyone who knows
// both ends of a connection can forge. The report quotes the datagram's IP
// and UDP headers, by which the sender's system finds the socket. It goes
// out through a raw socket with the IP header included.
func ReportPacket(r ICMPReport, from, to netip.AddrPort) ([]byte, error) {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return nil, fmt.Errorf("forge: IPv4 only (%v -> %v)", from, to)
	}
	src, dst := from.Addr().As4(), to.Addr().As4()
	pkt := make([]byte, 20+8+20+8)
	// the report's own IP header, from to's host to from's
	pkt[0], pkt[8], pkt[9] = 0x45, 64, protoICMP
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	copy(pkt[12:], dst[:])
	copy(pkt[16:], src[:])
	icmp := pkt[20:]
	icmp[0], icmp[1] = r.Type, r.Code
	if r.Type == 3 && r.Code == 4 {
		// The next hop's MTU. A system that listens to the report records
		// it as the path's for ten minutes (at least 552); by default one
		// above loopback's largest datagram, which changes nothing for the
		// tests that run after.
		binary.BigEndian.PutUint16(icmp[6:], cmp.Or(r.NextHopMTU, 65535))
	}
	// the quoted datagram: its IP header and the first 8 bytes (UDP's header)
	quoted := icmp[8:]
	quoted[0], quoted[8], quoted[9] = 0x45, 64, protoUDP
	binary.BigEndian.PutUint16(quoted[2:], 20+8)
	copy(quoted[12:], src[:])
	copy(quoted[16:], dst[:])
	binary.BigEndian.PutUint16(quoted[20:], from.Port())
	binary.BigEndian.PutUint16(quoted[22:], to.Port())
	binary.BigEndian.PutUint16(quoted[24:], 8)
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	return pkt, nil
}

// HardReports6 are the ICMPv6 error reports Linux hands to the next read
// or write of a connected UDP socket (icmpv6_err_convert's fatal ones, and
// packet too big on a socket that wants path MTU discovery, the default).
var HardReports6 = []ICMPReport{
	{1, 1, "communication administratively prohibited", 0},
	PortUnreachable6,
	{1, 5, "source address failed ingress/egress policy", 0},
	{1, 6, "reject route to destination", 0},
	{2, 0, "packet too big", 0},
	{4, 0, "parameter problem", 0},
}

// PortUnreachable6 is PortUnreachable over IPv6.
var PortUnreachable6 = ICMPReport{1, 4, "port unreachable", 0}

// ReportPacket6 is ReportPacket over IPv6: the packet of ICMPv6 error
// report r about a UDP datagram from sent to to, IP header included.
func ReportPacket6(r ICMPReport, from, to netip.AddrPort) ([]byte, error) {
	if !from.Addr().Is6() || !to.Addr().Is6() || from.Addr().Is4In6() || to.Addr().Is4In6() {
		return nil, fmt.Errorf("forge: IPv6 only (%v -> %v)", from, to)
	}
	src, dst := from.Addr().As16(), to.Addr().As16()
	pkt := make([]byte, 40+8+40+8)
	// the report's own IP header, from to's host to from's
	pkt[0], pkt[6], pkt[7] = 0x60, protoICMPv6, 64
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	copy(pkt[8:], dst[:])
	copy(pkt[24:], src[:])
	icmp := pkt[40:]
	icmp[0], icmp[1] = r.Type, r.Code
	if r.Type == 2 {
		// The next hop's MTU, recorded for the path as in ReportPacket:
		// by default one above loopback's largest datagram.
		binary.BigEndian.PutUint32(icmp[4:], uint32(cmp.Or(r.NextHopMTU, 65535)))
	}
	// the quoted datagram: its IP header and UDP's header
	quoted := icmp[8:]
	quoted[0], quoted[6], quoted[7] = 0x60, protoUDP, 64
	binary.BigEndian.PutUint16(quoted[4:], 8)
	copy(quoted[8:], src[:])
	copy(quoted[24:], dst[:])
	binary.BigEndian.PutUint16(quoted[40:], from.Port())
	binary.BigEndian.PutUint16(quoted[42:], to.Port())
	binary.BigEndian.PutUint16(quoted[44:], 8)
	// ICMPv6's checksum covers a pseudo-header of the addresses, the length
	// and the next header (RFC 8200 §8.1)
	pseudo := make([]byte, 0, 40+len(icmp))
	pseudo = append(pseudo, pkt[8:40]...)
	pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(icmp)))
	pseudo = append(pseudo, 0, 0, 0, protoICMPv6)
	pseudo = append(pseudo, icmp...)
	binary.BigEndian.PutUint16(icmp[2:], checksum(pseudo))
	return pkt, nil
}

// IP's protocol numbers, as every system numbers them.
const (
	protoICMP   = 1
	protoUDP    = 17
	protoICMPv6 = 58
)

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
