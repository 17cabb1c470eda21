// Package flood makes the spoofed ClientHello floods that the attack tests,
// the engine benchmarks and the load generator send: cookieless
// ClientHellos, each with a fresh random, from many local sockets, none of
// which ever answers a HelloVerifyRequest (as a forged source cannot).
package flood

import (
	"context"
	"crypto/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// CaptureClientHello records the first datagram a pion client with cfg
// sends, and returns once that client has given up.
func CaptureClientHello(cfg *dtls.Config) ([]byte, error) {
	// udpsock's sockets, which also open under Wine (Go's are refused there)
	sink, err := udpsock.Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := udpsock.Dial(sink.LocalAddr().(*net.UDPAddr))
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _ = dtls.ClientWithContext(ctx, c, cfg)
		c.Close()
	}()
	defer func() { <-done }()
	buf := make([]byte, 4096)
	_ = sink.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := sink.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), buf[:n]...), nil
}

// Send sends about rate copies of hello per second to dst, each with a
// fresh random, round robin over socks, until stop closes. wait returns
// once the sender has stopped; sent counts what it sent.
func Send(socks []net.PacketConn, dst net.Addr, hello []byte, rate int, stop <-chan struct{}) (sent *atomic.Int64, wait func()) {
	sent = new(atomic.Int64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		h := append([]byte(nil), hello...)
		random := h[wire.RecordHeaderLen+wire.HandshakeHeaderLen+2:][:wire.RandomLen]
		for n := 0; ; {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for k := 0; k < rate/100; k++ {
				_, _ = rand.Read(random)
				_, _ = socks[n%len(socks)].WriteTo(h, dst)
				n++
				sent.Add(1)
			}
		}
	}()
	return sent, wg.Wait
}
