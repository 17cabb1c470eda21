package main

import (
	"fmt"
	"net"

	"godtls/extension/internal/flood"
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
	hello, err := flood.CaptureClientHello(clientConfig())
	if err != nil {
		return nil, nil, err
	}
	var socks []net.PacketConn
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
	sent, done := flood.Send(socks, raddr, hello, rate, stop)
	wait := func() {
		done()
		for _, s := range socks {
			s.Close()
		}
		f.Sent = sent.Load()
	}
	return f, wait, nil
}
