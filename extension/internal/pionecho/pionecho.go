// Package pionecho is the raw pion v2 echo server the benchmarks measure
// the engine against, in the same run: pion's own UDP demultiplexer
// (dtls.Listen's), a goroutine per handshake and per connection echoing
// every record, the engine's ChaCha20-Poly1305 suites.
package pionecho

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"
	"github.com/pion/transport/v2/udp"

	"godtls/extension/credentials"
	"godtls/extension/suites"
)

// Start listens on a free port of 127.0.0.1 and echoes until stop.
// allowCBC also offers pion's CBC suite of the certificate's kind.
func Start(cert *credentials.Certificate, allowCBC bool) (addr string, stop func(), err error) {
	cfg := &dtls.Config{
		Certificates:         []tls.Certificate{cert.TLS},
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled},
	}
	suites.Apply(cfg, cert.Kind, allowCBC, nil)
	ln, err := udp.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go echo(c, cfg)
		}
	}()
	return ln.Addr().String(), func() { _ = ln.Close() }, nil
}

func echo(c net.Conn, cfg *dtls.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := dtls.ServerWithContext(ctx, c, cfg)
	if err != nil {
		c.Close()
		return
	}
	defer dc.Close()
	buf := make([]byte, 16384)
	for {
		n, err := dc.Read(buf)
		if err != nil {
			return
		}
		_, _ = dc.Write(buf[:n])
	}
}
