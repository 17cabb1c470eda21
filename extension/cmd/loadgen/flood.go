package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/wire"
)

// A spoofed flood beside the genuine clients: cookieless ClientHellos, each
// with a fresh random, from many sockets on 127.0.0.100-115 (any address in
// 127.0.0.0/8 is local), at a fixed rate. None of them ever answers a
// HelloVerifyRequest, as a spoofed source cannot.

// Flood is what the flood did.
type Flood struct {
	Rate    int   `json:"rate_per_second"`
	Sources int   `json:"sources"`
	Sent    int64 `json:"hellos_sent"`
}

// startFlood sends rate ClientHellos per second to raddr until stop closes.
func startFlood(raddr *net.UDPAddr, rate, sources int, stop <-chan struct{}) (*Flood, func(), error) {
	hello, err := captureClientHello()
	if err != nil {
		return nil, nil, err
	}
	var socks []*net.UDPConn
	for i := 0; i < sources; i++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(100+i%16))})
		if err != nil {
			for _, s := range socks {
				s.Close()
			}
			return nil, nil, fmt.Errorf("flood socket %d: %w", i, err)
		}
		socks = append(socks, c)
	}
	f := &Flood{Rate: rate, Sources: sources}
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		h := append([]byte(nil), hello...)
		at := wire.RecordHeaderLen + wire.HandshakeHeaderLen + 2
		for n := 0; ; {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for k := 0; k < rate/100; k++ {
				_, _ = rand.Read(h[at : at+wire.RandomLen])
				_, _ = socks[n%len(socks)].WriteToUDP(h, raddr)
				n++
				sent.Add(1)
			}
		}
	}()
	wait := func() {
		wg.Wait()
		for _, s := range socks {
			s.Close()
		}
		f.Sent = sent.Load()
	}
	return f, wait, nil
}

// captureClientHello records the first datagram a client of ours sends.
func captureClientHello() ([]byte, error) {
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	go func() {
		c, err := net.Dial("udp", sink.LocalAddr().String())
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _ = dtls.ClientWithContext(ctx, c, clientConfig())
		c.Close()
	}()
	buf := make([]byte, 4096)
	_ = sink.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := sink.ReadFrom(buf)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), buf[:n]...), nil
}
