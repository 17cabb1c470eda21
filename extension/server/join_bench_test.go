package server

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/udp"

	"godtls/extension/credentials"
	"godtls/extension/internal/flood"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testtool"
	"godtls/extension/suites"
)

// BenchmarkJoinStorm: 100 clients start at once, from one address (players
// behind one NAT) or from 100 (127.0.0.1-100), against the engine with its
// default limits and against raw pion v2 (one goroutine per handshake behind
// pion's own UDP listener), in the same process with the same certificate,
// suite and clients. Reports milliseconds until every client is in; the
// ratio engine/raw pion is the number that matters (run both side by side:
// go test -run '^$' -bench JoinStorm -benchtime 1x -count 3).
func BenchmarkJoinStorm(b *testing.B) {
	const clients = 100
	ecdsa := testcert.ECDSA(b)
	rsa := testcert.RSA(b, 4096)
	for _, key := range []struct {
		name string
		kind suites.KeyKind
		pair testcert.Pair
	}{{"ecdsa", suites.ECDSAKey, ecdsa}, {"rsa4096", suites.RSAKey, rsa}} {
		cert, err := credentials.FromPEM(key.pair.KeyPEM, key.pair.CertPEM, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for _, sources := range []int{1, 100} {
			for _, target := range []string{"engine", "raw_pion"} {
				b.Run(fmt.Sprintf("%s/%d_addresses/%s", key.name, sources, target), func(b *testing.B) {
					var all []float64
					for i := 0; i < b.N; i++ {
						addr, stop := joinTarget(b, target, key.kind, cert)
						ms, err := storm(addr, clients, sources, key.kind)
						stop()
						if err != nil {
							b.Fatal(err)
						}
						all = append(all, ms)
					}
					sort.Float64s(all)
					b.ReportMetric(all[len(all)/2], "ms_all_in")
				})
			}
		}
	}
}

// joinTarget starts the engine or a raw pion server and returns its address.
func joinTarget(b *testing.B, target string, kind suites.KeyKind, cert *credentials.Certificate) (string, func()) {
	if target == "engine" {
		s := New(Config{})
		if err := s.SetCertificate(cert); err != nil {
			b.Fatal(err)
		}
		if err := s.Listen(0, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
		return serverAddr(s), s.Stop
	}
	cfg := &dtls.Config{
		Certificates:         []tlsCertificate{cert.TLS},
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
	}
	suites.Apply(cfg, kind, true, nil)
	ln, err := udp.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				dc, err := dtls.ServerWithContext(ctx, c, cfg)
				if err != nil {
					c.Close()
					return
				}
				mu.Lock()
				conns = append(conns, dc)
				mu.Unlock()
			}()
		}
	}()
	return ln.Addr().String(), func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// storm starts n clients at once from the given number of source addresses
// and returns the milliseconds until the last one is in.
func storm(addr string, n, sources int, kind suites.KeyKind) (float64, error) {
	raddr, _ := net.ResolveUDPAddr("udp", addr)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make([]*dtls.Conn, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			laddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%sources))}
			u, err := net.DialUDP("udp", laddr, raddr)
			if err != nil {
				errs <- err
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := dtls.ClientWithContext(ctx, u, clientConfig(kind))
			if err != nil {
				u.Close()
				errs <- err
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	ms := float64(time.Since(start).Microseconds()) / 1000
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	close(errs)
	return ms, <-errs
}

// BenchmarkSpoofedFlood: a sustained flood of cookieless ClientHellos with
// fresh randoms from 2,048 ports on 16 addresses (127.0.0.100-115) at
// 10,000 per second, while 20 genuine clients, each from its own address,
// join. Reports the genuine clients' join times, the most ClientHellos one
// needed (2 = no retransmission), heap growth and the sessions the flood made
// pion start. Default limits.
func BenchmarkSpoofedFlood(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, _ := startServer(b, suites.ECDSAKey, Config{})
		hello := captureClientHello(b)
		heapBefore := heapInUse()
		stop := make(chan struct{})
		sent, wait := floodFrom(b, s, hello, 2048, 10000, stop)
		time.Sleep(time.Second) // the flood is in full swing
		var mu sync.Mutex
		var joins []float64
		worst := 0
		concurrently(b, 20, func(i int) error {
			t0 := time.Now()
			c, hellos, err := dialCounting(s, clientConfig(suites.ECDSAKey), "127.0.0."+itoa(2+i)+":0")
			if err != nil {
				return err
			}
			c.Close()
			mu.Lock()
			joins = append(joins, float64(time.Since(t0).Microseconds())/1000)
			worst = max(worst, hellos)
			mu.Unlock()
			return nil
		})
		time.Sleep(time.Second)
		growth := int64(heapInUse()) - int64(heapBefore)
		close(stop)
		wait()
		st := s.Stats()
		s.Stop()
		sort.Float64s(joins)
		if len(joins) == 0 {
			b.Fatal("no genuine client got in")
		}
		b.ReportMetric(joins[len(joins)/2], "join_p50_ms")
		b.ReportMetric(joins[len(joins)-1], "join_max_ms")
		b.ReportMetric(float64(worst), "max_hellos")
		b.ReportMetric(float64(growth)/(1<<20), "heap_growth_MiB")
		b.ReportMetric(float64(sent.Load()), "flood_hellos")
		b.ReportMetric(float64(st.Evicted)+float64(st.Unverified), "flood_sessions")
	}
}

// BenchmarkUnverifiedCost: what one address that sent a ClientHello and
// never echoed its cookie costs: goroutines and heap per unverified session,
// 1,000 of them (default pool 1,024), from 1,000 ports on 10 addresses.
func BenchmarkUnverifiedCost(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		s, _ := startServer(b, suites.ECDSAKey, Config{HandshakeTimeout: time.Minute})
		hello := captureClientHello(b)
		dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
		heap0, stack0 := testtool.MemNow()
		g0 := runtime.NumGoroutine()
		for k := 0; k < n; k++ {
			sock := listenOn(b, "127.0.0."+itoa(100+k%10)+":0")
			sock.WriteTo(withRandom(hello, byte(k)), dst)
		}
		waitFor(b, "unverified sessions", func() bool { return s.Stats().Unverified == n })
		time.Sleep(200 * time.Millisecond)
		heap1, stack1 := testtool.MemNow()
		g1 := runtime.NumGoroutine()
		b.ReportMetric(float64(g1-g0)/n, "goroutines/addr")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/n/1024, "heap_KiB/addr")
		b.ReportMetric(float64(int64(stack1)-int64(stack0))/n/1024, "stack_KiB/addr")
		s.Stop()
	}
}

// BenchmarkFloodFromFewAddresses: 10,000 ports on 8 addresses
// (127.0.0.100-107) send cookieless ClientHellos at 10,000 per second, so
// every flooding address sits at its per-IP caps of the pool and the
// queue, while one genuine client from 127.0.0.2 joins 20 times in a row.
// Reports its join times and how many took under a second: admission work
// per flood datagram that grows with the pool or the queue shows here as
// the genuine ClientHello waiting in the socket backlog.
func BenchmarkFloodFromFewAddresses(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, _ := startServer(b, suites.ECDSAKey, Config{})
		hello := captureClientHello(b)
		dst, _ := net.ResolveUDPAddr("udp", serverAddr(s))
		var socks []net.PacketConn
		for k := 0; k < 10000; k++ {
			socks = append(socks, listenOn(b, "127.0.0."+itoa(100+k%8)+":0"))
		}
		stop := make(chan struct{})
		sent, wait := flood.Send(socks, dst, hello, 10000, stop)
		time.Sleep(time.Second) // the flood is in full swing
		var joins []float64
		under := 0
		for j := 0; j < 20; j++ {
			t0 := time.Now()
			c, _, err := dialCounting(s, clientConfig(suites.ECDSAKey), "127.0.0.2:0")
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			c.Close()
			joins = append(joins, float64(d.Microseconds())/1000)
			if d < time.Second {
				under++
			}
		}
		close(stop)
		wait()
		if p := s.Stats().Panics; p != 0 {
			b.Fatalf("%d internal errors while routing the flood", p)
		}
		s.Stop()
		for _, sk := range socks {
			sk.Close()
		}
		sort.Float64s(joins)
		b.ReportMetric(joins[len(joins)/2], "join_p50_ms")
		b.ReportMetric(joins[len(joins)-1], "join_max_ms")
		b.ReportMetric(float64(under), "joins_under_1s_of_20")
		b.ReportMetric(float64(sent.Load()), "flood_hellos")
	}
}
