# A chat client on Godot's own PacketPeerDTLS, as a game client would be.
extends Node

signal chat_received(from: String, text: String)

@export var host := "127.0.0.1"
@export var port := 4433
@export var player_name := "player"

var udp := PacketPeerUDP.new()
var dtls := PacketPeerDTLS.new()
var said_hello := false


func _ready() -> void:
	udp.connect_to_host(host, port)
	# A self-signed demo certificate: skip verification. A shipped game pins
	# its server certificate with TLSOptions.client(cert) instead.
	dtls.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())


func _process(_delta: float) -> void:
	dtls.poll()
	if dtls.get_status() != PacketPeerDTLS.STATUS_CONNECTED:
		return
	if not said_hello:
		said_hello = true
		dtls.put_var({"type": "hello", "name": player_name})
	while dtls.get_available_packet_count() > 0:
		var msg = dtls.get_var()
		if msg is Dictionary and msg.get("type") == "chat":
			chat_received.emit(msg.from, msg.text)


func say(text: String) -> void:
	if dtls.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
		dtls.put_var({"type": "chat", "text": text})


func _exit_tree() -> void:
	dtls.disconnect_from_peer()
