package record

import (
	"net"
	"net/netip"
	"testing"

	"godtls/extension/suites"
	"godtls/extension/udpsock"
	"godtls/extension/wire"
)

// BenchmarkFloor is the least an echoed 1 KiB packet can cost this machine
// on the data path: one ChaCha20-Poly1305 seal and one open (the record
// layer's own calls), and its share of a batched send and receive of 32
// datagrams on loopback (sendmmsg and recvmmsg through udpsock.Batch). Each
// is per packet; their sum is the floor docs/benchmarks.md sets the
// engine's CPU per echoed packet beside.
func BenchmarkFloor(b *testing.B) {
	server, client := pair(b)
	payload := make([]byte, 1024)
	b.Run("seal+open", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		buf := make([]byte, 0, len(payload)+suites.Overhead)
		var g discard
		for i := 0; i < b.N; i++ {
			rec, err := server.Seal(buf[:0], wire.ContentApplicationData, payload)
			if err != nil {
				b.Fatal(err)
			}
			if d := client.Open(rec, &g); d.Total() != 0 {
				b.Fatalf("%+v", d)
			}
		}
	})
	b.Run("batched send+receive", func(b *testing.B) {
		const batch = 32
		rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer rx.Close()
		_ = rx.SetReadBuffer(4 << 20)
		tx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Close()
		in, out := udpsock.NewBatch(rx), udpsock.NewBatch(tx)
		if !in.Batched() {
			b.Skip("no batched socket calls on this platform")
		}
		to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
		ds := make([]udpsock.Datagram, batch)
		bufs := make([][]byte, batch)
		for i := range ds {
			ds[i] = udpsock.Datagram{B: make([]byte, len(payload)+suites.Overhead), To: netip.AddrPortFrom(to.Addr(), to.Port())}
			bufs[i] = make([]byte, wire.MaxDatagram)
		}
		got := make([]udpsock.Received, batch)
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for n := 0; n < b.N; n += batch {
			if err := out.Write(ds); err != nil {
				b.Fatal(err)
			}
			for r := 0; r < batch; {
				k, err := in.Read(bufs[:batch-r], got)
				if err != nil {
					b.Fatal(err)
				}
				r += k
			}
		}
	})
}

type discard struct{}

func (discard) Data([]byte)      {}
func (discard) Alert(byte, byte) {}
func (discard) Handshake([]byte) {}
