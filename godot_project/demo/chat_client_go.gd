# The same chat client on GoDTLSClient: the handshake runs in the background
# and a failure comes with a reason. Compare chat_client.gd (PacketPeerDTLS).
extends Node

signal chat_received(from: String, text: String)

@export var host := "127.0.0.1"
@export var port := 4433
@export var player_name := "player"

var dtls := GoDTLSClient.new()
var said_hello := false


func _ready() -> void:
	dtls.connected.connect(func() -> void:
		said_hello = true
		dtls.put_var({"type": "hello", "name": player_name}))
	dtls.connection_failed.connect(func(reason: String) -> void: push_error("%s: cannot connect: %s" % [player_name, reason]))
	dtls.disconnected.connect(func(reason: String) -> void: print("%s: disconnected: %s" % [player_name, reason]))
	# A self-signed demo certificate: skip verification. A shipped game pins
	# its server certificate with TLSOptions.client(cert) instead.
	dtls.connect_to_host(host, port, "localhost", TLSOptions.client_unsafe())


func _process(_delta: float) -> void:
	dtls.poll()
	while dtls.get_available_packet_count() > 0:
		var msg = dtls.get_var()
		if msg is Dictionary and msg.get("type") == "chat":
			chat_received.emit(msg.from, msg.text)


func say(text: String) -> void:
	if dtls.get_status() == GoDTLSClient.STATUS_CONNECTED:
		dtls.put_var({"type": "chat", "text": text})


func _exit_tree() -> void:
	dtls.disconnect_from_peer()
