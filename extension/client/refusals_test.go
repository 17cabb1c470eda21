package client

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/transport/v2/test"

	"godtls/extension/internal/forge"
	"godtls/extension/internal/testcert"
	"godtls/extension/internal/testsock"
	"godtls/extension/internal/udprelay"
	"godtls/extension/link"
	"godtls/extension/suites"
)

// families are the address families the report tests run over, each with
// the reports Linux hands a connected socket there, and its port
// unreachable among them.
var families = []struct {
	name, loopback string
	reports        []forge.ICMPReport
	unreachable    forge.ICMPReport
}{
	{"IPv4", "127.0.0.1", forge.HardReports, forge.PortUnreachable},
	{"IPv6", "::1", forge.HardReports6, forge.PortUnreachable6},
}

// An attacker who knows the client's port forges ICMP error reports from
// the server's address at every flight the client sends: unreachableLimit-1
// of them in a row, each time, before the flight reaches the server, of each
// kind Linux hands to a connected socket, over IPv4 and IPv6. The handshake
// goes on and the client echoes; before the rule of refusals.go the first
// report ended the attempt.
func TestSpoofedReportsCannotEndTheHandshake(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	fs := forge.NeedSender(t)
	for _, family := range families {
		t.Run(family.name, func(t *testing.T) {
			testsock.NeedLoopback(t, family.loopback)
			s := engineServerAt(t, family.loopback, testcert.ECDSA(t), nil, echoFrame)
			server := net.JoinHostPort(family.loopback, fmt.Sprint(s.LocalPort()))
			for _, report := range family.reports {
				t.Run(report.Name, func(t *testing.T) {
					var (
						relay    atomic.Pointer[udprelay.Relay] // set before the client starts
						mu       sync.Mutex
						flights  [][]byte // the client's datagrams, each once
						reported int
					)
					r := udprelay.New(t, server, func(b []byte) bool {
						mu.Lock()
						defer mu.Unlock()
						if slices.ContainsFunc(flights, func(f []byte) bool { return bytes.Equal(f, b) }) {
							return true // a probe: the datagram again, as it was
						}
						flights = append(flights, slices.Clone(b))
						if len(flights) > 3 { // the ClientHello, with the cookie, the key exchange
							return true
						}
						r := relay.Load()
						client, front := r.LastClient().AddrPort(), netip.MustParseAddrPort(r.Addr())
						for i := range unreachableLimit - 1 {
							if i > 0 {
								time.Sleep(30 * time.Millisecond) // the client's read takes the first
							}
							if err := fs.Report(report, client, front); err != nil {
								t.Error(err)
							}
							reported++
						}
						return true
					}, nil)
					relay.Store(r)
					defer r.Close()
					c := connectTo(t, family.loopback, r.Port(), Config{Insecure: true})
					defer c.Close()
					mustConnect(t, c)
					echo(t, c, "after the forged reports")
					mu.Lock()
					defer mu.Unlock()
					if reported != 3*(unreachableLimit-1) {
						t.Fatalf("%d reports forged at %d flights, want %d", reported, len(flights), 3*(unreachableLimit-1))
					}
				})
			}
		})
	}
}

// Once connected, a forged report costs no packet. The system hands a
// report to the socket's next call, and when that is the client's write,
// the write fails and its datagram is not sent: before udpsock.WriteDialed
// a packet sent right after a report was lost. Here each kind of report
// comes right before a packet, five times, over IPv4 and IPv6, on the
// engine's own record layer and on pion's (a server that speaks only
// AES-CBC); every packet must come back, and the connection stays.
func TestSpoofedReportsCostNoPacket(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	fs := forge.NeedSender(t)
	for _, family := range families {
		t.Run(family.name, func(t *testing.T) {
			testsock.NeedLoopback(t, family.loopback)
			servers := []struct {
				name   string
				port   int
				chacha bool
			}{
				{"the engine's record layer", engineServerAt(t, family.loopback, testcert.ECDSA(t), nil, echoFrame).LocalPort(), true},
				{"pion's, on AES-CBC", pionServer(t, family.loopback, []dtls.CipherSuiteID{suites.CBCFallback(suites.ECDSAKey)}, echoConn).Port, false},
			}
			for _, srv := range servers {
				t.Run(srv.name, func(t *testing.T) {
					c := connectTo(t, family.loopback, srv.port, Config{Insecure: true})
					defer c.Close()
					mustConnect(t, c)
					if suites.IsChaCha(c.CipherSuite()) != srv.chacha {
						t.Fatalf("suite %v", c.CipherSuite())
					}
					loopback := netip.MustParseAddr(family.loopback)
					client := netip.AddrPortFrom(loopback, c.LocalAddr().Port())
					server := netip.AddrPortFrom(loopback, uint16(srv.port))
					for _, report := range family.reports {
						for i := range 5 {
							if err := fs.Report(report, client, server); err != nil {
								t.Fatal(err)
							}
							echo(t, c, fmt.Sprintf("right after %s %d", report.Name, i))
						}
					}
					if c.Status() != link.StatusConnected {
						t.Fatalf("status %v after the reports", c.Status())
					}
				})
			}
		})
	}
}

// Once connected, a burst of forged port-unreachable reports, with the
// server silent meanwhile (nothing to reset the count), does not end the
// connection: the reports in a row must also span refusedFor. Before that
// rule three reports ended it, so an attacker who guessed the client's port
// (a NAT's mapping: at most 65,536 tries of three datagrams each) could end
// any player's connection without seeing a packet of it. Over IPv4 and
// IPv6, 20 reports 5 ms apart.
func TestABurstOfForgedUnreachablesCannotEndAConnection(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	fs := forge.NeedSender(t)
	for _, family := range families {
		t.Run(family.name, func(t *testing.T) {
			testsock.NeedLoopback(t, family.loopback)
			s := engineServerAt(t, family.loopback, testcert.ECDSA(t), nil, echoFrame)
			c := connectTo(t, family.loopback, s.LocalPort(), Config{Insecure: true})
			defer c.Close()
			mustConnect(t, c)
			echo(t, c, "before the reports")
			loopback := netip.MustParseAddr(family.loopback)
			client := netip.AddrPortFrom(loopback, c.LocalAddr().Port())
			server := netip.AddrPortFrom(loopback, uint16(s.LocalPort()))
			for range 20 {
				if err := fs.Report(family.unreachable, client, server); err != nil {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // the read loop takes the last ones
			if c.Status() != link.StatusConnected {
				t.Fatalf("status %v after a burst of forged reports: %s", c.Status(), c.LastError())
			}
			echo(t, c, "after the reports")
		})
	}
}

// A port where nothing listens still fails as unreachable, and at once: a
// report the client survives is followed by its last datagram again, as it
// was (a probe), rather than by pion's retransmission a second later, which
// is a new record. Here a socket answers each datagram with a forged report,
// as a host does for a closed port, and keeps what it got.
func TestUnreachablePortIsProbed(t *testing.T) {
	t.Cleanup(test.CheckRoutines(t))
	fs := forge.NeedSender(t)
	sock, err := testsock.ListenAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := sock.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			got = append(got, slices.Clone(buf[:n]))
			if err := fs.Report(forge.PortUnreachable, from, sock.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
				t.Error(err)
			}
		}
	}()
	c := connect(t, sock.LocalAddr().(*net.UDPAddr).Port, Config{Insecure: true, HandshakeTimeout: wait})
	f := mustFail(t, c, FailUnreachable, link.StatusError)
	sock.Close()
	<-done
	probes := 0
	for _, d := range got[1:] {
		if bytes.Equal(d, got[0]) {
			probes++
		}
	}
	t.Logf("%d datagrams, %d of them probes; %v", len(got), probes, f)
	if probes < unreachableLimit-1 {
		t.Fatalf("%d datagrams before the failure, %d of them the ClientHello again as it was; want %d probes", len(got), probes, unreachableLimit-1)
	}
}
