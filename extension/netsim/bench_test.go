package netsim

import (
	"net"
	"net/netip"
	"testing"
)

func listenB(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	return c
}

// The cost of a link that is off: a datagram written through the wrapper
// beside one written to the socket itself, in the same run.
//
//	go test -run '^$' -bench Off -count 5 ./extension/netsim
func BenchmarkOff(b *testing.B) {
	for _, wrapped := range []bool{false, true} {
		name := "raw"
		if wrapped {
			name = "wrapped-off"
		}
		b.Run(name, func(b *testing.B) {
			a, dst := listenB(b), listenB(b)
			defer dst.Close()
			go func() { // keep the receiver's buffer drained
				buf := make([]byte, 2048)
				for {
					if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
						return
					}
				}
			}()
			var w interface {
				WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error)
			} = a
			pc := Wrap(a, NewLink())
			defer pc.Close()
			if wrapped {
				w = pc
			}
			to := addrOf(dst)
			pkt := make([]byte, 1000)
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			for range b.N {
				_, _ = w.WriteToUDPAddrPort(pkt, to)
			}
		})
	}
}
