package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"godtls/extension/client"
	"godtls/extension/multiplayer"
	"godtls/extension/netsim"
	"godtls/extension/server"
)

// GoDTLSMultiplayerPeer: Godot's high-level multiplayer over GoDTLS. A
// MultiplayerPeerExtension whose handshakes, retransmissions and
// reassembly run on goroutines; _poll() only moves events and _get_packet
// only copies. Everything Godot sees of the class is declared in
// multiplayerClass.

const mpName = "GoDTLSMultiplayerPeer"

func multiplayerClass() *classDef {
	return &classDef{
		name:   mpName,
		parent: "MultiplayerPeerExtension",
		create: func(obj object) instance {
			g := &gdMultiplayer{obj: obj, timeout: multiplayer.DefaultTimeout, messageRate: multiplayer.DefaultPeerMessageRate,
				mode: multiplayer.Reliable, sim: netsim.NewProcessLink()}
			g.maxEndsPerPoll.Store(defaultMaxEndsPerPoll)
			g.endBudget.Store(int64(defaultEndBudget))
			watchMonitors(g)
			return g
		},
		methods: []*methodDef{
			method4("create_server", (*gdMultiplayer).createServer).arg("port", tInt).objectArg("server_options", "TLSOptions").
				arg("bind_address", tString).or("*").arg("max_clients", tInt).or(int64(32)).returnsEnum("Error"),
			method4("create_server_psk", (*gdMultiplayer).createServerPSK).arg("port", tInt).arg("keys", tDictionary).
				arg("bind_address", tString).or("*").arg("max_clients", tInt).or(int64(32)).returnsEnum("Error"),
			method4("create_client", (*gdMultiplayer).createClient).arg("address", tString).arg("port", tInt).
				arg("hostname", tString).or("").objectArg("client_options", "TLSOptions").or(nil).returnsEnum("Error"),
			method4("create_client_psk", (*gdMultiplayer).createClientPSK).arg("address", tString).arg("port", tInt).
				arg("identity", tString).arg("key", tBytes).returnsEnum("Error"),
			method("get_server", (*gdMultiplayer).getServer).returnsObject(srvName),
			method1("get_peer_stats", (*gdMultiplayer).peerStats).arg("id", tInt).returns(tDictionary),
			method3("disconnect_peer_with_reason", (*gdMultiplayer).disconnectWithReason).arg("id", tInt).arg("reason", tString).
				arg("force", tBool).or(false).returnsEnum("Error"),
			method("get_close_reason", (*gdMultiplayer).closeReason).returns(tString).readOnly(),
			simulateMethod(mpName, func(g *gdMultiplayer) *netsim.Link { return g.sim }),
		},
		properties: []propertyDef{
			property("peer_timeout", tFloat, multiplayer.DefaultTimeout.Seconds(), (*gdMultiplayer).peerTimeout, (*gdMultiplayer).setPeerTimeout),
			property("max_peer_messages_per_second", tInt, int64(multiplayer.DefaultPeerMessageRate), (*gdMultiplayer).peerMessageRate, (*gdMultiplayer).setPeerMessageRate),
			property("max_disconnects_per_poll", tInt, int64(defaultMaxEndsPerPoll), (*gdMultiplayer).maxDisconnectsPerPoll, (*gdMultiplayer).setMaxDisconnectsPerPoll),
			property("disconnect_budget_ms", tFloat, defaultEndBudget.Seconds()*1000, (*gdMultiplayer).disconnectBudgetMs, (*gdMultiplayer).setDisconnectBudgetMs),
		},
		signals: []signalDef{
			signal("peer_disconnected_reason", param("id", tInt), param("reason", tString)),
		},
		virtuals: append(packetPeerVirtuals[*gdMultiplayer](),
			virtual("_get_packet_channel", tInt, int64(0), (*gdMultiplayer).packetChannel),
			virtual("_get_packet_mode", tInt, int64(0), (*gdMultiplayer).packetMode),
			virtual("_get_packet_peer", tInt, int64(0), (*gdMultiplayer).packetPeer),
			virtual1("_set_transfer_channel", tNil, nil, (*gdMultiplayer).setTransferChannel),
			virtual("_get_transfer_channel", tInt, int64(0), (*gdMultiplayer).transferChannel),
			virtual1("_set_transfer_mode", tNil, nil, (*gdMultiplayer).setTransferMode),
			virtual("_get_transfer_mode", tInt, int64(multiplayer.Reliable), (*gdMultiplayer).transferMode),
			virtual1("_set_target_peer", tNil, nil, (*gdMultiplayer).setTargetPeer),
			virtual("_is_server", tBool, false, (*gdMultiplayer).isServer),
			virtual("_poll", tNil, nil, (*gdMultiplayer).poll),
			virtual("_close", tNil, nil, (*gdMultiplayer).closeVirtual),
			virtual2("_disconnect_peer", tNil, nil, (*gdMultiplayer).disconnectPeer),
			virtual("_get_unique_id", tInt, int64(0), (*gdMultiplayer).uniqueID),
			virtual1("_set_refuse_new_connections", tNil, nil, (*gdMultiplayer).setRefusing),
			virtual("_is_refusing_new_connections", tBool, false, (*gdMultiplayer).refusing),
			virtual("_is_server_relay_supported", tBool, false, (*gdMultiplayer).relaySupported),
			virtual("_get_connection_status", tInt, int64(multiplayer.Disconnected), (*gdMultiplayer).connectionStatus),
		),
	}
}

// gdMultiplayer is the Go side of one GoDTLSMultiplayerPeer. Godot calls
// it on one thread (SceneMultiplayer's); mu guards what free() reads.
type gdMultiplayer struct {
	obj object

	mu  sync.Mutex
	srv *multiplayer.Server // a server, or
	cli *multiplayer.Client // a client, or neither

	view *gdServer // get_server()'s object while Godot holds it

	// status is the client's status as the game has been told it: it
	// changes when poll() emits the event, so SceneMultiplayer never sees
	// CONNECTED before peer_connected(1).
	status  multiplayer.Status
	target  int32
	channel int
	mode    multiplayer.Mode
	refuse  bool
	timeout time.Duration
	// messageRate is max_peer_messages_per_second as GDScript sees it
	// (0: no limit); a server holds each client to it.
	messageRate int
	reason      string
	sim         *netsim.Link // simulate_network: the server's socket or the client's

	maxEndsPerPoll atomic.Int64 // max_disconnects_per_poll
	endBudget      atomic.Int64 // disconnect_budget_ms, as a time.Duration

	pkt packetBuffer
}

func (g *gdMultiplayer) free() {
	unwatchMonitors(g)
	g.shutdown()
	g.pkt.free()
}

// shutdown closes the server or client: goodbyes, close_notify, every
// goroutine ended.
func (g *gdMultiplayer) shutdown() { g.closeAll("") }

func (g *gdMultiplayer) current() (*multiplayer.Server, *multiplayer.Client) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srv, g.cli
}

// busy refuses to start while a server or client is active.
func (g *gdMultiplayer) busy(m string) bool {
	srv, cli := g.current()
	if srv != nil || cli != nil {
		pushError(m, "already active; call close() first")
		return true
	}
	return false
}

func (g *gdMultiplayer) options(isServer bool) multiplayer.Options {
	g.mu.Lock()
	defer g.mu.Unlock()
	// SceneMultiplayer learns of peers from _poll's peer_connected: a peer's
	// packets must not reach it first
	o := multiplayer.Options{Timeout: g.timeout, HoldUntilAnnounced: true, AuthOrder: true, SceneOrder: true,
		PeerMessageRate: multiplayer.NoLimit}
	if isServer && g.messageRate > 0 {
		o.PeerMessageRate = g.messageRate
	}
	return o
}

func (g *gdMultiplayer) createServer(port int64, options object, bind string, maxClients int64) result {
	const m = mpName + ".create_server"
	return g.serve(m, port, bind, maxClients, func(srv *server.Server) gdError {
		c, e := serverCertificate(m, options)
		if e != errOK {
			return e
		}
		return useCertificate(m, srv, c)
	})
}

func (g *gdMultiplayer) createServerPSK(port int64, keys *variant, bind string, maxClients int64) result {
	const m = mpName + ".create_server_psk"
	return g.serve(m, port, bind, maxClients, func(srv *server.Server) gdError {
		p, e := pskTable(m, keys, "")
		if e != errOK {
			return e
		}
		return usePSK(m, srv, p)
	})
}

// serve sets up a DTLS server with setup, listens and starts the
// multiplayer sessions on it.
func (g *gdMultiplayer) serve(m string, port int64, bind string, maxClients int64, setup func(*server.Server) gdError) result {
	if g.busy(m) {
		return errAlreadyInUse
	}
	if maxClients < 1 || maxClients > server.DefaultMaxPeers {
		pushError(m, fmt.Sprintf("max_clients must be between 1 and %d, got %d", server.DefaultMaxPeers, maxClients))
		return errInvalidParameter
	}
	dtls := server.New(server.Config{Network: g.sim})
	// Its datagrams are read as they come, not in the frame: the SCTP
	// timing (multiplayer.rtoFor) was measured that way. get_server()
	// shows it as read_in_frame false.
	dtls.SetFrameReads(false)
	cfg := dtls.Config()
	// Room above max_clients for a few more handshakes: a client the
	// multiplayer layer turns away learns why ("the server is full").
	cfg.MaxPeers = int(maxClients) + max(4, int(maxClients)/4)
	if err := dtls.SetConfig(cfg); err != nil {
		return fail(m, err, errInvalidParameter)
	}
	if e := setup(dtls); e != errOK {
		return e
	}
	if e := listenOn(m, dtls, port, bind); e != errOK {
		return e
	}
	srv := multiplayer.NewServer(dtls, int(maxClients), g.options(true))
	g.mu.Lock()
	g.srv, g.view = srv, nil
	srv.SetRefusing(g.refuse)
	g.reason = ""
	g.mu.Unlock()
	return errOK
}

func (g *gdMultiplayer) createClient(address string, port int64, hostname string, options object) result {
	const m = mpName + ".create_client"
	cfg, e := clientConfig(m, hostname, options)
	if e != errOK {
		return e
	}
	return g.dial(m, address, port, cfg)
}

func (g *gdMultiplayer) createClientPSK(address string, port int64, identity string, key []byte) result {
	const m = mpName + ".create_client_psk"
	cfg, e := pskClient(m, identity, key)
	if e != errOK {
		return e
	}
	return g.dial(m, address, port, cfg)
}

func (g *gdMultiplayer) dial(m, address string, port int64, cfg client.Config) result {
	if g.busy(m) {
		return errAlreadyInUse
	}
	reportProcessSimulation()
	cfg.Network = g.sim
	// Dial refuses a bad address or port with the reason.
	cli, err := multiplayer.Dial(address, int(port), cfg, g.options(false))
	if err != nil {
		pushError(m, err.Error())
		return errInvalidParameter
	}
	g.mu.Lock()
	g.cli, g.status, g.reason = cli, multiplayer.Connecting, ""
	g.mu.Unlock()
	return errOK
}

// getServer returns the GoDTLSServer of a server: the same object while
// GDScript holds it, so its signal connections stay. Like a server's peers
// (gdServer.newObjectFor), the view is found by other threads only once it
// holds a reference, and two threads asking at once get one view.
func (g *gdMultiplayer) getServer() result {
	srv, _ := g.current()
	if srv == nil {
		return nil
	}
	if view := g.liveView(); view != nil {
		return objResult{obj: view.obj, held: true}
	}
	_, inst := constructNamed(srvName, func(obj object) instance {
		v := newGDServer(obj)
		v.srv, v.cfg, v.borrowed, v.viewOf = srv.DTLS(), srv.DTLS().Config(), true, g
		return v
	})
	view := inst.(*gdServer)
	adopt(view.obj.p)
	view = claim(&g.mu, func() (*gdServer, bool) {
		return g.view, true
	}, func(v *gdServer) {
		g.view = v
	}, view, nil)
	return objResult{obj: view.obj, held: true}
}

// liveView is get_server()'s object, with a reference the caller drops
// (obj.release), or nil if GDScript does not hold it.
func (g *gdMultiplayer) liveView() *gdServer {
	if view, held := lookup(&g.mu, func() *gdServer { return g.view }); held {
		return view
	}
	return nil
}

// forgetView runs when get_server()'s object is freed.
func (g *gdMultiplayer) forgetView(view *gdServer) {
	g.mu.Lock()
	if g.view == view {
		g.view = nil
	}
	g.mu.Unlock()
}

func (g *gdMultiplayer) peerStats(id int64) result {
	const m = mpName + ".get_peer_stats"
	srv, cli := g.current()
	var st multiplayer.PeerStats
	var err error
	switch {
	case srv != nil:
		st, err = srv.Stats(int32(id))
	case cli != nil && id == int64(multiplayer.ServerID):
		var ok bool
		if st, ok = cli.Stats(); !ok {
			err = multiplayer.ErrNotReady
		}
	default:
		err = multiplayer.ErrUnknownPeer
	}
	if err != nil {
		pushError(m, fmt.Sprintf("peer %d: %v", id, err))
		return newDict()
	}
	d := statsDict(append(trafficCounters(st.Traffic),
		counter{"retransmissions", st.Retransmissions}, counter{"queued_in_bytes", uint64(st.QueuedIn)},
		counter{"buffered_out_bytes", st.BufferedOut}, counter{"over_message_budget", st.OverBudget})...)
	d.set("rtt_ms", variantFloat(float64(st.RTT)/1e6))
	d.set("last_rtt_ms", variantFloat(float64(st.LastRTT)/1e6))
	d.set("loss", variantFloat(st.Loss))
	return d
}

func (g *gdMultiplayer) disconnectWithReason(id int64, reason string, force bool) result {
	return g.disconnect(mpName+".disconnect_peer_with_reason", int32(id), reason, force)
}

func (g *gdMultiplayer) disconnect(m string, id int32, reason string, force bool) gdError {
	srv, cli := g.current()
	switch {
	case srv != nil:
		if err := srv.Disconnect(id, reason, force); err != nil {
			pushError(m, fmt.Sprintf("peer %d: %v", id, err))
			return errInvalidParameter
		}
		return errOK
	case cli != nil && id == multiplayer.ServerID && force:
		g.closeAll(reason)
		return errOK
	case cli != nil && id == multiplayer.ServerID:
		cli.Leave(reason) // peer_disconnected and the status follow in poll()
		return errOK
	}
	pushError(m, fmt.Sprintf("peer %d: %v", id, multiplayer.ErrUnknownPeer))
	return errInvalidParameter
}

func (g *gdMultiplayer) closeReason() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

func (g *gdMultiplayer) peerTimeout() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.timeout.Seconds()
}

func (g *gdMultiplayer) setPeerTimeout(v float64) {
	d := seconds(v)
	if err := (multiplayer.Options{Timeout: d}).Validate(); err != nil || d <= 0 {
		pushError(mpName+".peer_timeout", fmt.Sprintf("must be more than 0 and at most %v seconds, got %v", multiplayer.MaxTimeout.Seconds(), v))
		return
	}
	g.mu.Lock()
	g.timeout = d
	g.mu.Unlock()
}

// max_peer_messages_per_second: 0 in GDScript is "no limit".
func (g *gdMultiplayer) peerMessageRate() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int64(g.messageRate)
}

func (g *gdMultiplayer) setPeerMessageRate(v int64) {
	const prop = "max_peer_messages_per_second"
	if refuseNegative(mpName, prop, multiplayer.MinPeerMessageRate, v) {
		return
	}
	rate := int(min(v, 1<<40))
	if err := (multiplayer.Options{PeerMessageRate: rate}).Validate(); err != nil {
		pushError(mpName+".set_"+prop, fmt.Sprintf("%s must be at least %d, or 0 for no limit; got %d; the value is unchanged", prop, multiplayer.MinPeerMessageRate, v))
		return
	}
	g.mu.Lock()
	g.messageRate = rate
	g.mu.Unlock()
}

func (g *gdMultiplayer) addMonitorTotals(t *monitorTotals) {
	srv, cli := g.current()
	switch {
	case srv != nil:
		addServerTotals(t, srv.DTLS().PublishedStats())
		addHealth(t, srv.Health())
	case cli != nil:
		if c := cli.DTLS(); c != nil {
			addClientTotals(t, c)
		}
		addHealth(t, cli.Health())
	}
}
