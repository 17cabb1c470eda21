package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"godtls/extension/internal/forge"
)

// TestReportsAreRecognized forges every ICMP error report that Linux hands
// to a connected socket at a dialed socket here, over IPv4 and IPv6, and
// checks that each one its read fails with is one Reported knows: a
// GoDTLSClient's handshake survives only reports it recognizes
// (client/refusals.go), and one it did not would end the handshake. Under
// Wine or Proton the socket is Linux's and Wine renames Linux's errors; a
// real Windows reports port unreachable only. Forging needs a raw socket
// (root under Wine, an administrator on Windows); without one the test
// says SKIPPED.
func TestReportsAreRecognized(t *testing.T) {
	families := []struct {
		name          string
		family, level int
		loopback      netip.Addr
		reports       []forge.ICMPReport
		packet        func(forge.ICMPReport, netip.AddrPort, netip.AddrPort) ([]byte, error)
	}{
		{"IPv4", syscall.AF_INET, syscall.IPPROTO_IP, netip.AddrFrom4([4]byte{127, 0, 0, 1}), forge.HardReports, forge.ReportPacket},
		{"IPv6", syscall.AF_INET6, syscall.IPPROTO_IPV6, netip.IPv6Loopback(), forge.HardReports6, forge.ReportPacket6},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			raw, err := syscall.Socket(f.family, syscall.SOCK_RAW, 255) // IPPROTO_RAW
			if err != nil {
				t.Skipf("SKIPPED: forging a report needs a raw socket: %v", err)
			}
			defer syscall.Closesocket(raw)
			// IP_HDRINCL, IPV6_HDRINCL. Wine refuses the IPv6 one, whose
			// Linux socket of protocol "raw" takes the header anyway.
			const hdrIncl = 2
			if err := syscall.SetsockoptInt(raw, f.level, hdrIncl, 1); err != nil && f.family == syscall.AF_INET {
				t.Skipf("SKIPPED: the raw socket does not take an IP header: %v", err)
			}
			srv, err := Listen(&net.UDPAddr{IP: f.loopback.AsSlice()})
			if err != nil && f.family == syscall.AF_INET6 {
				t.Skipf("SKIPPED: no IPv6 loopback here: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cli, err := Dial(srv.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			if _, err := cli.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			client := netip.AddrPortFrom(f.loopback, from.Port())
			server := netip.AddrPortFrom(f.loopback, srv.LocalAddr().(*net.UDPAddr).AddrPort().Port())
			var to syscall.Sockaddr = &syscall.SockaddrInet6{Addr: f.loopback.As16()}
			if f.family == syscall.AF_INET {
				to = &syscall.SockaddrInet4{Addr: f.loopback.As4()}
			}
			heardPortUnreachable := false
			for _, report := range f.reports {
				pkt, err := f.packet(report, client, server)
				if err != nil {
					t.Fatal(err)
				}
				wb, sent := syscall.WSABuf{Len: uint32(len(pkt)), Buf: &pkt[0]}, uint32(0)
				if err := syscall.WSASendto(raw, &wb, 1, &sent, 0, to, nil, nil); err != nil {
					t.Skipf("SKIPPED: the raw socket refused the report: %v", err)
				}
				_ = cli.SetReadDeadline(time.Now().Add(time.Second))
				_, err = cli.Read(buf)
				switch {
				case err == nil:
					t.Fatalf("%s: the read got a datagram", report.Name)
				case errors.Is(err, os.ErrDeadlineExceeded):
					t.Logf("%s: not reported to the socket", report.Name)
				case !Reported(err):
					t.Errorf("%s: the read failed with %v, which Reported does not know", report.Name, err)
				default:
					t.Logf("%s: %v", report.Name, err)
					heardPortUnreachable = heardPortUnreachable || report.Name == "port unreachable" && Unreachable(err)
				}
			}
			if !heardPortUnreachable {
				t.Fatal("the forged port unreachable was not reported: the test forged nothing the system took")
			}
		})
	}
}
