package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"godtls/extension/credentials"
	"godtls/extension/internal/testtool"
	"godtls/extension/link"
	"godtls/extension/suites"
)

// TestMain doubles as the idle-client helper process of BenchmarkIdlePeers:
// clients live in their own process so their memory is not the server's.
func TestMain(m *testing.M) {
	if addr := os.Getenv("GODTLS_HELPER_CLIENTS_ADDR"); addr != "" {
		n, _ := strconv.Atoi(os.Getenv("GODTLS_HELPER_CLIENTS_N"))
		os.Exit(helperClients(addr, n))
	}
	os.Exit(m.Run())
}

func helperClients(addr string, n int) int {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 2
	}
	var conns []*dtls.Conn
	for i := 0; i < n; i++ {
		udp, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := dtls.ClientWithContext(ctx, udp, clientConfig(suites.ECDSAKey))
		cancel()
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		conns = append(conns, c)
	}
	fmt.Println("connected", len(conns))
	// stay until the parent closes our stdin
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
	return 0
}

// BenchmarkHandshake compares sequential handshakes through the engine with
// raw pion v2 (dtls.Listen + Accept) in the same process, same certificate,
// same ChaCha20 suite, same client.
func BenchmarkHandshake(b *testing.B) {
	b.Run("engine", func(b *testing.B) {
		s, _ := startServer(b, suites.ECDSAKey, Config{})
		defer s.Stop()
		cfg := clientConfig(suites.ECDSAKey)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := dial(b, s, cfg)
			p := waitTake(b, s)
			_ = c.Close()
			p.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
	b.Run("raw_pion", func(b *testing.B) {
		pair := mustPair(b)
		cert, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		scfg := &dtls.Config{
			Certificates:         []tlsCertificate{cert.TLS},
			ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
			LoggerFactory:        &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
		}
		suites.Apply(scfg, suites.ECDSAKey, true, nil)
		ln, err := dtls.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, scfg)
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		raddr := ln.Addr().(*net.UDPAddr)
		cfg := clientConfig(suites.ECDSAKey)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			udp, err := net.DialUDP("udp", nil, raddr)
			if err != nil {
				b.Fatal(err)
			}
			c, err := dtls.Client(udp, cfg)
			if err != nil {
				b.Fatal(err)
			}
			sc := <-accepted
			_ = c.Close()
			_ = sc.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
}

func waitTake(b testing.TB, s *Server) *Peer {
	var p *Peer
	for p == nil {
		if p = s.TakeConnection(); p == nil {
			time.Sleep(20 * time.Microsecond) // a game loop polls; it does not spin
		}
	}
	return p
}

// BenchmarkEcho measures round trips through the engine with one peer: the
// client writes, the "game loop" receives and sends back, the client reads.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			// One client's ping-pong, 20,000-30,000 round trips a second:
			// past the default packet budget of a player, which a game's
			// client never comes near.
			s, _ := startServer(b, suites.ECDSAKey, Config{PeerPacketRate: NoLimit})
			defer s.Stop()
			c := dial(b, s, clientConfig(suites.ECDSAKey))
			defer c.Close()
			p := waitTake(b, s)
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if pk, ok := p.Receive(); ok {
						_ = p.Send(pk)
					} else {
						time.Sleep(20 * time.Microsecond)
					}
				}
			}()
			defer close(stop)
			msg := make([]byte, size)
			buf := make([]byte, 2048)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "echoes/s")
		})
	}
}

// BenchmarkIdlePeers connects 1,000 idle clients from a helper process and
// reports what each connected peer costs the server: Go heap plus goroutine
// stacks, and process RSS. listen: the engine owns the socket; attach: the
// take_connection(udp_peer) mode, the socket and the per-frame datagram
// moves played by udpPump as Godot's UDPServer would. Run each in its own
// process with -benchtime=1x: RSS never shrinks.
func BenchmarkIdlePeers(b *testing.B) {
	const n = 1000
	b.Run("listen", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s, _ := startServer(b, suites.ECDSAKey, Config{MaxPeers: 2 * n, MaxPeersPerIP: NoLimit}) // one helper process, one address
			idlePeerCost(b, n, serverAddr(s), func() int { return s.Stats().Peers }, func() {
				for s.TakeConnection() != nil {
				}
			})
			s.Stop()
		}
	})
	b.Run("attach", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := newAttachServer(b)
			if err := s.SetConfig(Config{MaxPeers: 2 * n, MaxPeersPerIP: NoLimit}); err != nil {
				b.Fatal(err)
			}
			u := newPump(b, s, 2*time.Millisecond) // frames short enough that 1,000 sequential joins take seconds
			ctx, cancel := context.WithCancel(context.Background())
			done := u.run(ctx)
			idlePeerCost(b, n, u.addr(), func() int {
				u.mu.Lock()
				defer u.mu.Unlock()
				connected := 0
				for _, p := range u.peers {
					if p.Status() == link.StatusConnected {
						connected++
					}
				}
				return connected
			}, func() {})
			cancel()
			<-done
			_ = u.sock.Close()
			s.Stop()
		}
	})
}

// idlePeerCost starts the helper's n clients against addr, waits until
// connected() counts them all, runs settle, and reports the cost per peer.
func idlePeerCost(b *testing.B, n int, addr string, connected func() int, settle func()) {
	heap0, stack0 := testtool.MemNow()
	rss0 := testtool.RSSKiB()
	g0 := runtime.NumGoroutine()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODTLS_HELPER_CLIENTS_ADDR="+addr, "GODTLS_HELPER_CLIENTS_N="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasPrefix(line, "connected") {
		b.Fatalf("helper: %q", line)
	}
	waitFor(b, "peers", func() bool { return connected() == n })
	settle()
	heap1, stack1 := testtool.MemNow()
	rss1 := testtool.RSSKiB()
	if path := os.Getenv("GODTLS_IDLE_HEAPPROFILE"); path != "" {
		// what the idle peers hold, for go tool pprof -sample_index=inuse_space
		writeHeapProfile(b, path+"."+strings.ReplaceAll(b.Name(), "/", "_"))
	}
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(n), "goroutines/peer")
	b.ReportMetric(float64(heap1-heap0)/float64(n)/1024, "heapKiB/peer")
	b.ReportMetric(float64(stack1-stack0)/float64(n)/1024, "stackKiB/peer")
	b.ReportMetric(float64(heap1-heap0+stack1-stack0)/float64(n)/1024, "goKiB/peer")
	b.ReportMetric(float64(rss1-rss0)/float64(n), "rssKiB/peer")
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}
