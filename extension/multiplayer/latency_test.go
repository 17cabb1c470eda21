package multiplayer

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"godtls/extension/internal/lossy"
)

// BenchmarkReliableLatencyUnderLoss: one client keeps 8 reliable messages
// in flight to an echoing server through a relay losing 5 % each way, and
// reports the round-trip latency of each message (p50, p99, worst) and
// SCTP's retransmissions. The tail is what a lost message costs: the
// retransmission timeout and head-of-line blocking behind it.
func BenchmarkReliableLatencyUnderLoss(b *testing.B) {
	m := startServer(b, 4, Options{})
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port(m)}, lossy.Config{Loss: 0.05})
	if err != nil {
		b.Fatal(err)
	}
	defer relay.Close()
	c := dial(b, relay.Addr().Port, Options{Timeout: 30 * time.Second})
	waitEvent(b, c, PeerConnected)
	waitEvent(b, m, PeerConnected)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the server echoes on the goroutine a game's poll would run on
		for {
			select {
			case <-stop:
				return
			default:
			}
			if p, ok := m.Pop(); ok {
				_ = m.Send(p.From, p.Channel, Reliable, p.Data)
				continue
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	const inFlight, n = 8, 4000
	var lat []time.Duration
	send := func() {
		msg := make([]byte, 64)
		binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
		for c.Send(0, Reliable, msg) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	b.ResetTimer()
	for range b.N {
		lat = lat[:0]
		for range inFlight {
			send()
		}
		for len(lat) < n {
			p := waitPacket(b, c)
			lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(p.Data))))
			send()
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	st, _ := c.Stats()
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "worst-ms")
	b.ReportMetric(float64(st.Retransmissions), "retransmits")
	b.ReportMetric(float64(relay.Dropped.Load()), "dropped")
}

// BenchmarkBurstDelivery: 50 clients each send 8 reliable 64-byte messages
// at once, as a client's frame of the Godot echo benchmark does, and the
// server takes them from its inbox as they come; repeated every 7 ms (a
// headless frame). Counted from a burst's first send to each message's
// arrival in the server's inbox, it reports the earliest arrival of the
// run, the tenth percentile and the median of all messages, and the median
// over the bursts of their last message; and the datagrams the server
// received and sent per burst. Clients and server share the process, as
// the two Godot processes share the machine's cores in the benchmark
// (docs/profiles.md, "The phase made to drift, and what a burst costs").
func BenchmarkBurstDelivery(b *testing.B) {
	const clients, perClient, bursts = 50, 8, 200
	m := startServer(b, clients, Options{})
	var cs []*Client
	for range clients {
		c := dial(b, port(m), Options{Timeout: 30 * time.Second})
		waitEvent(b, c, PeerConnected)
		waitEvent(b, m, PeerConnected)
		cs = append(cs, c)
	}
	time.Sleep(500 * time.Millisecond) // the handshakes' work is over
	msg := make([]byte, 64)
	var each, last []time.Duration
	before := m.DTLS().Stats()
	b.ResetTimer()
	for range b.N {
		for range bursts {
			start := time.Now()
			for _, c := range cs {
				for range perClient {
					if err := c.Send(0, Reliable, msg); err != nil {
						b.Fatal(err)
					}
				}
			}
			for got := 0; got < clients*perClient; {
				if _, ok := m.Pop(); ok {
					got++
					each = append(each, time.Since(start))
					continue
				}
				time.Sleep(20 * time.Microsecond)
			}
			last = append(last, time.Since(start))
			time.Sleep(7 * time.Millisecond)
		}
	}
	b.StopTimer()
	after := m.DTLS().Stats()
	slices.Sort(each)
	slices.Sort(last)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(each[0]), "first-ms")
	b.ReportMetric(ms(each[len(each)/10]), "p10-ms")
	b.ReportMetric(ms(each[len(each)/2]), "p50-ms")
	b.ReportMetric(ms(last[len(last)/2]), "last-p50-ms")
	n := float64(b.N * bursts)
	b.ReportMetric(float64(after.PacketsIn-before.PacketsIn)/n, "datagrams-in/burst")
	b.ReportMetric(float64(after.PacketsOut-before.PacketsOut)/n, "datagrams-out/burst")
}
