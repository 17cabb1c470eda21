package main

import (
	"encoding/pem"
	"fmt"
	"sync"
	"time"

	"godtls/extension/client"
	"godtls/extension/link"
	"godtls/extension/netsim"
)

// GoDTLSClient: a DTLS client whose name resolution and handshake run on
// goroutines, with PSK and failure reasons; a PacketPeer through its
// virtuals. Everything Godot sees of the class is declared in clientClass.

const clientName = "GoDTLSClient"

func clientClass() *classDef {
	return &classDef{
		name:   clientName,
		parent: "PacketPeerExtension",
		create: func(obj object) instance {
			g := &gdClient{obj: obj, timeout: client.DefaultHandshakeTimeout, sim: netsim.NewProcessLink()}
			watchMonitors(g)
			return g
		},
		methods: []*methodDef{
			method4("connect_to_host", (*gdClient).connectToHost).arg("address", tString).arg("port", tInt).
				arg("hostname", tString).or("").objectArg("client_options", "TLSOptions").or(nil).returnsEnum("Error"),
			method4("connect_psk", (*gdClient).connectPSK).arg("address", tString).arg("port", tInt).
				arg("identity", tString).arg("key", tBytes).returnsEnum("Error"),
			method("poll", (*gdClient).poll),
			method("get_status", (*gdClient).status).returnsEnum(clientName + ".Status").readOnly(),
			method("disconnect_from_peer", (*gdClient).disconnect),
			method("get_last_error", (*gdClient).lastError).returns(tString).readOnly(),
			method("get_peer_certificate", (*gdClient).peerCertificate).returnsObject("X509Certificate").readOnly(),
			method("get_max_packet_size", (*gdClient).maxPacketSize).returns(tInt).readOnly(),
			method("get_stats", (*gdClient).stats).returns(tDictionary),
			simulateMethod(clientName, func(g *gdClient) *netsim.Link { return g.sim }),
		},
		properties: []propertyDef{
			property("handshake_timeout", tFloat, client.DefaultHandshakeTimeout.Seconds(), (*gdClient).handshakeTimeout, (*gdClient).setHandshakeTimeout),
		},
		signals: []signalDef{
			signal("connected"),
			signal("connection_failed", param("reason", tString)),
			signal("disconnected", param("reason", tString)),
		},
		enums: []enumDef{
			{name: "Status", values: []string{"STATUS_DISCONNECTED", "STATUS_HANDSHAKING", "STATUS_CONNECTED", "STATUS_ERROR", "STATUS_ERROR_HOSTNAME_MISMATCH"}},
		},
		virtuals: packetPeerVirtuals[*gdClient](),
	}
}

// gdClient is the Go side of one GoDTLSClient object.
type gdClient struct {
	obj object

	mu      sync.Mutex
	c       *client.Client // nil before the first connect
	timeout time.Duration
	sim     *netsim.Link // simulate_network: every connection of this object

	pkt packetBuffer // what _get_packet hands Godot
}

func (g *gdClient) current() *client.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c
}

// free and shutdown end the connection (close_notify) and its goroutines.
func (g *gdClient) free() {
	unwatchMonitors(g)
	g.shutdown()
	g.pkt.free()
}

func (g *gdClient) shutdown() {
	if c := g.current(); c != nil {
		c.Close()
	}
}

func (g *gdClient) connectToHost(address string, port int64, hostname string, options object) result {
	const m = clientName + ".connect_to_host"
	cfg, e := clientConfig(m, hostname, options)
	if e != errOK {
		return e
	}
	return g.start(m, address, port, cfg)
}

func (g *gdClient) connectPSK(address string, port int64, identity string, key []byte) result {
	const m = clientName + ".connect_psk"
	cfg, e := pskClient(m, identity, key)
	if e != errOK {
		return e
	}
	return g.start(m, address, port, cfg)
}

// start begins a connection attempt; it returns at once.
func (g *gdClient) start(m, address string, port int64, cfg client.Config) result {
	g.mu.Lock()
	old := g.c
	cfg.HandshakeTimeout = g.timeout
	cfg.Network = g.sim
	g.mu.Unlock()
	reportProcessSimulation()
	if old != nil {
		switch old.Status() {
		case link.StatusHandshaking, link.StatusConnected:
			pushError(m, "already connecting or connected; call disconnect_from_peer() first")
			return errAlreadyInUse
		}
	}
	if port < 1 || port > 65535 {
		pushError(m, fmt.Sprintf("port must be between 1 and 65535, got %d", port))
		return errInvalidParameter
	}
	c, err := client.Connect(address, int(port), cfg)
	if err != nil {
		pushError(m, err.Error())
		return errInvalidParameter
	}
	g.mu.Lock()
	g.c = c
	g.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return errOK
}

// poll emits the signals for what happened since the last call.
func (g *gdClient) poll() result {
	c := g.current()
	if c == nil {
		return nil
	}
	for ev, ok := c.NextEvent(); ok; ev, ok = c.NextEvent() {
		switch ev.Kind {
		case client.EventConnected:
			g.obj.emit("connected")
		case client.EventFailed:
			g.obj.emit("connection_failed", variantString(ev.Failure.Error()))
		case client.EventDisconnected:
			g.obj.emit("disconnected", variantString(ev.Failure.Error()))
		}
		if g.current() != c {
			// A handler started another connection. The signals carry no
			// connection of their own: what is left of this one's (its
			// end, which the game chose to move past) would read as the
			// new one's.
			return nil
		}
	}
	return nil
}

func (g *gdClient) status() result {
	c := g.current()
	if c == nil {
		return int64(link.StatusDisconnected)
	}
	return int64(c.Status())
}

func (g *gdClient) disconnect() result {
	if c := g.current(); c != nil {
		c.Close()
	}
	return nil
}

func (g *gdClient) lastError() result {
	c := g.current()
	if c == nil {
		return ""
	}
	return c.LastError()
}

// peerCertificate returns the server's leaf as an X509Certificate (null
// with PSK or before connecting).
func (g *gdClient) peerCertificate() result {
	c := g.current()
	if c == nil || c.Status() != link.StatusConnected {
		return nil
	}
	chain := c.PeerCertificates()
	if len(chain) == 0 {
		return nil
	}
	obj := newX509Certificate(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0]})))
	if obj.isNull() {
		return nil
	}
	return objResult{obj: obj, fresh: true}
}

func (g *gdClient) maxPacketSize() result { return g.maxPacketSizeVirtual() }

func (g *gdClient) stats() result {
	c := g.current()
	if c == nil {
		return statsDict()
	}
	st := c.Stats()
	d := statsDict(append(trafficCounters(st.Traffic),
		counter{"dropped", st.Dropped}, counter{"queued", uint64(st.Queued)},
		counter{"post_handshake_dropped", st.PostHandshakeDropped}, counter{"replayed", st.Replayed},
		counter{"auth_failed", st.AuthFailed}, counter{"garbage", st.Garbage})...)
	d.set("last_packet_time", variantFloat(float64(st.LastReceive.UnixNano())/1e9))
	return d
}

func (g *gdClient) handshakeTimeout() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.timeout.Seconds()
}

func (g *gdClient) setHandshakeTimeout(v float64) {
	if v <= 0 || v > client.MaxHandshakeTimeout.Seconds() {
		pushError(clientName+".set_handshake_timeout", fmt.Sprintf("handshake_timeout must be more than 0 and at most %g seconds, got %g; the value is unchanged", client.MaxHandshakeTimeout.Seconds(), v))
		return
	}
	g.mu.Lock()
	g.timeout = seconds(v)
	g.mu.Unlock()
}

// Virtuals of PacketPeerExtension.

func (g *gdClient) maxPacketSizeVirtual() result {
	c := g.current()
	if c == nil {
		return int64(0)
	}
	return int64(c.MaxPayload())
}

func (g *gdClient) available() result {
	c := g.current()
	if c == nil {
		return int64(0)
	}
	return int64(c.Available())
}

func (g *gdClient) getPacket(out packetOut) result {
	c := g.current()
	if c == nil {
		return errUnavailable
	}
	pkt, ok := c.Receive()
	if !ok {
		return errUnavailable
	}
	return g.pkt.handOver(clientName+".get_packet", out, pkt)
}

func (g *gdClient) putPacket(in packetIn) result {
	const m = clientName + ".put_packet"
	c := g.current()
	if c == nil || c.Status() != link.StatusConnected {
		pushError(m, "not connected")
		return errUnconfigured
	}
	b, ok := in.read(m, c.MaxPayload())
	if !ok {
		return errInvalidParameter
	}
	if err := c.Send(b); err != nil {
		return fail(m, err, errConnectionError)
	}
	return errOK
}

func (g *gdClient) addMonitorTotals(t *monitorTotals) {
	if c := g.current(); c != nil {
		addClientTotals(t, c)
	}
}
