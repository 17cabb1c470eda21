// Command loadgen runs N DTLS clients against a server from its own process
// and prints what it measured as JSON: how the clients joined, and echo
// traffic with a fixed number of packets in flight per client.
//
//	loadgen -addr 127.0.0.1:4433 -clients 100 -echo 10s -size 1024 -inflight 8
//
// The server must echo every packet back unchanged. Clients offer the
// ChaCha20-Poly1305 suites for ECDSA, RSA and PSK keys (and nothing else), which
// Godot's DTLSServer (mbedTLS), GoDTLSServer and pion all speak.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"godtls/extension/suites"
)

type options struct {
	addr      string
	clients   int
	joinRate  float64
	joinWait  time.Duration
	echo      time.Duration
	size      int
	inflight  int
	rate      float64
	hold      time.Duration
	together  bool // close every client at once at the end
	sources   int
	handshake time.Duration

	floodRate    int
	floodSources int
	floodLead    time.Duration
}

// Report is the JSON printed at the end.
type Report struct {
	Clients         int      `json:"clients"`
	Connected       int      `json:"connected"`
	Failed          int      `json:"failed"`
	FirstError      string   `json:"first_error,omitempty"`
	AllConnectedMs  float64  `json:"all_connected_ms"`
	JoinMs          Percents `json:"join_ms"`
	ConnectedOverMs []Point  `json:"connected_over_time"`
	Echo            *Echo    `json:"echo,omitempty"`
	Flood           *Flood   `json:"flood,omitempty"`
	// CloseNotifies counts the clients whose Close at the end wrote a
	// close_notify. pion v2.2.12's Close sometimes writes none (it
	// cancels its read loop first, and the loop, leaving, may close the
	// socket before the alert is written), and a server hears no end from
	// such a client until an idle timeout.
	CloseNotifies int `json:"close_notifies_written"`
}

// Percents summarises a distribution.
type Percents struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Point is one sample of a time series.
type Point struct {
	Ms    float64 `json:"ms"`
	Value int     `json:"value"`
}

// Echo is the traffic phase.
type Echo struct {
	Seconds  float64  `json:"seconds"`
	Sent     uint64   `json:"sent"`
	Received uint64   `json:"received"`
	Lost     uint64   `json:"lost"`
	PPS      float64  `json:"packets_per_second"`
	RTTMs    Percents `json:"rtt_ms"`
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:4433", "server address")
	flag.IntVar(&o.clients, "clients", 100, "number of clients")
	flag.Float64Var(&o.joinRate, "join-rate", 0, "clients started per second (0: all at once)")
	flag.DurationVar(&o.joinWait, "join-timeout", 60*time.Second, "give up on joins after this long")
	flag.DurationVar(&o.echo, "echo", 0, "echo phase length (0: none)")
	flag.IntVar(&o.size, "size", 64, "echo packet size in bytes (at least 16)")
	flag.IntVar(&o.inflight, "inflight", 1, "packets in flight per client (window mode)")
	flag.Float64Var(&o.rate, "rate", 0, "packets per second per client instead of a window (0: window mode)")
	flag.DurationVar(&o.hold, "hold", 0, "keep the connections open this long after the echo phase")
	flag.BoolVar(&o.together, "close-together", false, "close the clients at the end all at once, each on its own goroutine, so that their close_notify reach the server in one burst (a match whose players all leave), not one after the other")
	flag.DurationVar(&o.handshake, "handshake-timeout", 30*time.Second, "per-client handshake timeout")
	flag.IntVar(&o.floodRate, "flood-rate", 0, "spoofed cookieless ClientHellos per second during the joins (0: none)")
	flag.IntVar(&o.floodSources, "flood-sources", 2048, "sockets the flood comes from (on 127.0.0.100-115)")
	flag.DurationVar(&o.floodLead, "flood-lead", time.Second, "how long the flood runs before the clients start")
	flag.IntVar(&o.sources, "sources", 1, "addresses the clients come from, as players behind different addresses would (127.0.0.1 up to 127.0.0.64, in turn; a loopback server only)")
	flag.Parse()
	if o.size < 16 {
		o.size = 16
	}
	rep := run(o)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// clientSource is client i's local address when the clients come from n
// addresses: 127.0.0.1 to 127.0.0.n in turn (nil, the system's choice, for
// one). The flood's sources are 127.0.0.100 and up.
func clientSource(n, i int) *net.UDPAddr {
	if n <= 1 {
		return nil
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%min(n, 64)))}
}

func clientConfig() *dtls.Config {
	cfg := &dtls.Config{
		InsecureSkipVerify:   true,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
		CipherSuites:         []dtls.CipherSuiteID{},
		CustomCipherSuites: func() []dtls.CipherSuite {
			return []dtls.CipherSuite{suites.New(suites.ECDHEECDSAChaCha20Poly1305), suites.New(suites.ECDHERSAChaCha20Poly1305)}
		},
	}
	return cfg
}

func run(o options) (rep Report) {
	rep = Report{Clients: o.clients}
	raddr, err := net.ResolveUDPAddr("udp", o.addr)
	if err != nil {
		rep.FirstError = err.Error()
		return rep
	}
	if o.floodRate > 0 {
		stopFlood := make(chan struct{})
		f, wait, err := startFlood(raddr, o.floodRate, o.floodSources, stopFlood)
		if err != nil {
			rep.FirstError = err.Error()
			return rep
		}
		defer func() {
			close(stopFlood)
			wait()
			rep.Flood = f
		}()
		time.Sleep(o.floodLead)
	}
	conns := make([]*dtls.Conn, o.clients)
	joinMs := make([]float64, o.clients)
	var closing atomic.Bool // the clients are being closed: alerts from now on are their close_notify
	var alerts atomic.Int64
	var connected atomic.Int64
	var errMu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() { // connected clients over time, every 50 ms
		defer close(samplerDone)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			rep.ConnectedOverMs = append(rep.ConnectedOverMs, Point{float64(time.Since(start).Microseconds()) / 1000, int(connected.Load())})
			select {
			case <-stopSampler:
				return
			case <-t.C:
			}
		}
	}()
	for i := 0; i < o.clients; i++ {
		if o.joinRate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / o.joinRate * float64(time.Second)))))
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			udp, err := net.DialUDP("udp", clientSource(o.sources, i), raddr)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), o.handshake)
				var c *dtls.Conn
				c, err = dtls.ClientWithContext(ctx, alertCounter{udp, &closing, &alerts}, clientConfig())
				cancel()
				if err == nil {
					conns[i] = c
					joinMs[i] = float64(time.Since(t0).Microseconds()) / 1000
					connected.Add(1)
					return
				}
				udp.Close()
			}
			errMu.Lock()
			if rep.FirstError == "" {
				rep.FirstError = err.Error()
			}
			errMu.Unlock()
		}(i)
	}
	wg.Wait()
	rep.AllConnectedMs = float64(time.Since(start).Microseconds()) / 1000
	close(stopSampler)
	<-samplerDone
	var joined []float64
	var live []*dtls.Conn
	for i, c := range conns {
		if c != nil {
			joined = append(joined, joinMs[i])
			live = append(live, c)
		}
	}
	rep.Connected = len(live)
	rep.Failed = o.clients - len(live)
	rep.JoinMs = percents(joined)
	if o.echo > 0 && len(live) > 0 {
		rep.Echo = echo(live, o)
	}
	if o.hold > 0 {
		time.Sleep(o.hold)
	}
	closing.Store(true)
	if o.together {
		var wg sync.WaitGroup
		for _, c := range live {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.Close()
			}()
		}
		wg.Wait()
	} else {
		for _, c := range live {
			_ = c.Close()
		}
	}
	rep.CloseNotifies = int(alerts.Load())
	return rep
}

// alertCounter is a client's socket that counts the alert records it
// writes once closing is set (a datagram whose first record is an alert).
type alertCounter struct {
	*net.UDPConn
	closing *atomic.Bool
	alerts  *atomic.Int64
}

func (a alertCounter) Write(b []byte) (int, error) {
	n, err := a.UDPConn.Write(b)
	if err == nil && len(b) > 0 && b[0] == 21 && a.closing.Load() {
		a.alerts.Add(1)
	}
	return n, err
}

// echo keeps o.inflight packets outstanding per client (or sends at o.rate)
// and matches replies by sequence number.
func echo(conns []*dtls.Conn, o options) *Echo {
	var sent, received atomic.Uint64
	var rttMu sync.Mutex
	var rtts []float64
	deadline := time.Now().Add(o.echo)
	var wg sync.WaitGroup
	for ci, c := range conns {
		wg.Add(2)
		window := make(chan struct{}, max(o.inflight, 1))
		for i := 0; i < cap(window); i++ {
			window <- struct{}{}
		}
		stop := make(chan struct{})
		go func(ci int, c *dtls.Conn) { // sender
			defer wg.Done()
			buf := make([]byte, o.size)
			var seq uint64
			var tick *time.Ticker
			if o.rate > 0 {
				tick = time.NewTicker(time.Duration(float64(time.Second) / o.rate))
				defer tick.Stop()
			}
			for time.Now().Before(deadline) {
				if tick != nil {
					select {
					case <-tick.C:
					case <-stop:
						return
					}
				} else {
					select {
					case <-window:
					case <-time.After(time.Until(deadline)):
						return
					case <-stop:
						return
					}
				}
				seq++
				binary.BigEndian.PutUint64(buf[0:], seq)
				binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().UnixNano()))
				if _, err := c.Write(buf); err != nil {
					return
				}
				sent.Add(1)
			}
		}(ci, c)
		go func(c *dtls.Conn) { // receiver
			defer wg.Done()
			defer close(stop)
			buf := make([]byte, 65536)
			for {
				_ = c.SetReadDeadline(deadline.Add(2 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					_ = c.SetReadDeadline(time.Time{})
					return
				}
				if n >= 16 {
					sentAt := int64(binary.BigEndian.Uint64(buf[8:]))
					rttMu.Lock()
					rtts = append(rtts, float64(time.Now().UnixNano()-sentAt)/1e6)
					rttMu.Unlock()
				}
				received.Add(1)
				select {
				case window <- struct{}{}:
				default:
				}
			}
		}(c)
	}
	wg.Wait()
	e := &Echo{Seconds: o.echo.Seconds(), Sent: sent.Load(), Received: received.Load()}
	if e.Sent > e.Received {
		e.Lost = e.Sent - e.Received
	}
	e.PPS = float64(e.Received) / o.echo.Seconds()
	e.RTTMs = percents(rtts)
	return e
}

func percents(v []float64) Percents {
	if len(v) == 0 {
		return Percents{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Percents{P50: at(0.5), P99: at(0.99), Max: s[len(s)-1]}
}

func init() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: loadgen [flags]  (prints a JSON report)")
		flag.PrintDefaults()
	}
}
