package client

import (
	"context"
	"crypto/x509"
	"fmt"
	"godtls/extension/link"
	"net/netip"
	"time"
)

// The configuration of a connection attempt: its settings, their bounds and
// defaults.

// Defaults and bounds.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	MaxHandshakeTimeout     = 24 * time.Hour
	DefaultMTU              = 1400
	MinMTU                  = 256
	MaxMTU                  = link.MaxRecord
	DefaultRecvQueue        = 1024
	DefaultRecvQueueBytes   = 1 << 20
	sendQueue               = 8192
	sendQueueBytes          = 16 << 20
	// unreachableLimit is how many ICMP port-unreachable reports in a row,
	// with no packet from the server between them, end a connection: one
	// spoofed report must not.
	unreachableLimit = 3
)

// Config describes one connection attempt. Certificates are verified
// against RootCAs (nil: the system's roots) and ServerName unless Insecure;
// with a PSKIdentity the handshake uses the pre-shared key instead.
type Config struct {
	RootCAs    *x509.CertPool
	ServerName string // what the certificate must name; "" means the host
	Insecure   bool   // no certificate verification (tests only)
	// AnyName verifies the chain against RootCAs but not the name, as
	// Godot's TLSOptions.client_unsafe(chain) does.
	AnyName bool

	PSKIdentity string
	PSKKey      []byte

	HandshakeTimeout time.Duration // 0: DefaultHandshakeTimeout
	MTU              int           // 0: DefaultMTU
	RecvQueue        int           // packets; 0: DefaultRecvQueue
	RecvQueueBytes   int           // 0: DefaultRecvQueueBytes

	// Resolve looks a host name up; nil uses the system resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	switch {
	case c.HandshakeTimeout < 0 || c.HandshakeTimeout > MaxHandshakeTimeout:
		return fmt.Errorf("%w: handshake_timeout must be between 0 and %v, got %v", ErrBadConfig, MaxHandshakeTimeout, c.HandshakeTimeout)
	case c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU):
		return fmt.Errorf("%w: mtu must be between %d and %d, got %d", ErrBadConfig, MinMTU, MaxMTU, c.MTU)
	case c.RecvQueue < 0 || c.RecvQueueBytes < 0:
		return fmt.Errorf("%w: queue sizes must not be negative", ErrBadConfig)
	case c.PSKIdentity != "" && len(c.PSKKey) == 0:
		return fmt.Errorf("%w: the PSK key is empty", ErrBadConfig)
	case c.PSKIdentity == "" && len(c.PSKKey) > 0:
		return fmt.Errorf("%w: the PSK identity is empty", ErrBadConfig)
	case len(c.PSKIdentity) > 128:
		return fmt.Errorf("%w: the PSK identity is longer than 128 bytes", ErrBadConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.RecvQueue == 0 {
		c.RecvQueue = DefaultRecvQueue
	}
	if c.RecvQueueBytes == 0 {
		c.RecvQueueBytes = DefaultRecvQueueBytes
	}
	return c
}
