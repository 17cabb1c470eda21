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

// Direct returns the socket behind the simulation while the simulation
// can be bypassed: for reads, until it is first switched on (from then on
// its pump reads the socket, and so must every reader after it); for
// writes, while it is off. A batched reader or writer (udpsock.Batch) uses
// the socket itself then, and this PacketConn otherwise.
func (p *PacketConn) Direct(forReads bool) (udpsock.PacketConn, bool) {
	if forReads && p.c.pumping.Load() {
		return nil, false
	}
	if p.c.link.on.Load() != nil {
		return nil, false
	}
	return p.PacketConn, true
}
