package multiplayer

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"godtls/extension/internal/lossy"
)

// BenchmarkUnreliableUnderLoss: a client sends what a game's client does
// every 16 ms frame, one reliable message then five unreliable ones on
// channel 0, through a relay losing 5 % each way, for 5 s, to a server
// whose game polls every 16 ms. It reports the unreliable messages' one-way
// latency (p50, p99, worst), how many arrived, and how many reached the
// game before the reliable message sent before them; with the numbers of
// follow.go (follow) and without (nofollow), side by side in one run.
func BenchmarkUnreliableUnderLoss(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := "follow"
		if !on {
			name = "nofollow"
		}
		b.Run(name, func(b *testing.B) {
			following = on
			defer func() { following = true }()
			for range b.N {
				unreliableUnderLoss(b)
			}
		})
	}
}

func unreliableUnderLoss(b *testing.B) {
	const frame, frames, perFrame = 16 * time.Millisecond, 300, 5
	opts := Options{SceneOrder: true, Timeout: 30 * time.Second}
	m := startServer(b, 4, opts)
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Loss: 0.05})
	if err != nil {
		b.Fatal(err)
	}
	defer relay.Close()
	c := dial(b, relay.Addr().Port, opts)
	waitEvent(b, c, PeerConnected)
	waitEvent(b, m, PeerConnected)
	// Each message: its frame (u32), its kind's index (u32), the send time.
	msg := func(f, i int) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(f))
		b = binary.BigEndian.AppendUint32(b, uint32(i))
		return binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixNano()))
	}
	go func() {
		for f := range frames {
			for c.Send(0, Reliable, msg(f, 0)) != nil {
				time.Sleep(time.Millisecond)
			}
			for i := range perFrame {
				_ = c.Send(0, Unreliable, msg(f, i+1))
			}
			time.Sleep(frame)
		}
	}()
	var lat []time.Duration
	reliable, reversed := -1, 0
	for reliable < frames-1 {
		for _, ok := m.NextEvent(); ok; _, ok = m.NextEvent() { // the poll: holds expire here
		}
		for p, ok := m.Pop(); ok; p, ok = m.Pop() {
			f := int(binary.BigEndian.Uint32(p.Data))
			if p.Mode == Reliable {
				reliable = f
				continue
			}
			lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(p.Data[8:]))))
			if f > reliable {
				reversed++
			}
		}
		time.Sleep(frame)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "worst-ms")
	b.ReportMetric(float64(len(lat)), "arrived")
	b.ReportMetric(float64(reversed), "before-their-reliable")
}
