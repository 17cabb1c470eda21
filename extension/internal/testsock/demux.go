package testsock

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Demux is a net.Listener over one socket that hands out a net.Conn per
// remote address, as pion's own UDP listener does, for dtls.NewListener:
// a pion server on a socket of udpsock's, which also opens under Wine.
// What a peer's conn has not read yet is bounded (peerQueue datagrams);
// past that its datagrams are dropped, as a full socket buffer would.
type Demux struct {
	sock   Conn
	accept chan *peerConn
	closed chan struct{}
	once   sync.Once
	done   chan struct{} // the read loop has ended

	mu    sync.Mutex
	peers map[netip.AddrPort]*peerConn
}

const (
	peerQueue   = 256
	acceptQueue = 64
)

// ListenDemux opens a socket on addr ("ip:port") and demultiplexes it.
func ListenDemux(addr string) (*Demux, error) {
	sock, err := ListenAt(addr)
	if err != nil {
		return nil, err
	}
	d := &Demux{sock: sock, accept: make(chan *peerConn, acceptQueue), closed: make(chan struct{}),
		done: make(chan struct{}), peers: map[netip.AddrPort]*peerConn{}}
	go d.read()
	return d, nil
}

func (d *Demux) read() {
	defer close(d.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := d.sock.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-d.closed:
				return
			default:
				continue // an ICMP report about an earlier datagram
			}
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		d.mu.Lock()
		p := d.peers[from]
		fresh := p == nil
		if fresh {
			p = &peerConn{d: d, remote: from, in: make(chan []byte, peerQueue), closed: make(chan struct{}), changed: make(chan struct{})}
			d.peers[from] = p
		}
		d.mu.Unlock()
		select {
		case p.in <- append([]byte(nil), buf[:n]...):
		default: // its queue is full: dropped
		}
		if fresh {
			select {
			case d.accept <- p:
			default: // nobody accepts: forgotten
				p.Close()
			}
		}
	}
}

// Accept returns the conn of the next new remote address.
func (d *Demux) Accept() (net.Conn, error) {
	select {
	case p := <-d.accept:
		return p, nil
	case <-d.closed:
		return nil, net.ErrClosed
	}
}

// Close closes the socket and every conn handed out: their blocked reads
// end with net.ErrClosed, so that what serves them ends with the listener
// (pion's own listener keeps its socket open for them, so a close_notify
// still reaches them; nothing would reach these).
func (d *Demux) Close() error {
	d.once.Do(func() {
		close(d.closed)
		d.sock.Close()
		<-d.done
		d.mu.Lock()
		peers := make([]*peerConn, 0, len(d.peers))
		for _, p := range d.peers {
			peers = append(peers, p)
		}
		d.mu.Unlock()
		for _, p := range peers {
			p.Close()
		}
	})
	return nil
}

// Addr is the socket's address.
func (d *Demux) Addr() net.Addr { return d.sock.LocalAddr() }

// peerConn is one remote address's share of the socket.
type peerConn struct {
	d      *Demux
	remote netip.AddrPort
	in     chan []byte
	once   sync.Once
	closed chan struct{}

	mu       sync.Mutex
	deadline time.Time     // zero: none
	changed  chan struct{} // closed when the deadline changes: a blocked Read looks again
}

func (p *peerConn) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		deadline, changed := p.deadline, p.changed
		p.mu.Unlock()
		var timer *time.Timer
		var expired <-chan time.Time
		if !deadline.IsZero() {
			wait := time.Until(deadline)
			if wait <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		n, err, again := 0, error(nil), false
		select {
		case pkt := <-p.in:
			n = copy(b, pkt)
		case <-p.closed:
			err = net.ErrClosed
		case <-expired:
			err = os.ErrDeadlineExceeded
		case <-changed: // the deadline changed: wait again for the new one
			again = true
		}
		if timer != nil {
			timer.Stop()
		}
		if !again {
			return n, err
		}
	}
}

func (p *peerConn) Write(b []byte) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	return p.d.sock.WriteToUDPAddrPort(b, p.remote)
}

func (p *peerConn) Close() error {
	p.once.Do(func() {
		close(p.closed)
		p.d.mu.Lock()
		if p.d.peers[p.remote] == p {
			delete(p.d.peers, p.remote)
		}
		p.d.mu.Unlock()
	})
	return nil
}

func (p *peerConn) LocalAddr() net.Addr  { return p.d.sock.LocalAddr() }
func (p *peerConn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(p.remote) }

func (p *peerConn) SetDeadline(t time.Time) error { return p.SetReadDeadline(t) }

// SetWriteDeadline does nothing: a UDP write does not wait.
func (p *peerConn) SetWriteDeadline(time.Time) error { return nil }

// SetReadDeadline also applies to a Read already blocked (pion ends one
// that way).
func (p *peerConn) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline = t
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}
