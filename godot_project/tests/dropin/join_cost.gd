# Measures the main-thread cost of letting clients join: the longest single
# server-side frame section (UDPServer.poll, take_connection, peer polls)
# while N Godot clients join at once. Runs the same loop on Godot's DTLSServer
# or on GoDTLSServer in the DTLSServer-compatible mode.
extends Node

var use_go := true
var key: CryptoKey
var cert: X509Certificate
var clients := 50

var server := UDPServer.new()
var dtls # DTLSServer or GoDTLSServer
var peers := []
var client_peers := []
var worst_usec := 0
var connected := 0


func _ready():
	server.listen(0, "127.0.0.1")
	dtls = GoDTLSServer.new() if use_go else DTLSServer.new()
	dtls.setup(TLSOptions.server(key, cert))
	for i in clients:
		var udp := PacketPeerUDP.new()
		udp.connect_to_host("127.0.0.1", server.get_local_port())
		var c := PacketPeerDTLS.new()
		c.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
		client_peers.append(c)


func _process(_delta):
	var t0 := Time.get_ticks_usec()
	server.poll()
	while server.is_connection_available():
		var peer: PacketPeerUDP = server.take_connection()
		var dtls_peer = dtls.take_connection(peer)
		if dtls_peer.get_status() == PacketPeerDTLS.STATUS_HANDSHAKING:
			peers.append(dtls_peer)
	for p in peers:
		p.poll()
	worst_usec = max(worst_usec, Time.get_ticks_usec() - t0)
	# the clients are Godot's own and poll on this thread too; not counted
	connected = 0
	for c in client_peers:
		c.poll()
		if c.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
			connected += 1
