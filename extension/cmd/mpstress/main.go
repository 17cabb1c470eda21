// Command mpstress runs the lossy multiplayer exchange many times and
// counts the runs that stall: a client sends reliable messages on two
// channels through a relay that loses, reorders and duplicates datagrams,
// and the server must receive every one, in order per channel. A run
// stalls when nothing arrives for -stall; it then prints both ends' view
// (a stall "after 0 messages" is a setup that never carried data, one after
// N messages an association that stopped acknowledging). Not part of
// ./build.sh test: the default 300 runs take about three minutes on 2 cores.
//
//	go run ./extension/cmd/mpstress                 # 100 runs each at 5, 20 and 30 % loss
//	go run ./extension/cmd/mpstress -runs 20 -loss 0.2
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/client"
	"godtls/extension/credentials"
	"godtls/extension/internal/lossy"
	"godtls/extension/multiplayer"
	"godtls/extension/server"
)

func main() {
	runs := flag.Int("runs", 100, "runs per loss rate")
	losses := flag.String("loss", "0.05,0.20,0.30", "loss rates, comma-separated")
	reorder := flag.Float64("reorder", 0.05, "share of datagrams reordered")
	dup := flag.Float64("dup", 0.02, "share of datagrams duplicated")
	messages := flag.Int("messages", 500, "reliable messages per run")
	parallel := flag.Int("parallel", 4, "runs at once")
	stall := flag.Duration("stall", 20*time.Second, "silence that counts as a stall")
	flag.Parse()
	// PSK: the cheapest handshake; the runs are about what follows it.
	cred, err := credentials.NewPSK(map[string][]byte{pskIdentity: pskKey}, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mpstress:", err)
		os.Exit(2)
	}
	total, stalled, setupFailed := 0, 0, 0
	for _, f := range strings.Split(*losses, ",") {
		loss, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || loss < 0 || loss >= 1 {
			fmt.Fprintf(os.Stderr, "mpstress: bad loss rate %q\n", f)
			os.Exit(2)
		}
		var next, stalls, failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range *parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)); i <= *runs; i = int(next.Add(1)) {
					cfg := lossy.Config{Loss: loss, Reorder: *reorder, Duplicate: *dup}
					switch why := run(cred, cfg, *messages, *stall); {
					case why == "":
					case strings.HasPrefix(why, neverConnected):
						failed.Add(1)
						fmt.Printf("SETUP FAILED loss %.0f%% run %d: %s\n", loss*100, i, why)
					default:
						stalls.Add(1)
						fmt.Printf("STALL loss %.0f%% run %d: %s\n", loss*100, i, why)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Printf("loss %.0f%% (reorder %.0f%%, duplicate %.0f%%): %d runs of %d messages, %d stalled, %d never connected (%v)\n",
			loss*100, *reorder*100, *dup*100, *runs, *messages, stalls.Load(), failed.Load(), time.Since(start).Round(time.Second))
		total += *runs
		stalled += int(stalls.Load())
		setupFailed += int(failed.Load())
	}
	fmt.Printf("%d runs, %d stalled, %d never connected\n", total, stalled, setupFailed)
	if stalled > 0 || setupFailed > 0 {
		os.Exit(1)
	}
}

const pskIdentity = "mpstress"

// setupTimeout lets a handshake through 30 % loss finish: pion's DTLS
// flights are retransmitted once a second, and a flight of several
// datagrams crosses such a link whole in about one try in three.
const setupTimeout = 30 * time.Second

// neverConnected marks a run whose setup failed: counted apart from the
// stalls of a connected session.
const neverConnected = "never connected"

var pskKey = []byte("mpstress shared key")

// run is one exchange; it returns why it stalled, or "".
func run(cred *credentials.PSK, cfg lossy.Config, n int, stall time.Duration) string {
	srv := server.New(server.Config{})
	if err := srv.SetPSK(cred); err != nil {
		return err.Error()
	}
	if err := srv.Listen(0, "127.0.0.1"); err != nil {
		return err.Error()
	}
	m := multiplayer.NewServer(srv, 4, multiplayer.Options{})
	defer m.Close("done")
	defer srv.Stop()
	relay, err := lossy.New(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalPort()}, cfg)
	if err != nil {
		return err.Error()
	}
	defer relay.Close()
	c, err := multiplayer.Dial("127.0.0.1", relay.Addr().Port, client.Config{PSKIdentity: pskIdentity, PSKKey: pskKey}, multiplayer.Options{Timeout: 30 * time.Second, SetupTimeout: setupTimeout})
	if err != nil {
		return err.Error()
	}
	defer c.Close("done")
	go func() { // the server's game loop drains its events
		for c.Status() != multiplayer.Disconnected {
			for _, ok := m.NextEvent(); ok; _, ok = m.NextEvent() {
			}
			for _, ok := srv.NextEvent(); ok; _, ok = srv.NextEvent() {
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(setupTimeout + time.Second)
	for c.Status() != multiplayer.Connected {
		if c.Status() == multiplayer.Disconnected || time.Now().After(deadline) {
			why := ""
			for ev, ok := c.NextEvent(); ok; ev, ok = c.NextEvent() {
				why += " " + ev.Reason
			}
			return fmt.Sprintf("%s (status %d):%s; relay forwarded %d dropped %d", neverConnected, c.Status(), why, relay.Forwarded.Load(), relay.Dropped.Load())
		}
		time.Sleep(time.Millisecond)
	}
	go func() {
		for i := 0; i < n && c.Status() == multiplayer.Connected; i++ {
			msg := binary.BigEndian.AppendUint64(nil, uint64(i))
			for c.Send(i%2, multiplayer.Reliable, msg) != nil && c.Status() == multiplayer.Connected {
				time.Sleep(time.Millisecond) // the send buffer is bounded: wait for room
			}
		}
	}()
	next := [2]uint64{0, 1}
	for got := 0; got < n; got++ {
		var p multiplayer.Packet
		ok := false
		for quiet := time.Now().Add(stall); !ok && time.Now().Before(quiet); {
			if p, ok = m.Pop(); !ok {
				time.Sleep(time.Millisecond)
			}
		}
		if !ok {
			cst, _ := c.Stats()
			sst, _ := m.Stats(c.ID())
			return fmt.Sprintf("after %d messages: client %+v; server's view %+v; relay forwarded %d dropped %d reordered %d duplicated %d",
				got, cst, sst, relay.Forwarded.Load(), relay.Dropped.Load(), relay.Reordered.Load(), relay.Duplicated.Load())
		}
		v := binary.BigEndian.Uint64(p.Data)
		if v != next[p.Channel] {
			return fmt.Sprintf("channel %d: got message %d, want %d", p.Channel, v, next[p.Channel])
		}
		next[p.Channel] += 2
	}
	return ""
}
