# Godot's DTLSServer documentation example (server side), with only the class
# names changed: DTLSServer -> GoDTLSServer, PacketPeerDTLS -> GoDTLSPeer in
# the type hint. The key and certificate come from the test instead of files,
# and the node counts what the test checks.
extends Node

var dtls := GoDTLSServer.new()
var server := UDPServer.new()
var peers = []

var port := 0
var key: CryptoKey
var cert: X509Certificate
var not_handshaking := 0
var received := 0

func _ready():
	server.listen(port, "127.0.0.1")
	port = server.get_local_port()
	dtls.setup(TLSOptions.server(key, cert))

func _process(delta):
	server.poll() # Important!
	while server.is_connection_available():
		var peer: PacketPeerUDP = server.take_connection()
		var dtls_peer: GoDTLSPeer = dtls.take_connection(peer)
		if dtls_peer.get_status() != PacketPeerDTLS.STATUS_HANDSHAKING:
			not_handshaking += 1
			continue # It is normal that 50% of the connections fails due to cookie exchange.
		peers.append(dtls_peer)

	for p in peers:
		p.poll() # Must poll to update the state.
		if p.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
			while p.get_available_packet_count() > 0:
				var msg = p.get_packet().get_string_from_utf8()
				received += 1
				p.put_packet("Hello DTLS client".to_utf8_buffer())
