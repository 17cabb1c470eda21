package main

import (
	"fmt"

	"godtls/extension/server"
)

// GoDTLSServer's limits: the properties declared in serverClass.

// Properties. Changes apply to new handshakes and peers. Config.Validate is
// the one source of the limits; here only GDScript's meanings of 0 are
// mapped (the engine's Config reads 0 as "the default").

func (s *gdServer) config() server.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *gdServer) setConfig(prop string, apply func(*server.Config)) {
	s.mu.Lock()
	cfg := s.cfg
	apply(&cfg)
	err := s.srv.SetConfig(cfg)
	if err == nil {
		s.cfg = s.srv.Config()
	}
	s.mu.Unlock()
	if err != nil {
		pushError(srvName+".set_"+prop, err.Error()+"; the value is unchanged")
	}
}

// setAtLeastOne sets a limit GDScript may not set to 0 (which the engine
// would read as "the default").
func (s *gdServer) setAtLeastOne(prop string, v int64, apply func(*server.Config, int)) {
	if v < 1 {
		pushError(srvName+".set_"+prop, fmt.Sprintf("%s must be at least 1, got %d; the value is unchanged", prop, v))
		return
	}
	s.setConfig(prop, func(c *server.Config) { apply(c, int(v)) })
}

func (s *gdServer) maxPeers() result { return int64(s.config().MaxPeers) }
func (s *gdServer) setMaxPeers(v int64) {
	s.setAtLeastOne("max_peers", v, func(c *server.Config, n int) { c.MaxPeers = n })
}

// max_peers_per_ip: 0 in GDScript is "no limit".
func (s *gdServer) maxPeersPerIP() result { return int64(max(0, s.config().MaxPeersPerIP)) }
func (s *gdServer) setMaxPeersPerIP(v int64) {
	if refuseNegative(srvName, "max_peers_per_ip", 1, v) {
		return
	}
	s.setConfig("max_peers_per_ip", func(c *server.Config) {
		c.MaxPeersPerIP = int(v)
		if v == 0 {
			c.MaxPeersPerIP = server.NoLimit
		}
	})
}

func (s *gdServer) maxPending() result { return int64(s.config().MaxPendingHandshakes) }
func (s *gdServer) setMaxPending(v int64) {
	s.setAtLeastOne("max_pending_handshakes", v, func(c *server.Config, n int) {
		c.MaxPendingHandshakes = n
		c.MaxPendingPerIP = 0 // 0 is "derive from the pool": derived again from the new cap
	})
}

func (s *gdServer) handshakeTimeout() result { return s.config().HandshakeTimeout.Seconds() }
func (s *gdServer) setHandshakeTimeout(v float64) {
	if v <= 0 {
		pushError(srvName+".set_handshake_timeout", fmt.Sprintf("handshake_timeout must be more than 0 seconds, got %g; the value is unchanged", v))
		return
	}
	s.setConfig("handshake_timeout", func(c *server.Config) { c.HandshakeTimeout = seconds(v) })
}

func (s *gdServer) idleTimeout() result { return s.config().IdleTimeout.Seconds() }
func (s *gdServer) setIdleTimeout(v float64) {
	s.setConfig("idle_timeout", func(c *server.Config) { c.IdleTimeout = seconds(v) })
}

// max_peer_bytes_per_second and max_peer_packets_per_second: 0 in GDScript
// is "no limit".
func (s *gdServer) peerByteRate() result { return int64(max(0, s.config().PeerByteRate)) }
func (s *gdServer) setPeerByteRate(v int64) {
	s.setRate("max_peer_bytes_per_second", server.MinPeerByteRate, v, func(c *server.Config) *int { return &c.PeerByteRate })
}
func (s *gdServer) peerPacketRate() result { return int64(max(0, s.config().PeerPacketRate)) }
func (s *gdServer) setPeerPacketRate(v int64) {
	s.setRate("max_peer_packets_per_second", server.MinPeerPacketRate, v, func(c *server.Config) *int { return &c.PeerPacketRate })
}

// setRate sets the per-peer budget that field picks out to v, 0 being
// server.NoLimit; a negative v is refused here, one under least by the
// config's validation.
func (s *gdServer) setRate(prop string, least int, v int64, field func(*server.Config) *int) {
	if refuseNegative(srvName, prop, int64(least), v) {
		return
	}
	s.setConfig(prop, func(c *server.Config) {
		*field(c) = int(min(v, 1<<40))
		if v == 0 {
			*field(c) = server.NoLimit
		}
	})
}

func (s *gdServer) mtu() result { return int64(s.config().MTU) }
func (s *gdServer) setMTU(v int64) {
	s.setAtLeastOne("mtu", v, func(c *server.Config, n int) { c.MTU = n })
}

// refuse_new_connections: new clients are turned away with an alert,
// connected peers stay; drained is emitted once the last one has left.
func (s *gdServer) refusing() result { return s.srv.Refusing() }
func (s *gdServer) setRefusing(on bool) {
	s.srv.SetRefusing(on)
}

// read_in_frame: poll() and receive_all() read the socket (server.Pump).
func (s *gdServer) readInFrame() result    { return s.srv.FrameReads() }
func (s *gdServer) setReadInFrame(on bool) { s.srv.SetFrameReads(on) }

// max_disconnects_per_poll: how many peer_disconnected one poll() emits;
// 0 is no limit. The default was measured on the 1,000-client storm's
// ends, with a handler that only counts: the most work in a frame from
// the first end on was 2.6-6.6 ms with it and 3.6-22 ms with no limit
// (docs/profiles.md, "A burst of ends"). A game's handlers add their own
// cost to each end.
const defaultMaxEndsPerPoll = 100

func (s *gdServer) disconnectBudgetMs() result      { return endBudgetMs(&s.endBudget) }
func (s *gdServer) setDisconnectBudgetMs(v float64) { setEndBudget(srvName, v, &s.endBudget) }

func (s *gdServer) maxDisconnectsPerPoll() result    { return s.maxEndsPerPoll.Load() }
func (s *gdServer) setMaxDisconnectsPerPoll(v int64) { setEndLimit(srvName, v, &s.maxEndsPerPoll) }
