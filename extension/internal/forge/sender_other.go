//go:build !unix

package forge

import (
	"errors"
	"net/netip"
	"testing"
)

// errNoRawUDP is why no Sender opens here: Windows refuses a raw socket a
// UDP datagram with a source address not the host's own (since XP SP2),
// which is all a Sender is for.
var errNoRawUDP = errors.New("forging a source ip:port needs a raw socket that may send UDP, which this system does not give")

// Sender is the type the attack tests share; here none opens.
type Sender struct{}

// NewSender says why there is no Sender on this system.
func NewSender() (*Sender, error) { return nil, errNoRawUDP }

// NeedSender skips t, saying so: nothing here can forge a datagram.
func NeedSender(t testing.TB) *Sender {
	t.Helper()
	t.Skipf("SKIPPED: %v", errNoRawUDP)
	return nil
}

// Close does nothing: no Sender opens here.
func (*Sender) Close() error { return nil }

// Send fails: no Sender opens here.
func (*Sender) Send(netip.AddrPort, netip.AddrPort, []byte) error { return errNoRawUDP }

// Report fails: no Sender opens here.
func (*Sender) Report(ICMPReport, netip.AddrPort, netip.AddrPort) error { return errNoRawUDP }
