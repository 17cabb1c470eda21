package main

/*
#include <stdlib.h>
#include "gdx.h"
*/
import "C"

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"godtls/extension/client"
)

// GoDTLSClient: a DTLS client whose name resolution and handshake run on
// goroutines, with PSK and failure reasons; a PacketPeer through its
// virtuals. Everything Godot sees of the class is declared in clientClass.

const clientName = "GoDTLSClient"

func clientClass() *classDef {
	return &classDef{
		name:   clientName,
		parent: "PacketPeerExtension",
		create: func(obj unsafe.Pointer) instance { return &gdClient{obj: obj, timeout: client.DefaultHandshakeTimeout} },
		methods: []*methodDef{
			method("connect_to_host", (*gdClient).connectToHost).arg("address", tString).arg("port", tInt).
				arg("hostname", tString).or("").objectArg("client_options", "TLSOptions").or(nil).returnsEnum("Error"),
			method("connect_psk", (*gdClient).connectPSK).arg("address", tString).arg("port", tInt).
				arg("identity", tString).arg("key", tBytes).returnsEnum("Error"),
			method("poll", (*gdClient).poll),
			method("get_status", (*gdClient).status).returnsEnum(clientName + ".Status").readOnly(),
			method("disconnect_from_peer", (*gdClient).disconnect),
			method("get_last_error", (*gdClient).lastError).returns(tString).readOnly(),
			method("get_peer_certificate", (*gdClient).peerCertificate).returnsObject("X509Certificate").readOnly(),
			method("get_max_packet_size", (*gdClient).maxPacketSize).returns(tInt).readOnly(),
			method("get_stats", (*gdClient).stats).returns(tDictionary),
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
	obj unsafe.Pointer

	mu      sync.Mutex
	c       *client.Client // nil before the first connect
	timeout time.Duration

	pkt packetBuffer // what _get_packet hands Godot
}

func (g *gdClient) current() *client.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c
}

// free and shutdown end the connection (close_notify) and its goroutines.
func (g *gdClient) free() {
	g.shutdown()
	g.pkt.free()
}

func (g *gdClient) shutdown() {
	if c := g.current(); c != nil {
		c.Close()
	}
}

func (g *gdClient) connectToHost(a args) result {
	const m = clientName + ".connect_to_host"
	cfg, e := clientConfig(m, a[2].s, a[3].obj)
	if e != errOK {
		return e
	}
	return g.start(m, a[0].s, a[1].i, cfg)
}

// clientConfig reads what connect_to_host's hostname and client_options
// (a client TLSOptions, or null: the system's roots) ask for.
func clientConfig(m, hostname string, opts unsafe.Pointer) (client.Config, gdError) {
	cfg := client.Config{ServerName: hostname}
	if opts == nil {
		return cfg, errOK
	}
	if !isClass(opts, "TLSOptions") {
		pushError(m, "client_options is not a TLSOptions")
		return cfg, errInvalidParameter
	}
	o := readClientOptions(opts)
	if o.isServer {
		pushError(m, "client_options is a server TLSOptions; use TLSOptions.client() or TLSOptions.client_unsafe()")
		return cfg, errInvalidParameter
	}
	if o.chainPEM != "" {
		roots, err := certPool(o.chainPEM)
		if err != nil {
			pushError(m, "the trusted chain of client_options: "+err.Error())
			return cfg, errInvalidParameter
		}
		cfg.RootCAs = roots
	}
	if o.nameOverride != "" {
		cfg.ServerName = o.nameOverride
	}
	if o.unsafe {
		// client_unsafe(): no verification, or with a chain the chain
		// only (Godot never checks the name in unsafe mode).
		cfg.Insecure = o.chainPEM == ""
		cfg.AnyName = o.chainPEM != ""
	}
	return cfg, errOK
}

func (g *gdClient) connectPSK(a args) result {
	const m = clientName + ".connect_psk"
	if a[2].s == "" || len(a[3].bytes) == 0 {
		pushError(m, "identity and key must not be empty")
		return errInvalidParameter
	}
	return g.start(m, a[0].s, a[1].i, client.Config{PSKIdentity: a[2].s, PSKKey: a[3].bytes})
}

// start begins a connection attempt; it returns at once.
func (g *gdClient) start(m, address string, port int64, cfg client.Config) result {
	g.mu.Lock()
	old := g.c
	cfg.HandshakeTimeout = g.timeout
	g.mu.Unlock()
	if old != nil {
		switch old.Status() {
		case client.StatusHandshaking, client.StatusConnected:
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
func (g *gdClient) poll(args) result {
	c := g.current()
	if c == nil {
		return nil
	}
	for ev, ok := c.NextEvent(); ok; ev, ok = c.NextEvent() {
		switch ev.Kind {
		case client.EventConnected:
			emit(g.obj, "connected")
		case client.EventFailed:
			emit(g.obj, "connection_failed", variantString(ev.Failure.Error()))
		case client.EventDisconnected:
			emit(g.obj, "disconnected", variantString(ev.Failure.Error()))
		}
	}
	return nil
}

func (g *gdClient) status(args) result {
	c := g.current()
	if c == nil {
		return int64(client.StatusDisconnected)
	}
	return int64(c.Status())
}

func (g *gdClient) disconnect(args) result {
	if c := g.current(); c != nil {
		c.Close()
	}
	return nil
}

func (g *gdClient) lastError(args) result {
	c := g.current()
	if c == nil {
		return ""
	}
	return c.LastError()
}

// peerCertificate returns the server's leaf as an X509Certificate (null
// with PSK or before connecting).
func (g *gdClient) peerCertificate(args) result {
	c := g.current()
	if c == nil || c.Status() != client.StatusConnected {
		return nil
	}
	chain := c.PeerCertificates()
	if len(chain) == 0 {
		return nil
	}
	obj := newX509Certificate(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0]})))
	if obj == nil {
		return nil
	}
	return objResult{obj: obj, fresh: true}
}

func (g *gdClient) maxPacketSize(args) result { return g.maxPacketSizeVirtual(nil) }

func (g *gdClient) stats(args) result {
	d := newDict()
	if c := g.current(); c != nil {
		st := c.Stats()
		d.setInt("packets_in", int64(st.PacketsIn))
		d.setInt("packets_out", int64(st.PacketsOut))
		d.setInt("bytes_in", int64(st.BytesIn))
		d.setInt("bytes_out", int64(st.BytesOut))
		d.setInt("dropped", int64(st.Dropped))
		d.setInt("queued", int64(st.Queued))
		d.setInt("post_handshake_dropped", int64(st.PostHandshakeDropped))
		d.setInt("auth_failed", int64(st.AuthFailed))
		d.setInt("garbage", int64(st.Garbage))
		d.set("last_packet_time", variantFloat(float64(st.LastReceive.UnixNano())/1e9))
	}
	return d
}

func (g *gdClient) handshakeTimeout() result {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.timeout.Seconds()
}

func (g *gdClient) setHandshakeTimeout(v value) {
	if v.f <= 0 || v.f > client.MaxHandshakeTimeout.Seconds() {
		pushError(clientName+".set_handshake_timeout", fmt.Sprintf("handshake_timeout must be more than 0 and at most %g seconds, got %g; the value is unchanged", client.MaxHandshakeTimeout.Seconds(), v.f))
		return
	}
	g.mu.Lock()
	g.timeout = seconds(v.f)
	g.mu.Unlock()
}

// Virtuals of PacketPeerExtension.

func (g *gdClient) maxPacketSizeVirtual([]unsafe.Pointer) result {
	c := g.current()
	if c == nil {
		return int64(0)
	}
	return int64(c.MaxPayload())
}

func (g *gdClient) available([]unsafe.Pointer) result {
	c := g.current()
	if c == nil {
		return int64(0)
	}
	return int64(c.Available())
}

func (g *gdClient) getPacket(a []unsafe.Pointer) result {
	c := g.current()
	if c == nil {
		return errUnavailable
	}
	pkt, ok := c.Receive()
	if !ok {
		return errUnavailable
	}
	return g.pkt.handOver(clientName+".get_packet", a, pkt)
}

func (g *gdClient) putPacket(a []unsafe.Pointer) result {
	const m = clientName + ".put_packet"
	c := g.current()
	if c == nil || c.Status() != client.StatusConnected {
		pushError(m, "not connected")
		return errUnconfigured
	}
	b, ok := packetArg(m, a, c.MaxPayload())
	if !ok {
		return errInvalidParameter
	}
	if err := c.Send(b); err != nil {
		pushError(m, err.Error())
		if errors.Is(err, client.ErrSendQueueFull) {
			return errBusy
		}
		return errConnectionError
	}
	return errOK
}

// certPool reads PEM certificates (a TLSOptions' trusted chain).
func certPool(chainPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(chainPEM)) {
		return nil, errors.New("no PEM certificate in it")
	}
	return pool, nil
}
