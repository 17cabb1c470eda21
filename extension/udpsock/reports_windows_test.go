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
// to a connected socket at a dialed socket here, and checks that each one
// its read fails with is one Reported knows: a GoDTLSClient's handshake
// survives only reports it recognizes (client/refusals.go), and one it did
// not would end the handshake. Under Wine or Proton the socket is Linux's
// and Wine renames Linux's errors; a real Windows reports port unreachable
// only. Forging needs a raw socket (root under Wine, an administrator on
// Windows); without one the test says SKIPPED.
func TestReportsAreRecognized(t *testing.T) {
	raw, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, 255) // IPPROTO_RAW
	if err != nil {
		t.Skipf("SKIPPED: forging a report needs a raw socket: %v", err)
	}
	defer syscall.Closesocket(raw)
	const ipHdrIncl = 2
	if err := syscall.SetsockoptInt(raw, syscall.IPPROTO_IP, ipHdrIncl, 1); err != nil {
		t.Skipf("SKIPPED: the raw socket does not take an IP header: %v", err)
	}
	srv, err := Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
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
	_, client, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), srv.LocalAddr().(*net.UDPAddr).AddrPort().Port())
	heardPortUnreachable := false
	for _, report := range forge.HardReports {
		pkt, err := forge.ReportPacket(report, client, server)
		if err != nil {
			t.Fatal(err)
		}
		wb, sent := syscall.WSABuf{Len: uint32(len(pkt)), Buf: &pkt[0]}, uint32(0)
		if err := syscall.WSASendto(raw, &wb, 1, &sent, 0, &syscall.SockaddrInet4{Addr: client.Addr().As4()}, nil, nil); err != nil {
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
			heardPortUnreachable = heardPortUnreachable || report == forge.PortUnreachable && Unreachable(err)
		}
	}
	if !heardPortUnreachable {
		t.Fatal("the forged port unreachable was not reported: the test forged nothing the system took")
	}
}
