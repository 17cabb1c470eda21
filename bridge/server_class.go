package main

/*
#include "gdx.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"godtls/extension/credentials"
	"godtls/extension/server"
)

// gdServer is the Go side of one GoDTLSServer object.
type gdServer struct {
	obj unsafe.Pointer // the Godot object; valid while Godot holds it
	srv *server.Server

	mu    sync.Mutex
	cfg   server.Config
	peers map[*server.Peer]*gdPeer // peer objects alive in Godot (weak)
}

func newGDServer(obj unsafe.Pointer) *gdServer {
	// Cheap and side-effect free: the editor instantiates classes to read
	// their defaults. No socket, no goroutine until listen().
	srv := server.New(server.Config{})
	return &gdServer{obj: obj, srv: srv, cfg: srv.Config(), peers: map[*server.Peer]*gdPeer{}}
}

// free runs when the last reference goes: the object is half destroyed, so
// only Go state is touched.
func (s *gdServer) free() {
	s.srv.Stop()
	s.mu.Lock()
	for _, p := range s.peers {
		p.owner = nil
	}
	s.peers = nil
	s.mu.Unlock()
}

// peerObject returns the Godot object of p: the live one if GDScript still
// holds it, otherwise a fresh one.
func (s *gdServer) peerObject(p *server.Peer) objResult {
	s.mu.Lock()
	gp := s.peers[p]
	s.mu.Unlock()
	if gp != nil && C.gdx_object_from_id(C.uint64_t(gp.id)) == gp.obj {
		return objResult{obj: gp.obj}
	}
	gp = newPeerObject(p, s)
	s.mu.Lock()
	if s.peers != nil {
		s.peers[p] = gp
	}
	s.mu.Unlock()
	return objResult{obj: gp.obj, fresh: true}
}

func (s *gdServer) forgetPeer(gp *gdPeer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers != nil && s.peers[gp.p] == gp {
		delete(s.peers, gp.p)
	}
}

const srvName = "GoDTLSServer"

func (s *gdServer) setup(a []value) result {
	const m = srvName + ".setup"
	opts := a[0].obj
	if opts == nil {
		pushError(m, "server_options is null; pass TLSOptions.server(key, certificate)")
		return int64(errInvalidParameter)
	}
	if !isClass(opts, "TLSOptions") {
		pushError(m, "server_options is not a TLSOptions")
		return int64(errInvalidParameter)
	}
	key, cert, isServer := tlsOptionsPEM(opts)
	if !isServer {
		pushError(m, "server_options is a client TLSOptions; use TLSOptions.server(key, certificate)")
		return int64(errInvalidParameter)
	}
	return s.setupPEM(m, key, cert)
}

func (s *gdServer) setupPEM(m, key, chain string) result {
	if s.srv.Configured() {
		pushError(m, "the server is already set up; create a new GoDTLSServer for other credentials")
		return int64(errAlreadyInUse)
	}
	c, err := credentials.FromPEM([]byte(key), []byte(chain), time.Now())
	if err != nil {
		pushError(m, err.Error())
		switch {
		case errors.Is(err, credentials.ErrKeyMismatch):
			return int64(errInvalidParameter)
		case errors.Is(err, credentials.ErrNoKey), errors.Is(err, credentials.ErrNoCertificate):
			return int64(errInvalidParameter)
		}
		return int64(errInvalidData)
	}
	for _, w := range c.Warnings {
		pushWarning(m, w)
	}
	if err := s.srv.SetCertificate(c); err != nil {
		pushError(m, err.Error())
		return int64(errAlreadyInUse)
	}
	return int64(errOK)
}

func (s *gdServer) setupPSK(a []value) result {
	const m = srvName + ".setup_psk"
	if s.srv.Configured() {
		pushError(m, "the server is already set up")
		return int64(errAlreadyInUse)
	}
	keys, values := dictEntries(a[0].dict)
	defer func() {
		for i := range keys {
			keys[i].destroy()
			values[i].destroy()
		}
	}()
	table := map[string][]byte{}
	for i := range keys {
		id, ok := stringOf(&keys[i])
		if !ok {
			pushError(m, fmt.Sprintf("key %d is not a String identity", i))
			return int64(errInvalidParameter)
		}
		b, ok := bytesOf(&values[i])
		if !ok {
			pushError(m, fmt.Sprintf("the key for identity %q is not a PackedByteArray", id))
			return int64(errInvalidParameter)
		}
		table[id] = b
	}
	p, err := credentials.NewPSK(table, a[1].s)
	if err != nil {
		pushError(m, err.Error())
		return int64(errInvalidParameter)
	}
	if err := s.srv.SetPSK(p); err != nil {
		pushError(m, err.Error())
		return int64(errAlreadyInUse)
	}
	return int64(errOK)
}

func (s *gdServer) listen(a []value) result {
	const m = srvName + ".listen"
	err := s.srv.Listen(int(a[0].i), a[1].s)
	switch {
	case err == nil:
		return int64(errOK)
	case errors.Is(err, server.ErrNotConfigured):
		pushError(m, "call setup(), setup_pem() or setup_psk() first")
		return int64(errUnconfigured)
	case errors.Is(err, server.ErrPortInUse):
		pushError(m, fmt.Sprintf("port %d is already in use", a[0].i))
		return int64(errAlreadyInUse)
	case errors.Is(err, server.ErrModeMixed):
		pushError(m, "this server already serves UDPServer peers through take_connection(udp_peer); use another GoDTLSServer to listen")
		return int64(errAlreadyInUse)
	case errors.Is(err, server.ErrAlreadyListening):
		pushError(m, "already listening; call stop() first")
		return int64(errAlreadyInUse)
	case errors.Is(err, server.ErrBadPort), errors.Is(err, server.ErrBadAddress):
		pushError(m, err.Error())
		return int64(errInvalidParameter)
	}
	pushError(m, err.Error())
	return int64(errCantCreate)
}

// poll emits the signals for what happened since the last call. The events
// are taken first; signal handlers then run with no lock held.
func (s *gdServer) poll() result {
	for {
		ev, ok := s.srv.NextEvent()
		if !ok {
			return nil
		}
		switch ev.Kind {
		case server.EventConnected:
			o := s.peerObject(ev.Peer)
			emit(s.obj, "peer_connected", variantObject(o.obj))
		case server.EventDisconnected:
			o := s.peerObject(ev.Peer)
			emit(s.obj, "peer_disconnected", variantObject(o.obj), variantString(ev.Reason))
		case server.EventHandshakeFailed:
			emit(s.obj, "handshake_failed", variantString(ev.Addr.Addr().String()), variantInt(int64(ev.Addr.Port())), variantString(ev.Reason))
		case server.EventInternalError:
			pushError(srvName+".poll", ev.Reason)
		}
	}
}

func (s *gdServer) takeConnection(a []value) result {
	if a[0].obj != nil {
		return s.attach(a[0].obj)
	}
	p := s.srv.TakeConnection()
	if p == nil {
		return nil
	}
	return s.peerObject(p)
}

// attach is DTLSServer.take_connection(udp_peer): the handshake runs on a
// goroutine over the datagrams GoDTLSPeer.poll() moves through udp_peer.
func (s *gdServer) attach(obj unsafe.Pointer) result {
	const m = srvName + ".take_connection"
	if !isClass(obj, "PacketPeerUDP") {
		pushError(m, "udp_peer is not a PacketPeerUDP")
		return nil
	}
	u := udpPeer{obj}
	if !u.connected() {
		pushError(m, "udp_peer is not connected to a remote address; pass the PacketPeerUDP returned by UDPServer.take_connection()")
		return nil
	}
	// UDPServer.poll() already queued the first datagram (the ClientHello):
	// it carries the remote address.
	var first [][]byte
	ip, port := "", 0
	for u.available() > 0 && len(first) < 64 {
		b, pip, pport := u.next()
		first = append(first, b)
		ip, port = pip, pport
	}
	addr, _ := netip.ParseAddr(ip)
	p, err := s.srv.Attach(netip.AddrPortFrom(addr.Unmap(), uint16(port)))
	switch {
	case errors.Is(err, server.ErrNotConfigured):
		pushError(m, "call setup(), setup_pem() or setup_psk() first")
		return nil
	case errors.Is(err, server.ErrModeMixed):
		pushError(m, "this server is listening on its own socket; use take_connection() with no argument, or another GoDTLSServer for UDPServer peers")
		return nil
	case err != nil:
		pushError(m, err.Error())
		return nil
	}
	for _, b := range first {
		p.Feed(b)
	}
	o := s.peerObject(p)
	gp := instanceOf(o.obj).(*gdPeer)
	retain(obj)
	gp.udp = u
	return o
}

func (s *gdServer) broadcast(a []value) result {
	var except *server.Peer
	if a[1].obj != nil {
		gp, ok := instanceOf(a[1].obj).(*gdPeer)
		if !ok {
			pushError(srvName+".broadcast", "exclude is not a GoDTLSPeer")
			return int64(0)
		}
		except = gp.p
	}
	return int64(s.srv.Broadcast(a[0].bytes, except))
}

func (s *gdServer) getPeers() result {
	arr := newArray()
	for _, p := range s.srv.Peers() {
		o := s.peerObject(p)
		arr.append(variantObject(o.obj))
	}
	return arr
}

func (s *gdServer) stats() result {
	st := s.srv.Stats()
	d := newDict()
	d.setInt("handshakes_ok", int64(st.HandshakesOK))
	d.setInt("handshakes_failed", int64(st.HandshakesFailed))
	d.setInt("peers", int64(st.Peers))
	d.setInt("pending_handshakes", int64(st.Pending))
	d.setInt("unverified_handshakes", int64(st.Unverified))
	d.setInt("queued_hellos", int64(st.Queued))
	d.setInt("packets_in", int64(st.PacketsIn))
	d.setInt("packets_out", int64(st.PacketsOut))
	d.setInt("bytes_in", int64(st.BytesIn))
	d.setInt("bytes_out", int64(st.BytesOut))
	d.setInt("dropped", int64(st.Dropped))
	d.setInt("garbage", int64(st.Garbage))
	d.setInt("rejected", int64(st.Rejected))
	d.setInt("evicted", int64(st.Evicted))
	d.setInt("oversize", int64(st.Oversize))
	d.setInt("stray", int64(st.Stray))
	d.setInt("spoofed", int64(st.Spoofed))
	d.setInt("epoch_zero_dropped", int64(st.EpochZero))
	d.setInt("internal_errors", int64(st.Panics))
	d.setInt("events_dropped", int64(st.EventsDropped))
	return d
}

// Properties. Changes apply to new handshakes and peers. Config.Validate is
// the one source of the limits; here only GDScript's meanings of 0 are
// mapped (the engine's Config reads 0 as "the default").
func (s *gdServer) setConfig(prop string, apply func(*server.Config)) result {
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
	return nil
}

// setAtLeastOne sets a limit GDScript may not set to 0.
func (s *gdServer) setAtLeastOne(prop string, v int64, apply func(*server.Config, int)) result {
	if v < 1 {
		pushError(srvName+".set_"+prop, fmt.Sprintf("%s must be at least 1, got %d; the value is unchanged", prop, v))
		return nil
	}
	return s.setConfig(prop, func(c *server.Config) { apply(c, int(v)) })
}

func seconds(v float64) time.Duration {
	if v < 0 {
		return -1 // Validate refuses it with the reason
	}
	return time.Duration(min(v, 1e6) * float64(time.Second))
}

func (s *gdServer) config() server.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func serverMethods() []*methodDef {
	self := bind[*gdServer]
	d, dv := defString("*")
	nd, ndv := defNull()
	hd, hdv := defString("")
	ms := []*methodDef{
		{name: "setup", args: []argSpec{{name: "server_options", typ: tObject, class: "TLSOptions"}}, ret: tInt, retEnum: "Error",
			impl: self(func(s *gdServer, a []value) result { return s.setup(a) })},
		{name: "setup_pem", args: []argSpec{{name: "private_key_pem", typ: tString}, {name: "certificate_chain_pem", typ: tString}}, ret: tInt, retEnum: "Error",
			impl: self(func(s *gdServer, a []value) result { return s.setupPEM(srvName+".setup_pem", a[0].s, a[1].s) })},
		{name: "setup_psk", args: []argSpec{{name: "keys", typ: tDictionary}, withDefault(argSpec{name: "identity_hint", typ: tString}, hd, hdv)}, ret: tInt, retEnum: "Error",
			impl: self(func(s *gdServer, a []value) result { return s.setupPSK(a) })},
		{name: "listen", args: []argSpec{{name: "port", typ: tInt}, withDefault(argSpec{name: "bind_address", typ: tString}, d, dv)}, ret: tInt, retEnum: "Error",
			impl: self(func(s *gdServer, a []value) result { return s.listen(a) })},
		{name: "is_listening", ret: tBool, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return s.srv.Listening() })},
		{name: "get_local_port", ret: tInt, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return int64(s.srv.LocalPort()) })},
		{name: "poll", impl: self(func(s *gdServer, a []value) result { return s.poll() })},
		{name: "is_connection_available", ret: tBool, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return s.srv.ConnectionAvailable() })},
		{name: "take_connection", args: []argSpec{withDefault(argSpec{name: "udp_peer", typ: tObject, class: "PacketPeerUDP"}, nd, ndv)}, ret: tObject, retClass: "GoDTLSPeer",
			impl: self(func(s *gdServer, a []value) result { return s.takeConnection(a) })},
		{name: "broadcast", args: []argSpec{{name: "packet", typ: tBytes}, withDefault(argSpec{name: "exclude", typ: tObject, class: "GoDTLSPeer"}, nd, ndv)}, ret: tInt,
			impl: self(func(s *gdServer, a []value) result { return s.broadcast(a) })},
		{name: "get_peers", ret: tArray,
			impl: self(func(s *gdServer, a []value) result { return s.getPeers() })},
		{name: "stop", impl: self(func(s *gdServer, a []value) result { s.srv.Stop(); return nil })},
		{name: "get_stats", ret: tDictionary,
			impl: self(func(s *gdServer, a []value) result { return s.stats() })},
		// properties
		{name: "set_max_peers", args: []argSpec{{name: "value", typ: tInt}},
			impl: self(func(s *gdServer, a []value) result {
				return s.setAtLeastOne("max_peers", a[0].i, func(c *server.Config, v int) { c.MaxPeers = v })
			})},
		{name: "get_max_peers", ret: tInt, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return int64(s.config().MaxPeers) })},
		{name: "set_max_peers_per_ip", args: []argSpec{{name: "value", typ: tInt}},
			impl: self(func(s *gdServer, a []value) result {
				if a[0].i < 0 {
					pushError(srvName+".set_max_peers_per_ip", fmt.Sprintf("max_peers_per_ip must be at least 1, or 0 for no limit; got %d", a[0].i))
					return nil
				}
				return s.setConfig("max_peers_per_ip", func(c *server.Config) {
					c.MaxPeersPerIP = int(a[0].i)
					if a[0].i == 0 {
						c.MaxPeersPerIP = server.NoLimit
					}
				})
			})},
		{name: "get_max_peers_per_ip", ret: tInt, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return int64(max(0, s.config().MaxPeersPerIP)) })},
		{name: "set_max_pending_handshakes", args: []argSpec{{name: "value", typ: tInt}},
			impl: self(func(s *gdServer, a []value) result {
				return s.setAtLeastOne("max_pending_handshakes", a[0].i, func(c *server.Config, v int) {
					c.MaxPendingHandshakes = v
					c.MaxPendingPerIP = 0 // derived again from the new cap
				})
			})},
		{name: "get_max_pending_handshakes", ret: tInt, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return int64(s.config().MaxPendingHandshakes) })},
		{name: "set_handshake_timeout", args: []argSpec{{name: "seconds", typ: tFloat}},
			impl: self(func(s *gdServer, a []value) result {
				if a[0].f <= 0 {
					pushError(srvName+".set_handshake_timeout", fmt.Sprintf("handshake_timeout must be more than 0 seconds, got %g; the value is unchanged", a[0].f))
					return nil
				}
				return s.setConfig("handshake_timeout", func(c *server.Config) { c.HandshakeTimeout = seconds(a[0].f) })
			})},
		{name: "get_handshake_timeout", ret: tFloat, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return s.config().HandshakeTimeout.Seconds() })},
		{name: "set_idle_timeout", args: []argSpec{{name: "seconds", typ: tFloat}},
			impl: self(func(s *gdServer, a []value) result {
				return s.setConfig("idle_timeout", func(c *server.Config) { c.IdleTimeout = seconds(a[0].f) })
			})},
		{name: "get_idle_timeout", ret: tFloat, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return s.config().IdleTimeout.Seconds() })},
		{name: "set_mtu", args: []argSpec{{name: "bytes", typ: tInt}},
			impl: self(func(s *gdServer, a []value) result {
				return s.setAtLeastOne("mtu", a[0].i, func(c *server.Config, v int) { c.MTU = v })
			})},
		{name: "get_mtu", ret: tInt, isConst: true,
			impl: self(func(s *gdServer, a []value) result { return int64(s.config().MTU) })},
	}
	for _, m := range ms {
		m.class = srvName
	}
	return ms
}
