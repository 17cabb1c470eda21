// Package lossy is a UDP relay that loses and reorders datagrams: the
// network the multiplayer tests and benchmarks put between clients and a
// server on loopback. Each client address gets its own socket towards the
// server (as a NAT would), so many clients can share one relay.
package lossy

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/udpsock"
)

// Config says how bad the network is.
type Config struct {
	Loss      float64       // share of datagrams dropped, each way (0 … 1)
	Reorder   float64       // share of the rest held back and sent after the next one
	Duplicate float64       // share of the rest sent twice
	Delay     time.Duration // added to every datagram, each way
	Seed      uint64        // 0: random
}

// Relay forwards between its front address and a target.
type Relay struct {
	cfg    Config
	target *net.UDPAddr
	front  udpsock.DeadlineConn // udpsock's: it opens under Wine too, where Go's are refused

	mu    sync.Mutex
	rng   *rand.Rand
	backs map[netipKey]net.Conn

	Forwarded, Dropped, Reordered, Duplicated atomic.Uint64

	wg     sync.WaitGroup
	closed chan struct{}
}

type netipKey string

// New starts a relay on 127.0.0.1 (a free port) towards target.
func New(target *net.UDPAddr, cfg Config) (*Relay, error) {
	front, err := udpsock.Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = front.SetReadBuffer(4 << 20)
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	r := &Relay{cfg: cfg, target: target, front: front, backs: map[netipKey]net.Conn{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), closed: make(chan struct{})}
	r.wg.Add(1)
	go r.pumpUp()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() *net.UDPAddr { return r.front.LocalAddr().(*net.UDPAddr) }

// fate decides a datagram's loss, reordering and duplication.
func (r *Relay) fate() (lose, hold, twice bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64() < r.cfg.Loss, r.rng.Float64() < r.cfg.Reorder, r.rng.Float64() < r.cfg.Duplicate
}

// shaper applies loss and reordering to one direction of one client: a
// held-back datagram goes out after the next one, or when the direction
// goes quiet for 50 ms.
type shaper struct {
	r    *Relay
	send func([]byte)
	held []byte
}

func (s *shaper) push(pkt []byte) {
	lose, hold, twice := s.r.fate()
	if lose {
		s.r.Dropped.Add(1)
		return
	}
	if twice {
		s.r.Duplicated.Add(1)
		s.out(pkt)
	}
	if hold && s.held == nil {
		s.held = pkt
		s.r.Reordered.Add(1)
		return
	}
	s.out(pkt)
	if s.held != nil {
		s.out(s.held)
		s.held = nil
	}
}

func (s *shaper) idle() {
	if s.held != nil {
		s.out(s.held)
		s.held = nil
	}
}

func (s *shaper) out(pkt []byte) {
	s.r.Forwarded.Add(1)
	if s.r.cfg.Delay > 0 {
		time.AfterFunc(s.r.cfg.Delay, func() { s.send(pkt) })
		return
	}
	s.send(pkt)
}

// pumpUp reads what clients send and forwards it through each client's
// own socket; the first datagram of a client starts its way back.
func (r *Relay) pumpUp() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	shapers := map[netipKey]*shaper{}
	for {
		_ = r.front.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, from, err := r.front.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-r.closed:
				return
			default:
			}
			for _, s := range shapers {
				s.idle()
			}
			continue
		}
		key := netipKey(from.String())
		s := shapers[key]
		if s == nil {
			back, err := udpsock.Dial(r.target)
			if err != nil {
				continue
			}
			if b, ok := back.(interface{ SetReadBuffer(int) error }); ok {
				_ = b.SetReadBuffer(1 << 20)
			}
			r.mu.Lock()
			r.backs[key] = back
			r.mu.Unlock()
			s = &shaper{r: r, send: func(p []byte) { _, _ = back.Write(p) }}
			shapers[key] = s
			r.wg.Add(1)
			go r.pumpDown(back, from)
		}
		s.push(append([]byte(nil), buf[:n]...))
	}
}

// pumpDown moves one client's replies from the server back to it.
func (r *Relay) pumpDown(back net.Conn, client netip.AddrPort) {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	s := &shaper{r: r, send: func(p []byte) { _, _ = r.front.WriteToUDPAddrPort(p, client) }}
	for {
		_ = back.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := back.Read(buf)
		if err != nil {
			select {
			case <-r.closed:
				return
			default:
			}
			s.idle()
			continue
		}
		s.push(append([]byte(nil), buf[:n]...))
	}
}

// WaitQuiet returns once the relay has forwarded nothing for quiet, or
// after limit: what was sent has then crossed, however slow the machine (a
// fixed sleep was too short for a burst of thousands under Wine, whose
// sockets are slower than Linux's). It reports whether the relay went quiet.
func (r *Relay) WaitQuiet(quiet, limit time.Duration) bool {
	end := time.Now().Add(limit)
	last, since := r.Forwarded.Load(), time.Now()
	for time.Now().Before(end) {
		time.Sleep(quiet / 10)
		if n := r.Forwarded.Load(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return true
		}
	}
	return false
}

// Close stops the relay.
func (r *Relay) Close() {
	close(r.closed)
	r.front.Close()
	r.mu.Lock()
	for _, b := range r.backs {
		b.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
