package client

import (
	"context"
	"crypto/x509"
	"fmt"
	"godtls/extension/limits"
	"godtls/extension/link"
	"godtls/extension/netsim"
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
	// with no packet from the server between them, end a connection (over
	// at least refusedFor) or a handshake (refusals.go): one spoofed report
	// must not.
	unreachableLimit = 3
	// refusedFor is the least time the reports in a row must span to end a
	// connection: a forged burst comes at once, a vanished server's reports
	// as long as the game sends.
	refusedFor = 2 * time.Second
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

	// Network simulates a bad network on the connection's socket (package
	// netsim); nil: a link set as GODTLS_SIMULATE says.
	Network *netsim.Link
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	return limits.First(
		limits.Range(ErrBadConfig, "handshake_timeout", c.HandshakeTimeout, 0, MaxHandshakeTimeout),
		orDefault(c.MTU, limits.Range(ErrBadConfig, "mtu", c.MTU, MinMTU, MaxMTU)),
		limits.AtLeast(ErrBadConfig, "the receive queue", c.RecvQueue, 0),
		limits.AtLeast(ErrBadConfig, "the receive queue's bytes", c.RecvQueueBytes, 0),
		c.validatePSK(),
	)
}

// orDefault lets 0 (the default) through a range check.
func orDefault(v int, err error) error {
	if v == 0 {
		return nil
	}
	return err
}

func (c Config) validatePSK() error {
	switch {
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
	if c.Network == nil {
		c.Network = netsim.NewProcessLink()
	}
	limits.Default(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	limits.Default(&c.MTU, DefaultMTU)
	limits.Default(&c.RecvQueue, DefaultRecvQueue)
	limits.Default(&c.RecvQueueBytes, DefaultRecvQueueBytes)
	return c
}
