// Package lossy is a UDP relay that loses and reorders datagrams: the
// network the multiplayer tests and benchmarks put between a client and a
// server on loopback. One relay serves one client address at a time (the
// last one heard), which is what a test needs.
package lossy

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config says how bad the network is.
type Config struct {
	Loss    float64       // share of datagrams dropped, each way (0 … 1)
	Reorder float64       // share of the rest held back and sent after the next one
	Delay   time.Duration // added to every datagram, each way
	Seed    uint64        // 0: random
}

// Relay forwards between its front address and a target.
type Relay struct {
	cfg    Config
	front  *net.UDPConn
	back   *net.UDPConn
	client atomic.Pointer[net.UDPAddr]

	mu  sync.Mutex
	rng *rand.Rand

	Forwarded, Dropped, Reordered atomic.Uint64

	wg     sync.WaitGroup
	closed chan struct{}
}

// New starts a relay on 127.0.0.1 (a free port) towards target.
func New(target *net.UDPAddr, cfg Config) (*Relay, error) {
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	back, err := net.DialUDP("udp", nil, target)
	if err != nil {
		front.Close()
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	r := &Relay{cfg: cfg, front: front, back: back, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), closed: make(chan struct{})}
	r.wg.Add(2)
	go r.pump(true)
	go r.pump(false)
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() *net.UDPAddr { return r.front.LocalAddr().(*net.UDPAddr) }

// pump moves one direction. A held-back datagram goes out after the next
// one (or when the direction goes quiet for 50 ms).
func (r *Relay) pump(up bool) {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	var held []byte
	for {
		var n int
		var err error
		if up {
			_ = r.front.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			var from *net.UDPAddr
			n, from, err = r.front.ReadFromUDP(buf)
			if err == nil {
				r.client.Store(from)
			}
		} else {
			_ = r.back.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err = r.back.Read(buf)
		}
		if err != nil {
			select {
			case <-r.closed:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() && held != nil {
				r.send(up, held)
				held = nil
			}
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		lose, hold := r.rng.Float64() < r.cfg.Loss, r.rng.Float64() < r.cfg.Reorder
		r.mu.Unlock()
		if lose {
			r.Dropped.Add(1)
			continue
		}
		if hold && held == nil {
			held = pkt
			r.Reordered.Add(1)
			continue
		}
		r.send(up, pkt)
		if held != nil {
			r.send(up, held)
			held = nil
		}
	}
}

func (r *Relay) send(up bool, pkt []byte) {
	r.Forwarded.Add(1)
	do := func() {
		if up {
			_, _ = r.back.Write(pkt)
		} else if c := r.client.Load(); c != nil {
			_, _ = r.front.WriteToUDP(pkt, c)
		}
	}
	if r.cfg.Delay > 0 {
		time.AfterFunc(r.cfg.Delay, do)
		return
	}
	do()
}

// Close stops the relay.
func (r *Relay) Close() {
	close(r.closed)
	r.front.Close()
	r.back.Close()
	r.wg.Wait()
}
