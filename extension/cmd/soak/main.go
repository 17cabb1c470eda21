// Command soak runs, all at once and for a while, what a live server meets:
// a GoDTLSMultiplayerPeer-style game (the multiplayer engine) with steady
// players exchanging reliable and unreliable messages over lossy links, a
// churn of players joining and leaving, bursts of spoofed ClientHellos,
// and rogue players that complete DTLS and then break the SCTP rules. It
// reports, per window, the steady players' reliable round-trip p99, the
// messages and sessions lost and the stalls; and over the run the slope of
// RSS and goroutines. ./build.sh soak [minutes] runs it (default 20); it is
// not part of ./build.sh test.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"godtls/extension/client"
	"godtls/extension/credentials"
	"godtls/extension/internal/lossy"
	"godtls/extension/memtrim"
	"godtls/extension/multiplayer"
	"godtls/extension/server"
	"godtls/extension/wire"
)

const (
	pskIdentity = "soak"
	steady      = 5
	churners    = 3
)

var pskKey = []byte("soak shared key")

// heapProfiles is the -heapprofile flag's path prefix ("": none).
var heapProfiles string

func main() {
	minutes := flag.Float64("minutes", 20, "how long to run")
	window := flag.Duration("window", 5*time.Minute, "report window")
	flag.StringVar(&heapProfiles, "heapprofile", "", "write a heap profile at the end of each window to this path plus -N.pprof (compare two with go tool pprof -base)")
	flag.Parse()
	if err := soak(time.Duration(*minutes*float64(time.Minute)), *window); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// tally is what one window counted.
type tally struct {
	mu                           sync.Mutex
	rtts                         []time.Duration
	sent, received, lost, stalls int
	sessionsLost, churned        int
	rogues, roguesGone           int
	spoofed                      int
}

func (t *tally) add(f func(t *tally)) {
	t.mu.Lock()
	f(t)
	t.mu.Unlock()
}

func soak(d, window time.Duration) error {
	psk, err := credentials.NewPSK(map[string][]byte{pskIdentity: pskKey}, "")
	if err != nil {
		return err
	}
	srv := server.New(server.Config{})
	if err := srv.SetPSK(psk); err != nil {
		return err
	}
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		return err
	}
	defer srv.Stop()
	m := multiplayer.NewServer(srv, 64, multiplayer.Options{})
	defer m.Close("soak over")
	port := srv.LocalPort()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	cur := &atomic.Pointer[tally]{}
	cur.Store(&tally{})
	gone := map[int32]string{}
	var goneMu sync.Mutex

	// The game at 60 Hz: echoes channel 1 (reliable) and channel 2
	// (unreliable) back to the sender, drains every event.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / 60)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for ev, ok := m.NextEvent(); ok; ev, ok = m.NextEvent() {
				if ev.Kind == multiplayer.PeerDisconnected {
					goneMu.Lock()
					gone[ev.Peer] = ev.Reason
					goneMu.Unlock()
				}
			}
			for _, ok := srv.NextEvent(); ok; _, ok = srv.NextEvent() {
			}
			for p, ok := m.Pop(); ok; p, ok = m.Pop() {
				if p.Channel == 1 || p.Channel == 2 {
					_ = m.Send(p.From, p.Channel, p.Mode, p.Data)
				}
			}
		}
	}()

	// Steady players, each behind its own lossy link (5 % or 20 % loss).
	for i := range steady {
		loss := 0.05
		if i%2 == 1 {
			loss = 0.20
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			player(i, port, loss, cur, stop)
		}()
	}
	// Churn: players that join, exchange a few messages and leave.
	for i := range churners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churn(i, port, cur, stop)
		}()
	}
	// Spoofed bursts and rogues, every 30 s.
	wg.Add(1)
	go func() {
		defer wg.Done()
		attacks(port, cur, stop)
	}()

	fmt.Printf("soak: %v, windows of %v, server on 127.0.0.1:%d\n\n", d, window, port)
	fmt.Println("| window | steady reliable p99 | messages sent / received / lost | stalls | sessions lost | churned | rogues gone / sent | spoofed hellos | RSS MiB | live heap MiB | goroutines |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	var rssSamples, heapSamples, grSamples, times []float64
	start := time.Now()
	sample := time.NewTicker(10 * time.Second)
	defer sample.Stop()
	next := start.Add(window)
	n := 0
	for time.Since(start) < d {
		now := <-sample.C
		// after the first window: the warm-up's growth is not a slope
		if now.Sub(start) >= min(window, d/4) {
			times = append(times, now.Sub(start).Seconds())
			rssSamples = append(rssSamples, float64(rss())/(1<<20))
			heapSamples = append(heapSamples, float64(memtrim.ReadUsage().HeapLive)/(1<<20))
			grSamples = append(grSamples, float64(runtime.NumGoroutine()))
		}
		if !now.Before(next) || time.Since(start) >= d {
			n++
			report(n, cur.Swap(&tally{}))
			next = next.Add(window)
		}
	}
	close(stop)
	wg.Wait()
	st := srv.Stats()
	fmt.Printf("\nRSS slope %+.3f MiB/min, live heap slope %+.3f MiB/min, goroutine slope %+.2f /min (least squares over %d samples after the first window)\n",
		slope(times, rssSamples)*60, slope(times, heapSamples)*60, slope(times, grSamples)*60, len(times))
	fmt.Printf("server: %d handshakes, %d failed, %d spoofed, %d evicted, %d over budget, %d dropped after the handshake, %d internal errors\n",
		st.HandshakesOK, st.HandshakesFailed, st.Spoofed, st.Evicted, st.OverRate, st.PostHandshakeDropped, st.Panics)
	if st.Panics > 0 {
		return fmt.Errorf("%d internal errors", st.Panics)
	}
	return nil
}

func report(n int, t *tally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p99 := "–"
	if len(t.rtts) > 0 {
		slices.Sort(t.rtts)
		p99 = t.rtts[len(t.rtts)*99/100].Round(100 * time.Microsecond).String()
	}
	fmt.Printf("| %d | %s | %d / %d / %d | %d | %d | %d | %d / %d | %d | %.1f | %.1f | %d |\n", n, p99, t.sent, t.received, t.lost, t.stalls,
		t.sessionsLost, t.churned, t.roguesGone, t.rogues, t.spoofed, float64(rss())/(1<<20), float64(memtrim.ReadUsage().HeapLive)/(1<<20), runtime.NumGoroutine())
	if heapProfiles != "" {
		writeHeapProfile(fmt.Sprintf("%s-%d.pprof", heapProfiles, n))
	}
}

// writeHeapProfile writes the heap's profile as of a fresh collection.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
	}
}

// dialThrough connects a multiplayer client through a new lossy relay.
func dialThrough(port int, loss float64) (*multiplayer.Client, *lossy.Relay, error) {
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, lossy.Config{Loss: loss, Reorder: 0.03, Duplicate: 0.01})
	if err != nil {
		return nil, nil, err
	}
	c, err := multiplayer.Dial("127.0.0.1", relay.Addr().Port, client.Config{PSKIdentity: pskIdentity, PSKKey: pskKey}, multiplayer.Options{Timeout: 30 * time.Second})
	if err != nil {
		relay.Close()
		return nil, nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Status() != multiplayer.Connected {
		if c.Status() == multiplayer.Disconnected || time.Now().After(deadline) {
			c.Close("")
			relay.Close()
			return nil, nil, fmt.Errorf("not connected (status %d)", c.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, relay, nil
}

// player is one steady player: reliable ping-pong on channel 1 (each
// message waits for its echo), an unreliable message on channel 2 every
// 50 ms. A reliable echo missing for 10 s is a stall; a session that ends
// is a session lost, and the player joins again.
func player(i, port int, loss float64, cur *atomic.Pointer[tally], stop <-chan struct{}) {
	for seq := uint64(0); ; {
		select {
		case <-stop:
			return
		default:
		}
		c, relay, err := dialThrough(port, loss)
		if err != nil {
			cur.Load().add(func(t *tally) { t.sessionsLost++ })
			continue
		}
		lastUnreliable := time.Now()
		for c.Status() == multiplayer.Connected {
			select {
			case <-stop:
				c.Close("soak over")
				relay.Close()
				return
			default:
			}
			seq++
			msg := binary.BigEndian.AppendUint64([]byte{byte(i)}, seq)
			t0 := time.Now()
			if c.Send(1, multiplayer.Reliable, msg) != nil {
				time.Sleep(time.Millisecond)
				continue
			}
			cur.Load().add(func(t *tally) { t.sent++ })
			echoed := false
			for deadline := t0.Add(10 * time.Second); !echoed && time.Now().Before(deadline) && c.Status() == multiplayer.Connected; {
				p, ok := c.Pop()
				if !ok {
					time.Sleep(500 * time.Microsecond)
					continue
				}
				if p.Channel == 1 {
					if string(p.Data) != string(msg) {
						cur.Load().add(func(t *tally) { t.lost++ }) // an echo out of order: one was lost
					}
					echoed = true
				}
			}
			switch {
			case echoed:
				rtt := time.Since(t0)
				cur.Load().add(func(t *tally) { t.received++; t.rtts = append(t.rtts, rtt) })
			case c.Status() == multiplayer.Connected:
				cur.Load().add(func(t *tally) { t.stalls++ })
			default:
				cur.Load().add(func(t *tally) { t.lost++ })
			}
			if time.Since(lastUnreliable) > 50*time.Millisecond {
				_ = c.Send(2, multiplayer.Unreliable, make([]byte, 64))
				lastUnreliable = time.Now()
			}
		}
		cur.Load().add(func(t *tally) { t.sessionsLost++ })
		c.Close("")
		relay.Close()
	}
}

// churn joins, exchanges ten reliable messages and leaves, over and over.
func churn(i, port int, cur *atomic.Pointer[tally], stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, relay, err := dialThrough(port, 0.05)
		if err != nil {
			continue
		}
		for k := 0; k < 10 && c.Status() == multiplayer.Connected; k++ {
			_ = c.Send(0, multiplayer.Reliable, []byte("churn"))
			time.Sleep(20 * time.Millisecond)
		}
		c.Close("leaving")
		relay.Close()
		cur.Load().add(func(t *tally) { t.churned++ })
	}
}

// attacks sends, every 30 s, a burst of 2,000 spoofed ClientHellos from 8
// addresses and one rogue player that completes DTLS and sends SCTP junk.
func attacks(port int, cur *atomic.Pointer[tally], stop <-chan struct{}) {
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	hello := clientHello()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var socks []net.PacketConn
		for k := range 64 {
			if s, err := net.ListenPacket("udp", "127.0.0."+strconv.Itoa(100+k%8)+":0"); err == nil {
				socks = append(socks, s)
			}
		}
		h := slices.Clone(hello)
		random := h[wire.RecordHeaderLen+wire.HandshakeHeaderLen+2:][:wire.RandomLen]
		for k := 0; k < 2000 && len(socks) > 0; k++ {
			_, _ = rand.Read(random)
			_, _ = socks[k%len(socks)].WriteTo(h, dst)
			if k%100 == 99 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		for _, s := range socks {
			s.Close()
		}
		cur.Load().add(func(t *tally) { t.spoofed += 2000; t.rogues++ })
		if rogue(port) {
			cur.Load().add(func(t *tally) { t.roguesGone++ })
		}
	}
}

// rogue completes DTLS, sends an SCTP record of 4 junk bytes and reports
// whether the server closed the connection within 5 s.
func rogue(port int) bool {
	conn, err := dtls.Dial("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, &dtls.Config{
		PSK: func([]byte) ([]byte, error) { return pskKey, nil }, PSKIdentityHint: []byte(pskIdentity),
		CipherSuites:  []dtls.CipherSuiteID{dtls.TLS_PSK_WITH_AES_128_CBC_SHA256},
		LoggerFactory: &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
	})
	if err != nil {
		return false
	}
	defer conn.Close()
	time.Sleep(500 * time.Millisecond) // its session is set up on the server's side
	_, _ = conn.Write([]byte{0x01, 0xde, 0xad, 0xbe, 0xef})
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return !strings.Contains(err.Error(), "timeout")
		}
		if n > 0 && buf[0] == 0x05 { // the server's goodbye, with its reason
			return true
		}
	}
}

// clientHello is a cookieless ClientHello datagram to flood with.
func clientHello() []byte {
	rec := []byte{22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	body := []byte{0xfe, 0xfd}
	body = append(body, make([]byte, 32)...)    // random
	body = append(body, 0, 0)                   // session id, cookie
	body = append(body, 0, 2, 0xcc, 0xab, 1, 0) // one suite, null compression
	hs := []byte{1, 0, 0, byte(len(body)), 0, 0, 0, 0, 0, 0, 0, byte(len(body))}
	msg := append(hs, body...)
	binary.BigEndian.PutUint16(rec[11:], uint16(len(msg)))
	return append(rec, msg...)
}

// rss is the process's resident set in bytes (Linux), or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
