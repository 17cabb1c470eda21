package server

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/forge"
	"godtls/extension/link"
	"godtls/extension/suites"
	"godtls/extension/wire"
)

// A peer's byte budget (Config.PeerByteRate) is what the peer itself may
// send. Anyone can send a datagram from a player's address: if forged
// records took from the player's budget, a spoofer sending past it would
// keep the player's own datagrams out for as long as it sent, a session
// frozen by datagrams that never authenticate. Only records that
// authenticate take from the budget: on the engine's record layer, and on
// pion's CBC fallback, where pion opens them.
func TestASpoofedFloodCannotSpendAPlayersBudget(t *testing.T) {
	for name, client := range players() {
		t.Run(name, func(t *testing.T) {
			defer checkRoutines(t)()
			raw := newRawSender(t)
			s, player, stopPlayer := budgetedPlayer(t, Config{PeerByteRate: MinPeerByteRate}, client.config, echo)
			defer stopPlayer()
			from := addrPort(t, udpOf(player).LocalAddr())
			to := netip.MustParseAddrPort(serverAddr(s))

			// The spoofer: 1,000-byte application records under the
			// player's epoch, 5 every 5 ms (about 1 MB/s, 60 times the
			// player's budget, and little enough for the server's socket
			// buffer to hold through a stall of the reader on a loaded
			// machine), with sequence numbers far ahead of the player's.
			// Each datagram ends in a record of epoch 2, which the server
			// drops before any decryption and counts: proof that the
			// datagrams reach the player's session.
			const spoofBody = 1000
			var spoofed atomic.Int64
			stop := make(chan struct{})
			flooding := make(chan struct{})
			go func() {
				defer close(flooding)
				body := make([]byte, spoofBody)
				marker := forge.Record(wire.ContentApplicationData, 2, 0, []byte{0})
				seq := uint64(1 << 40)
				for {
					select {
					case <-stop:
						return
					default:
					}
					for range 5 {
						forged := append(forge.Record(wire.ContentApplicationData, 1, seq, body), marker...)
						if raw.Send(from, to, forged) == nil {
							spoofed.Add(1)
						}
						seq++
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			// The player, meanwhile: 30 round trips of 100 bytes, 20 ms
			// apart, about 4 KB in all, a quarter of a second's budget. An
			// application record is never sent again: one the budget
			// dropped is lost, and its echo never comes.
			time.Sleep(100 * time.Millisecond) // the flood is under way
			lost := ""
			for i := range 30 {
				msg := fmt.Sprintf("%03d during the flood %080d", i, i)
				if err := echoCheckWithin(player, msg, 5*time.Second); err != nil {
					lost = fmt.Sprintf("round trip %d: %v", i, err)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			close(stop)
			<-flooding
			noDisconnection(t, s)
			st := s.Stats()
			t.Logf("%d forged datagrams sent from the player's address (%d KB); %d reached its session; %d failed authentication on the record layer; %d dropped over a budget",
				spoofed.Load(), spoofed.Load()*spoofBody/1000, st.PostHandshakeDropped, st.AuthFailed, st.OverRate)
			if lost != "" {
				t.Fatalf("the player lost a packet while a spoofer flooded from its address: %s", lost)
			}
			if st.PostHandshakeDropped < uint64(spoofed.Load())/2 {
				t.Fatalf("%d of %d forged datagrams reached the player's session: the test did not test the budget",
					st.PostHandshakeDropped, spoofed.Load())
			}
			if st.OverRate != 0 {
				t.Errorf("%d records dropped over the budget: forged records took from the player's", st.OverRate)
			}
		})
	}
}

// budgetClient is a client the budget tests connect, and the size on the
// wire of its record of n bytes.
type budgetClient struct {
	config   *dtls.Config
	wireSize func(n int) int
}

// players: one client on the engine's record layer, one on pion's CBC
// fallback.
func players() map[string]budgetClient {
	cbc := dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
	return map[string]budgetClient{
		"the record layer": {clientConfig(suites.ECDSAKey), func(n int) int { return n + suites.Overhead }},
		"pion's CBC fallback": {
			&dtls.Config{InsecureSkipVerify: true, LoggerFactory: link.Quiet, CipherSuites: []dtls.CipherSuiteID{cbc}},
			func(n int) int { return suites.CBCWireSize(cbc, n) },
		},
	}
}

// The player's own records take from its budget: a burst past it is held
// to the burst (half a second's worth) plus the budget over the time it
// took.
func TestAPlayersOwnFloodIsHeldToItsBudget(t *testing.T) {
	for name, client := range players() {
		t.Run(name, func(t *testing.T) { ownFloodIsHeld(t, client) })
	}
}

func ownFloodIsHeld(t *testing.T, client budgetClient) {
	defer checkRoutines(t)()
	s, player, stopPlayer := budgetedPlayer(t, Config{PeerByteRate: MinPeerByteRate}, client.config, echo)
	defer stopPlayer()

	const n, size = 200, 1000
	msg := make([]byte, size)
	start := time.Now()
	for range n {
		if _, err := player.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	// The echoes: read until none has come for half a second.
	echoed := 0
	buf := make([]byte, 2048)
	for {
		_ = player.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := player.Read(buf); err != nil {
			break
		}
		echoed++
	}
	_ = player.SetReadDeadline(time.Time{})
	elapsed := time.Since(start)
	wireSize := client.wireSize(size)
	allowed := (MinPeerByteRate/2 + int(float64(MinPeerByteRate)*elapsed.Seconds())) / wireSize
	st := s.Stats()
	t.Logf("%d records of %d bytes sent at once; %d echoed in %v (the budget allows %d); %d dropped over it",
		n, size, echoed, elapsed.Round(time.Millisecond), allowed, st.OverRate)
	if echoed > allowed+1 {
		t.Errorf("%d records got through, past the %d the budget allows", echoed, allowed)
	}
	if st.OverRate == 0 || echoed == 0 {
		t.Errorf("echoed %d, dropped over the budget %d: the budget neither held nor passed anything", echoed, st.OverRate)
	}
}

// Bytes do not bound packets: the player's records of a byte each are held
// to its packet budget, on the engine's record layer and on pion's CBC
// fallback.
func TestAPlayersPacketsAreHeldToTheirBudget(t *testing.T) {
	for name, client := range players() {
		t.Run(name, func(t *testing.T) {
			defer checkRoutines(t)()
			const rate = 1000
			// The game: echoes the first packet, then counts what it gets.
			var got atomic.Int64
			s, player, stopPlayer := budgetedPlayer(t, Config{PeerPacketRate: rate, PeerByteRate: NoLimit}, client.config, func(p *Peer, b []byte) {
				if got.Add(1) == 1 {
					_ = p.Send(b)
				}
			})
			defer stopPlayer()

			const n = 3000
			start := time.Now()
			for range n {
				if _, err := player.Write([]byte{1}); err != nil {
					t.Fatal(err)
				}
			}
			// What the game got, once nothing more has come for half a
			// second; the budget's time runs until the last of it came.
			lastSeen := time.Now()
			for last := int64(-1); got.Load() != last; {
				last = got.Load()
				lastSeen = time.Now()
				time.Sleep(500 * time.Millisecond)
			}
			passed := int(got.Load() - 1)
			elapsed := lastSeen.Sub(start)
			allowed := rate/2 + int(rate*elapsed.Seconds())
			st := s.Stats()
			t.Logf("%d one-byte records sent at once; the game got %d in %v (the budget allows %d); %d dropped over it",
				n, passed, elapsed.Round(time.Millisecond), allowed, st.OverRate)
			if passed > allowed+1 {
				t.Errorf("%d records got through, past the %d the budget allows", passed, allowed)
			}
			if st.OverRate == 0 || passed == 0 {
				t.Errorf("the game got %d, dropped over the budget %d: the budget neither held nor passed anything", passed, st.OverRate)
			}
		})
	}
}

// budgetedPlayer starts a server with cfg whose game loop hands every
// packet to onPacket, and connects a player with client that has made one
// round trip. stop closes the player, ends the loop and stops the server;
// it runs by itself if the player cannot connect.
func budgetedPlayer(t *testing.T, cfg Config, client *dtls.Config, onPacket func(*Peer, []byte)) (s *Server, player *dtls.Conn, stop func()) {
	t.Helper()
	s, _ = startServer(t, suites.ECDSAKey, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := gameLoop(ctx, s, onPacket)
	stop = func() {
		if player != nil {
			player.Close()
		}
		cancel()
		<-done
		s.Stop()
	}
	connected := false
	defer func() {
		if !connected {
			stop()
		}
	}()
	player = dial(t, s, client)
	roundTrip(t, player, "before")
	connected = true
	return s, player, stop
}
