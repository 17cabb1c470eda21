# A chat server on GoDTLSServer: typed messages (Dictionaries through
# put_var/get_var), join/leave notices, and broadcast to everyone.
extends Node

const GoReadableCert = preload("res://demo/go_readable_cert.gd")

signal message_logged(text: String)

@export var port := 4433

var server := GoDTLSServer.new()
var names := {} # GoDTLSPeer -> player name
var peers: Array[GoDTLSPeer] = []


func _ready() -> void:
	# Godot's Crypto makes RSA keys only; a real game loads its key from disk.
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := GoReadableCert.make(crypto, key, "CN=localhost,O=GoDTLS demo,C=US")
	var err := server.setup(TLSOptions.server(key, cert))
	if err != OK:
		push_error("chat server: setup failed: %s" % error_string(err))
		return
	server.idle_timeout = 30.0
	server.peer_connected.connect(_on_peer_connected)
	server.peer_disconnected.connect(_on_peer_disconnected)
	server.handshake_failed.connect(func(ip: String, p: int, why: String) -> void:
		_log("handshake from %s:%d failed: %s" % [ip, p, why]))
	err = server.listen(port)
	if err != OK:
		push_error("chat server: listen on %d failed: %s" % [port, error_string(err)])
		return
	_log("listening on UDP %d" % server.get_local_port())


func _process(_delta: float) -> void:
	server.poll()
	var peer := server.take_connection()
	while peer:
		peers.append(peer)
		peer = server.take_connection()
	for p in peers:
		# every queued packet this frame, not one per poll()
		while p.get_available_packet_count() > 0:
			_handle(p, p.get_var())


func _handle(peer: GoDTLSPeer, msg: Variant) -> void:
	if not (msg is Dictionary) or not msg.has("type"):
		return
	match msg.type:
		"hello":
			names[peer] = str(msg.get("name", "anonymous"))
			peer.put_var({"type": "welcome", "players": names.size()})
			_broadcast({"type": "joined", "name": names[peer]}, peer)
		"chat":
			_broadcast({"type": "chat", "from": names.get(peer, "?"), "text": str(msg.get("text", ""))})


func _broadcast(msg: Dictionary, exclude: GoDTLSPeer = null) -> void:
	var sent := server.broadcast(var_to_bytes(msg), exclude)
	_log("%s -> %d peers" % [msg, sent])


func _on_peer_connected(peer: GoDTLSPeer) -> void:
	_log("%s:%d connected" % [peer.get_packet_ip(), peer.get_packet_port()])


func _on_peer_disconnected(peer: GoDTLSPeer, reason: String) -> void:
	peers.erase(peer)
	if names.has(peer):
		_broadcast({"type": "left", "name": names[peer]})
		names.erase(peer)
	_log("peer left: %s" % reason)


func _log(text: String) -> void:
	print("[server] ", text)
	message_logged.emit(text)


func _exit_tree() -> void:
	server.stop()
