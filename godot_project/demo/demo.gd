# Runs the chat server and three clients in one process: two on GoDTLSClient,
# one on Godot's PacketPeerDTLS (both work against GoDTLSServer). In the editor it
# keeps running; headless (./build.sh) it quits once every client has heard
# every chat line, or after 20 s with an error.
extends Node

const CLIENTS := 3

var heard := 0
var started := 0


func _ready() -> void:
	started = Time.get_ticks_msec()
	var server := preload("res://demo/chat_server.tscn").instantiate()
	server.port = 0 if DisplayServer.get_name() == "headless" else 4433
	add_child(server)
	var port: int = server.server.get_local_port()
	for i in CLIENTS:
		var scene := preload("res://demo/chat_client.tscn") if i == CLIENTS - 1 else preload("res://demo/chat_client_go.tscn")
		var c := scene.instantiate()
		c.port = port
		c.player_name = "player-%d" % i
		c.chat_received.connect(_on_chat.bind(c))
		add_child(c)


var spoken := false


func _process(_delta: float) -> void:
	if not spoken and _all_connected():
		spoken = true
		for c in _clients():
			c.say("hi from %s" % c.player_name)
	if DisplayServer.get_name() == "headless":
		if heard == CLIENTS * CLIENTS:
			print("demo: every client heard all %d chat lines" % CLIENTS)
			get_tree().quit(0)
		elif Time.get_ticks_msec() - started > 20000:
			push_error("demo: only %d of %d chat lines arrived" % [heard, CLIENTS * CLIENTS])
			get_tree().quit(1)


func _clients() -> Array:
	return get_children().filter(func(n: Node) -> bool: return n.has_method("say"))


func _all_connected() -> bool:
	for c in _clients():
		if not c.said_hello:
			return false
	return true


func _on_chat(from: String, text: String, client: Node) -> void:
	heard += 1
	print("[%s] %s: %s" % [client.player_name, from, text])
