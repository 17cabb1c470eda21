# Godot's DTLSServer documentation example (client side), unchanged but for
# the port and the counters the test reads.
extends Node

var dtls := PacketPeerDTLS.new()
var udp := PacketPeerUDP.new()
var connected = false

var port := 0
var answers := 0

func _ready():
	udp.connect_to_host("127.0.0.1", port)
	dtls.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())

func _process(delta):
	dtls.poll()
	if dtls.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
		if !connected:
			# Try to contact server
			dtls.put_packet("The answer is... 42!".to_utf8_buffer())
		while dtls.get_available_packet_count() > 0:
			var reply = dtls.get_packet().get_string_from_utf8()
			if reply == "Hello DTLS client":
				answers += 1
			connected = true
