package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/netsim"
	"godtls/extension/server"
	"godtls/extension/udpsock"
)

// GoDTLSServer: a DTLS server on its own socket (listen), or DTLSServer's
// take_connection(udp_peer) over a UDPServer. Everything Godot sees of the
// class is declared in serverClass.

const srvName = "GoDTLSServer"

func serverClass() *classDef {
	return &classDef{
		name:   srvName,
		parent: "RefCounted",
		create: func(obj object) instance {
			s := newGDServer(obj)
			watchMonitors(s)
			return s
		},
		methods: []*methodDef{
			method1("setup", (*gdServer).setup).objectArg("server_options", "TLSOptions").returnsEnum("Error"),
			method2("setup_pem", (*gdServer).setupPEM).arg("private_key_pem", tString).arg("certificate_chain_pem", tString).returnsEnum("Error"),
			method2("setup_psk", (*gdServer).setupPSK).arg("keys", tDictionary).arg("identity_hint", tString).or("").returnsEnum("Error"),
			method2("listen", (*gdServer).listen).arg("port", tInt).arg("bind_address", tString).or("*").returnsEnum("Error"),
			method("is_listening", (*gdServer).isListening).returns(tBool).readOnly(),
			method("get_local_port", (*gdServer).localPort).returns(tInt).readOnly(),
			method("poll", (*gdServer).poll),
			method("is_connection_available", (*gdServer).connectionAvailable).returns(tBool).readOnly(),
			method1("take_connection", (*gdServer).takeConnection).objectArg("udp_peer", "PacketPeerUDP").or(nil).returnsObject(peerName),
			method1("receive_all", (*gdServer).receiveAll).arg("max_packets", tInt).or(int64(0)).returns(tArray),
			method2("broadcast", (*gdServer).broadcast).arg("packet", tBytes).objectArg("exclude", peerName).or(nil).returns(tInt),
			method("get_peers", (*gdServer).getPeers).returns(tArray),
			method("stop", (*gdServer).stop),
			method("get_stats", (*gdServer).stats).returns(tDictionary),
			simulateMethod(srvName, func(s *gdServer) *netsim.Link { return s.srv.Network() }),
		},
		properties: []propertyDef{
			property("max_peers", tInt, int64(server.DefaultMaxPeers), (*gdServer).maxPeers, (*gdServer).setMaxPeers),
			property("max_peers_per_ip", tInt, int64(server.DefaultMaxPeersPerIP), (*gdServer).maxPeersPerIP, (*gdServer).setMaxPeersPerIP),
			property("max_pending_handshakes", tInt, int64(server.DefaultMaxPendingHandshakes), (*gdServer).maxPending, (*gdServer).setMaxPending),
			property("handshake_timeout", tFloat, server.DefaultHandshakeTimeout.Seconds(), (*gdServer).handshakeTimeout, (*gdServer).setHandshakeTimeout),
			property("idle_timeout", tFloat, float64(0), (*gdServer).idleTimeout, (*gdServer).setIdleTimeout),
			property("mtu", tInt, int64(server.DefaultMTU), (*gdServer).mtu, (*gdServer).setMTU),
			property("max_peer_bytes_per_second", tInt, int64(server.DefaultPeerByteRate), (*gdServer).peerByteRate, (*gdServer).setPeerByteRate),
			property("max_peer_packets_per_second", tInt, int64(server.DefaultPeerPacketRate), (*gdServer).peerPacketRate, (*gdServer).setPeerPacketRate),
			property("refuse_new_connections", tBool, false, (*gdServer).refusing, (*gdServer).setRefusing),
			property("read_in_frame", tBool, true, (*gdServer).readInFrame, (*gdServer).setReadInFrame),
			property("max_disconnects_per_poll", tInt, int64(defaultMaxEndsPerPoll), (*gdServer).maxDisconnectsPerPoll, (*gdServer).setMaxDisconnectsPerPoll),
			property("disconnect_budget_ms", tFloat, defaultEndBudget.Seconds()*1000, (*gdServer).disconnectBudgetMs, (*gdServer).setDisconnectBudgetMs),
		},
		signals: []signalDef{
			signal("peer_connected", objectParam("peer", peerName)),
			signal("peer_disconnected", objectParam("peer", peerName), param("reason", tString)),
			signal("handshake_failed", param("address", tString), param("port", tInt), param("reason", tString)),
			signal("drained"),
		},
	}
}

// gdServer is the Go side of one GoDTLSServer object.
type gdServer struct {
	obj object // the Godot object; valid while Godot holds it
	srv *server.Server

	mu    sync.Mutex
	cfg   server.Config
	peers map[*server.Peer]*gdPeer // peer objects alive in Godot (weak)
	// attached lists the take_connection(udp_peer) peers' objects, which
	// receive_all polls: a peer leaves it when its object is freed
	// (forgetPeer), so the list needs no liveness check per frame.
	attached []*gdPeer

	// borrowed: this object is GoDTLSMultiplayerPeer.get_server(), a view
	// of the multiplayer peer's server: freeing it leaves the server
	// running, and what would change its socket or credentials is refused.
	borrowed bool
	viewOf   *gdMultiplayer // a view's multiplayer peer, which finds it there
	pins     pins           // of the threads that found the view in viewOf

	// endsMu guards ends, the peer_disconnected signals poll() holds for
	// later calls, and ready, the events a poll() took and has not emitted
	// yet. maxEndsPerPoll is max_disconnects_per_poll, endBudget
	// disconnect_budget_ms (a time.Duration).
	endsMu         sync.Mutex
	ends           endPacer
	ready          []server.Event
	maxEndsPerPoll atomic.Int64
	endBudget      atomic.Int64

	// adopted holds the UDPServer ports whose socket take_connection(udp_peer)
	// has set up (adoptUDPServerSocket).
	adopted map[int]bool
}

func newGDServer(obj object) *gdServer {
	// Cheap and side-effect free: the editor instantiates classes to read
	// their defaults. No socket, no goroutine until listen().
	srv := server.New(server.Config{})
	s := &gdServer{obj: obj, srv: srv, cfg: srv.Config(), peers: map[*server.Peer]*gdPeer{}, adopted: map[int]bool{}}
	s.maxEndsPerPoll.Store(defaultMaxEndsPerPoll)
	s.endBudget.Store(int64(defaultEndBudget))
	return s
}

// free runs when the last reference goes: the object is half destroyed, so
// only Go state is touched.
func (s *gdServer) free() {
	if s.viewOf != nil {
		s.viewOf.forgetView(s)
		s.pins.wait()
	}
	if !s.borrowed {
		unwatchMonitors(s)
		stopBounded(srvName, s.srv.Stop)
	}
	s.mu.Lock()
	for _, p := range s.peers {
		p.owner = nil
	}
	s.peers, s.attached = nil, nil
	s.mu.Unlock()
	s.endsMu.Lock()
	s.ends.clear()
	s.ready = nil
	s.endsMu.Unlock()
}

// shutdown runs when the engine quits with the server alive: close_notify
// to every peer, goroutines end.
func (s *gdServer) shutdown() {
	if !s.borrowed {
		stopBounded(srvName, s.srv.Stop)
	}
}

// refuseBorrowed reports (and says why) that m may not run on a view.
func (s *gdServer) refuseBorrowed(m string) bool {
	if s.borrowed {
		pushError(m, "this GoDTLSServer belongs to a GoDTLSMultiplayerPeer (get_server()); listen and stop through the multiplayer peer")
	}
	return s.borrowed
}

// peerObject returns the Godot object of p, held until the caller calls
// done on the result: the live one if GDScript still holds it, otherwise a
// fresh one.
func (s *gdServer) peerObject(p *server.Peer) objResult {
	known, held := lookup(&s.mu, func() *gdPeer { return s.peers[p] })
	if held {
		return objResult{obj: known.obj, held: true}
	}
	return s.newObjectFor(p, known)
}

// peerArg is p's object as a signal argument.
func (s *gdServer) peerArg(p *server.Peer) variant {
	o := s.peerObject(p)
	defer o.done()
	return o.obj.variant()
}

// pinned is p's object in the map, pinned (pins.go). Call with s.mu held.
func (s *gdServer) pinned(p *server.Peer) *gdPeer {
	gp := s.peers[p]
	if gp != nil {
		gp.pins.take()
	}
	return gp
}

// newObjectFor makes p's object when the map has none alive (dead is the
// one being freed, if any). Any of the game's threads may get here for one
// peer at once (two threads polling one server), and the object is
// constructed with no lock held, as every call into Godot is: it goes into
// the map already holding the result's reference, so that a thread that
// finds it there and drops what it was given cannot free it under this
// one, and claim returns another thread's object if one came first.
func (s *gdServer) newObjectFor(p *server.Peer, dead *gdPeer) objResult {
	gp := newPeerObject(p, s)
	adopt(gp.obj.p)
	gp = claim(&s.mu, func() (*gdPeer, bool) {
		return s.peers[p], s.peers != nil
	}, func(gp *gdPeer) {
		s.peers[p] = gp
	}, gp, dead)
	return objResult{obj: gp.obj, held: true}
}

func (s *gdServer) shared() (*pins, object) { return &s.pins, s.obj }

func (s *gdServer) forgetPeer(gp *gdPeer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers != nil && s.peers[gp.p] == gp {
		delete(s.peers, gp.p)
	}
	if i := slices.Index(s.attached, gp); i >= 0 {
		s.attached = slices.Delete(s.attached, i, i+1)
	}
}

// setup, setup_pem and setup_psk set the credentials, or replace them on a
// server already set up (also through GoDTLSMultiplayerPeer.get_server()):
// new handshakes use the new ones, connected peers and handshakes under way
// keep theirs. Credentials that do not parse are refused and the old ones
// stay.
func (s *gdServer) setup(opts object) result {
	const m = srvName + ".setup"
	c, e := serverCertificate(m, opts)
	if e != errOK {
		return e
	}
	return useCertificate(m, s.srv, c)
}

func (s *gdServer) setupPEM(key, chain string) result {
	const m = srvName + ".setup_pem"
	c, e := certificateFromPEM(m, key, chain)
	if e != errOK {
		return e
	}
	return useCertificate(m, s.srv, c)
}

func (s *gdServer) setupPSK(keys *variant, hint string) result {
	const m = srvName + ".setup_psk"
	p, e := pskTable(m, keys, hint)
	if e != errOK {
		return e
	}
	return usePSK(m, s.srv, p)
}

func (s *gdServer) listen(port int64, bind string) result {
	const m = srvName + ".listen"
	if s.refuseBorrowed(m) {
		return errUnavailable
	}
	return listenOn(m, s.srv, port, bind)
}

func (s *gdServer) isListening() result         { return s.srv.Listening() }
func (s *gdServer) localPort() result           { return int64(s.srv.LocalPort()) }
func (s *gdServer) connectionAvailable() result { return s.srv.ConnectionAvailable() }

func (s *gdServer) stop() result {
	if s.refuseBorrowed(srvName + ".stop") {
		return nil
	}
	s.srv.Stop()
	return nil
}

// poll emits the signals for what happened since the last call. At most
// max_disconnects_per_poll peer_disconnected go out per call, and none
// once disconnect_budget_ms has passed since its first; the rest wait
// for the next calls (endPacer). The events are sorted into ready under endsMu,
// then taken from it one at a time and emitted with no lock held: a
// handler that calls poll() again, or a poll() on another thread,
// continues the same queue in order.
func (s *gdServer) poll() result {
	s.srv.Pump()
	limit := int(s.maxEndsPerPoll.Load())
	s.endsMu.Lock()
	s.ends.pace(limit, s.srv.NextEvent, func(ev server.Event) { s.ready = append(s.ready, ev) })
	s.endsMu.Unlock()
	ends := pollEnds{budget: time.Duration(s.endBudget.Load())}
	requeued := false
	for {
		spent := !requeued && ends.spent()
		ev, ok := s.nextReady(spent)
		requeued = requeued || spent
		if !ok {
			return nil
		}
		if ev.Kind == server.EventDisconnected {
			ends.emitting()
		}
		s.emitEvent(ev)
	}
}

// nextReady takes the next event to emit. spent says the poll's budget for
// ends has passed: the ends still in ready go back to the pacer first.
func (s *gdServer) nextReady(spent bool) (server.Event, bool) {
	s.endsMu.Lock()
	defer s.endsMu.Unlock()
	if spent && len(s.ready) > 0 {
		rest := s.ready
		s.ready = nil
		s.ends.requeue(rest, func(ev server.Event) { s.ready = append(s.ready, ev) })
	}
	if len(s.ready) == 0 {
		return server.Event{}, false
	}
	ev := s.ready[0]
	s.ready[0] = server.Event{}
	s.ready = s.ready[1:]
	if len(s.ready) == 0 {
		s.ready = nil
	}
	return ev, true
}

func (s *gdServer) emitEvent(ev server.Event) {
	switch ev.Kind {
	case server.EventConnected:
		s.obj.emit("peer_connected", s.peerArg(ev.Peer))
	case server.EventDisconnected:
		s.obj.emit("peer_disconnected", s.peerArg(ev.Peer), variantString(ev.Reason))
	case server.EventHandshakeFailed:
		s.obj.emit("handshake_failed", variantString(ev.Addr.Addr().String()), variantInt(int64(ev.Addr.Port())), variantString(ev.Reason))
	case server.EventDrained:
		s.obj.emit("drained")
	case server.EventInternalError:
		pushError(srvName+".poll", ev.Reason)
	}
}

func (s *gdServer) takeConnection(udpPeer object) result {
	if s.refuseBorrowed(srvName + ".take_connection") {
		return nil
	}
	if !udpPeer.isNull() {
		return s.attach(udpPeer)
	}
	p := s.srv.TakeConnection()
	if p == nil {
		return nil
	}
	return s.peerObject(p)
}

// attach is DTLSServer.take_connection(udp_peer): the handshake runs on a
// goroutine over the datagrams GoDTLSPeer.poll() moves through udp_peer.
func (s *gdServer) attach(obj object) result {
	const m = srvName + ".take_connection"
	if !obj.is("PacketPeerUDP") {
		pushError(m, "udp_peer is not a PacketPeerUDP")
		return nil
	}
	u := udpPeerOf(obj)
	if !u.connected() {
		pushError(m, "udp_peer is not connected to a remote address; pass the PacketPeerUDP returned by UDPServer.take_connection()")
		return nil
	}
	s.adoptUDPServerSocket(u.localPort())
	// UDPServer.poll() already queued the first datagram (the ClientHello):
	// it carries the remote address.
	var first [][]byte
	for u.available() > 0 && len(first) < 64 {
		first = append(first, u.next())
	}
	ip, port := u.source()
	addr, _ := netip.ParseAddr(ip)
	p, err := s.srv.Attach(netip.AddrPortFrom(addr.Unmap(), uint16(port)))
	if errors.Is(err, server.ErrRefusing) {
		// Draining: the client is told at once, as in listen mode, and the
		// game gets a peer in STATUS_ERROR saying why, as DTLSServer's
		// take_connection always returns a peer.
		u.send(server.RefusalAlert())
		return objResult{obj: newRefusedPeer(err.Error()).obj, fresh: true}
	}
	if err != nil {
		fail(m, err, errCantCreate)
		return nil
	}
	for _, b := range first {
		p.Feed(b)
	}
	o := s.peerObject(p)
	gp := as[*gdPeer](o.obj.ours(), m)
	obj.retain()
	gp.udp = u
	s.mu.Lock()
	if s.peers != nil {
		s.attached = append(s.attached, gp)
	}
	s.mu.Unlock()
	return o
}

// receiveAll is the bulk receive path: one call per frame instead of one
// per peer (and per packet). In take_connection(udp_peer) mode it first
// does what every peer's poll() does.
func (s *gdServer) receiveAll(maxPackets int64) result {
	const m = srvName + ".receive_all"
	if maxPackets < 0 {
		pushError(m, fmt.Sprintf("max_packets must be 0 (no limit) or more, got %d", maxPackets))
		return newArray()
	}
	if s.refuseBorrowed(m) {
		return newArray()
	}
	s.pollAttached()
	s.srv.Pump()
	out := newArray()
	pairs := appendPairs(out)
	var last *server.Peer
	var lastObj object
	s.srv.ReceiveAll(int(maxPackets), func(p *server.Peer, b []byte) {
		if p == last {
			pairs.add(lastObj, b)
			return
		}
		o := s.peerObject(p)
		last, lastObj = p, o.obj
		pairs.add(lastObj, b) // holds it for the next packets of p
		o.done()
	})
	pairs.done()
	return out
}

// pollAttached does every take_connection(udp_peer) peer's poll() at once.
// Each is pinned (pins.go) for the exchange: a thread that drops a peer's
// last reference meanwhile releases its PacketPeerUDP only after it.
func (s *gdServer) pollAttached() {
	exchangeUDP(func(dst []*gdPeer) []*gdPeer {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, gp := range s.attached {
			gp.pins.take()
		}
		return append(dst, s.attached...)
	}, func(listed []*gdPeer) {
		for _, gp := range listed {
			gp.pins.release()
		}
	})
}

// udpServerBuffer is what take_connection(udp_peer) asks of the UDPServer
// socket's receive buffer, as listen() does of its own: Godot drains that
// socket once per frame, and 50 peers with 8 KiB in flight each overflow
// Linux's 208 KiB default between two frames (measured: every packet the
// echo benchmark lost in this mode was a kernel "receive buffer error").
const udpServerBuffer = 4 << 20

// adoptUDPServerSocket sets up the UDPServer socket on port, once per port,
// as listen() sets up its own (udpsock.AdoptServerSocket): it grows its
// receive buffer and, on Linux, makes it ignore "fragmentation needed"
// reports about its IPv4 datagrams, which anyone can forge to lower the
// path MTU to a player. Where the process's sockets cannot be found by
// port (Windows) or the system refuses (net.core.rmem_max caps the
// buffer), it does what it can and says nothing: the game works as before.
func (s *gdServer) adoptUDPServerSocket(port int) {
	s.mu.Lock()
	done := s.adopted[port]
	s.adopted[port] = true
	s.mu.Unlock()
	if !done && port > 0 {
		_, _ = udpsock.AdoptServerSocket(port, udpServerBuffer)
	}
}

func (s *gdServer) broadcast(packet []byte, exclude object) result {
	var except *server.Peer
	if !exclude.isNull() {
		gp, ok := exclude.ours().(*gdPeer)
		if !ok {
			pushError(srvName+".broadcast", "exclude is not a GoDTLSPeer")
			return int64(0)
		}
		except = gp.p
	}
	return int64(s.srv.Broadcast(packet, except))
}

// getPeers takes the server's lock once for the peers' objects, and then
// makes three calls into Godot in all, each over every object: a reference
// taken to those GDScript still holds, the appends to the result, the
// references dropped (plus one call per object it makes). A game may call
// it in a handler with a thousand peers connected. The references are all
// taken before any object is made, so that a thread freeing one of them
// waits for no construction (gdPeer.free).
func (s *gdServer) getPeers() result {
	peers := s.srv.Peers()
	known := make([]*gdPeer, len(peers))
	objs := make([]object, len(peers))
	s.mu.Lock()
	for i, p := range peers {
		if known[i] = s.pinned(p); known[i] != nil {
			objs[i] = known[i].obj
		}
	}
	s.mu.Unlock()
	took := make([]bool, len(peers))
	retainEach(objs, took)
	for i, gp := range known {
		if gp != nil {
			gp.pins.release()
		}
		if !took[i] {
			objs[i] = s.newObjectFor(peers[i], gp).obj
		}
	}
	arr := newArray()
	appendObjects(arr, objs)
	releaseEach(objs)
	return arr
}

func (s *gdServer) stats() result {
	st := s.srv.Stats()
	return statsDict(append(trafficCounters(st.Traffic),
		counter{"handshakes_ok", st.HandshakesOK}, counter{"handshakes_failed", st.HandshakesFailed},
		counter{"peers", uint64(st.Peers)}, counter{"pending_handshakes", uint64(st.Pending)},
		counter{"unverified_handshakes", uint64(st.Unverified)}, counter{"queued_hellos", uint64(st.Queued)},
		counter{"dropped", st.Dropped}, counter{"garbage", st.Garbage}, counter{"rejected", st.Rejected}, counter{"refused", st.Refused},
		counter{"evicted", st.Evicted}, counter{"oversize", st.Oversize}, counter{"stray", st.Stray},
		counter{"spoofed", st.Spoofed}, counter{"post_handshake_dropped", st.PostHandshakeDropped}, counter{"replayed", st.Replayed},
		counter{"auth_failed", st.AuthFailed}, counter{"over_rate", st.OverRate},
		counter{"internal_errors", st.Panics}, counter{"events_dropped", st.EventsDropped},
		counter{"read_in_frame", st.ReadInFrame},
	)...)
}

// addMonitorTotals: a view (get_server()) is counted by its multiplayer
// peer, so it adds nothing itself.
func (s *gdServer) addMonitorTotals(t *monitorTotals) {
	if !s.borrowed {
		addServerTotals(t, s.srv.PublishedStats())
	}
}
