package netsim

import (
	"errors"
	"net"
	"net/netip"

	"godtls/extension/udpsock"
)

// PacketConn is a server's socket behind a Link.
type PacketConn struct {
	udpsock.PacketConn
	c *core
}

// Wrap puts l in front of conn. Close closes conn.
func Wrap(conn udpsock.PacketConn, l *Link) *PacketConn {
	p := &PacketConn{PacketConn: conn}
	p.c = newCore(l, func(d datagram) { _, _ = conn.WriteToUDPAddrPort(d.b, d.addr) })
	return p
}

func (p *PacketConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if p.c.send(b, addr) {
		return len(b), nil
	}
	return p.PacketConn.WriteToUDPAddrPort(b, addr)
}

func (p *PacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	if !p.c.pumpIfOn(p.PacketConn.ReadFromUDPAddrPort, nil) {
		return p.PacketConn.ReadFromUDPAddrPort(b)
	}
	select {
	case d := <-p.c.ready:
		p.c.taken(d)
		if d.err != nil {
			return 0, netip.AddrPort{}, d.err
		}
		return copy(b, d.b), d.addr, nil
	case <-p.c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// Close closes the socket and ends the simulation's goroutines.
func (p *PacketConn) Close() error {
	err := p.PacketConn.Close()
	p.c.close()
	return err
}

// permanent tells a read error that ends the socket from one it survives
// (an ICMP report, a timeout): the pump forwards both, and stops after the
// first.
func permanent(err error) bool { return errors.Is(err, net.ErrClosed) }
