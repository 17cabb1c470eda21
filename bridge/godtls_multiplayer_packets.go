package main

import (
	"fmt"
	"time"

	"godtls/extension/multiplayer"
)

// GoDTLSMultiplayerPeer's packet path and transfer settings: the
// MultiplayerPeerExtension virtuals SceneMultiplayer calls per packet.

// The packet path. Godot asks for the next packet's sender, channel and
// mode before it takes the packet.

// inboxSource is where packets come from: none on a client until the game has
// been told it is connected.
type inboxSource interface {
	Available() int
	Front() (multiplayer.Packet, bool)
	Pop() (multiplayer.Packet, bool)
}

func (g *gdMultiplayer) source() inboxSource {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.srv != nil:
		return g.srv
	case g.cli != nil && g.status == multiplayer.Connected:
		return g.cli
	}
	return nil
}

func (g *gdMultiplayer) available() result {
	if src := g.source(); src != nil {
		return int64(src.Available())
	}
	return int64(0)
}

func (g *gdMultiplayer) front() (multiplayer.Packet, bool) {
	if src := g.source(); src != nil {
		return src.Front()
	}
	return multiplayer.Packet{}, false
}

func (g *gdMultiplayer) getPacket(out packetOut) result {
	const m = mpName + "._get_packet"
	src := g.source()
	if src == nil {
		pushError(m, "no packet available")
		return errUnavailable
	}
	p, ok := src.Pop()
	if !ok {
		pushError(m, "no packet available")
		return errUnavailable
	}
	return g.pkt.handOver(m, out, p.Data)
}

func (g *gdMultiplayer) putPacket(in packetIn) result {
	const m = mpName + ".put_packet"
	data, ok := in.read(m, multiplayer.MaxMessage)
	if !ok {
		return errInvalidParameter
	}
	srv, cli := g.current()
	g.mu.Lock()
	target, channel, mode := g.target, g.channel, g.mode
	g.mu.Unlock()
	// data is a copy of Godot's bytes (in.read), ours to hand over: a
	// broadcast's peers share it.
	var err error
	switch {
	case srv != nil:
		err = srv.SendOwned(target, channel, mode, data)
	case cli != nil:
		err = cli.SendOwned(channel, mode, data)
	default:
		pushError(m, "not active; call create_server() or create_client() first")
		return errUnconfigured
	}
	if err != nil && srv != nil {
		err = fmt.Errorf("target peer %d: %w", target, err)
	}
	if err != nil {
		return fail(m, err, errConnectionError)
	}
	return errOK
}

func (g *gdMultiplayer) maxPacketSizeVirtual() result {
	return int64(multiplayer.MaxMessage)
}

func (g *gdMultiplayer) packetChannel() result {
	p, _ := g.front()
	return int64(p.Channel)
}

func (g *gdMultiplayer) packetMode() result {
	p, _ := g.front()
	return int64(p.Mode)
}

func (g *gdMultiplayer) packetPeer() result {
	p, _ := g.front()
	return int64(p.From)
}

func (g *gdMultiplayer) setTransferChannel(ch int64) result {
	if ch < 0 || ch >= multiplayer.MaxChannels {
		pushError(mpName+".transfer_channel", fmt.Sprintf("must be between 0 and %d, got %d", multiplayer.MaxChannels-1, ch))
		return nil
	}
	g.mu.Lock()
	g.channel = int(ch)
	g.mu.Unlock()
	return nil
}

func (g *gdMultiplayer) transferChannel() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int64(g.channel)
}

func (g *gdMultiplayer) setTransferMode(mode int64) result {
	if mode < int64(multiplayer.Unreliable) || mode > int64(multiplayer.Reliable) {
		pushError(mpName+".transfer_mode", fmt.Sprintf("unknown transfer mode %d", mode))
		return nil
	}
	g.mu.Lock()
	g.mode = multiplayer.Mode(mode)
	g.mu.Unlock()
	return nil
}

func (g *gdMultiplayer) transferMode() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int64(g.mode)
}

func (g *gdMultiplayer) setTargetPeer(t int64) result {
	g.mu.Lock()
	g.target = int32(max(min(t, 1<<31-1), -(1<<31 - 1)))
	g.mu.Unlock()
	return nil
}

func (g *gdMultiplayer) isServer() result {
	srv, _ := g.current()
	return srv != nil
}

// poll emits what happened since the last call; signal handlers run with
// no lock held. On a server, once max_disconnects_per_poll peers' ends
// were emitted, or disconnect_budget_ms has passed since the first (so at
// least one end per poll), the events after them wait, in order, for the
// next poll.
// Each end costs SceneMultiplayer its peer's cleanup, the game's handlers
// and, with a MultiplayerSpawner and server relay, a message to every
// other peer: a few milliseconds at 200 peers (docs/profiles.md, "A burst
// of multiplayer ends"), so a count alone cannot bound the frame. Until
// its end is emitted, a peer that left still takes messages, dropped
// without an error (multiplayer.Server.Send), as SceneMultiplayer still
// counts it. Unlike GoDTLSServer's pacing, a peer_connected waits behind
// the held ends too: a peer's messages reach the game only once its
// peer_connected is out, so nothing needs to overtake.
func (g *gdMultiplayer) poll() result {
	srv, cli := g.current()
	// A handler that closes this peer, or closes it and creates another,
	// ends the poll: the events left are of a session the game ended, and
	// the next would set the new session's status and reach SceneMultiplayer
	// as the new one's (the signals name no session).
	replaced := func() bool {
		s, c := g.current()
		return s != srv || c != cli
	}
	if srv != nil {
		g.pollDTLS(srv)
		limit := int(g.maxEndsPerPoll.Load())
		ends := pollEnds{budget: time.Duration(g.endBudget.Load())}
		for (limit <= 0 || ends.n < limit) && !ends.spent() {
			ev, ok := srv.NextEvent()
			if !ok {
				break
			}
			switch ev.Kind {
			case multiplayer.PeerConnected:
				g.obj.emit("peer_connected", variantInt(int64(ev.Peer)))
			case multiplayer.PeerDisconnected:
				ends.emitting()
				g.setReason(ev.Reason)
				g.emitLeft(ev.Peer, ev.Reason)
			}
			if replaced() {
				return nil
			}
		}
	}
	if cli != nil {
		for ev, ok := cli.NextEvent(); ok; ev, ok = cli.NextEvent() {
			switch ev.Kind {
			case multiplayer.PeerConnected:
				g.setStatus(multiplayer.Connected, "")
				g.obj.emit("peer_connected", variantInt(int64(multiplayer.ServerID)))
			case multiplayer.ConnectFailed:
				// SceneMultiplayer sees CONNECTING become DISCONNECTED and
				// emits connection_failed.
				g.setStatus(multiplayer.Disconnected, ev.Reason)
			case multiplayer.PeerDisconnected:
				g.setStatus(multiplayer.Disconnected, ev.Reason)
				g.emitLeft(multiplayer.ServerID, ev.Reason)
			}
			if replaced() {
				return nil
			}
		}
	}
	return nil
}

// emitLeft reports a peer that left: the reason first, then the signal
// SceneMultiplayer listens to.
func (g *gdMultiplayer) emitLeft(id int32, reason string) {
	g.obj.emit("peer_disconnected_reason", variantInt(int64(id)), variantString(reason))
	g.obj.emit("peer_disconnected", variantInt(int64(id)))
}

// pollDTLS emits get_server()'s signals, or drops the DTLS server's events
// when GDScript does not hold that object.
func (g *gdMultiplayer) pollDTLS(srv *multiplayer.Server) {
	if view := g.liveView(); view != nil {
		view.poll()
		view.obj.release()
		return
	}
	for _, ok := srv.DTLS().NextEvent(); ok; _, ok = srv.DTLS().NextEvent() {
	}
}

func (g *gdMultiplayer) setStatus(st multiplayer.Status, reason string) {
	g.mu.Lock()
	g.status = st
	if reason != "" {
		g.reason = reason
	}
	g.mu.Unlock()
}

func (g *gdMultiplayer) setReason(reason string) {
	g.mu.Lock()
	g.reason = reason
	g.mu.Unlock()
}

func (g *gdMultiplayer) disconnectBudgetMs() result      { return endBudgetMs(&g.endBudget) }
func (g *gdMultiplayer) setDisconnectBudgetMs(v float64) { setEndBudget(mpName, v, &g.endBudget) }

func (g *gdMultiplayer) maxDisconnectsPerPoll() result    { return g.maxEndsPerPoll.Load() }
func (g *gdMultiplayer) setMaxDisconnectsPerPoll(v int64) { setEndLimit(mpName, v, &g.maxEndsPerPoll) }

func (g *gdMultiplayer) closeVirtual() result {
	g.closeAll("")
	return nil
}

// closeAll ends the server or the client; packets not yet taken are
// dropped, as MultiplayerPeer.close() does.
func (g *gdMultiplayer) closeAll(reason string) {
	// taken and cleared under one lock: free() may come from another thread
	g.mu.Lock()
	srv, cli := g.srv, g.cli
	g.srv, g.cli, g.status, g.view = nil, nil, multiplayer.Disconnected, nil
	g.mu.Unlock()
	if reason == "" {
		reason = "the client left"
		if srv != nil {
			reason = "the server closed"
		}
	}
	if srv != nil {
		srv.Close(reason)
	}
	if cli != nil {
		cli.Close(reason)
	}
}

func (g *gdMultiplayer) disconnectPeer(id int64, force bool) result {
	reason := "disconnected by the server"
	if _, cli := g.current(); cli != nil {
		reason = "disconnected by the client"
	}
	g.disconnect(mpName+".disconnect_peer", int32(id), reason, force)
	return nil
}

func (g *gdMultiplayer) uniqueID() result {
	srv, cli := g.current()
	switch {
	case srv != nil:
		return int64(multiplayer.ServerID)
	case cli != nil:
		return int64(cli.ID())
	}
	return int64(0)
}

func (g *gdMultiplayer) setRefusing(on bool) result {
	g.mu.Lock()
	g.refuse = on
	srv := g.srv
	g.mu.Unlock()
	if srv != nil {
		// get_server().drained tells when the last peer has left.
		srv.SetRefusing(on)
	}
	return nil
}

func (g *gdMultiplayer) refusing() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refuse
}

func (g *gdMultiplayer) relaySupported() result { return true }

func (g *gdMultiplayer) connectionStatus() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.srv != nil:
		return int64(multiplayer.Connected)
	case g.cli != nil:
		return int64(g.status)
	}
	return int64(multiplayer.Disconnected)
}
