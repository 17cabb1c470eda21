# Runs the chat server and three clients in one process: two on GoDTLSClient,
# one on Godot's PacketPeerDTLS (both work against GoDTLSServer). In the editor it
# keeps running; headless (./build.sh) it quits once every client has heard
# every chat line, or after 20 s with an error.
#
# An exported game takes one role from its user arguments (after "--"):
#   --serve=PORT [--clients=N] [--seconds=S]  the chat server alone; with
#        --clients it quits (exit 0) once N players have joined and left,
#        and with an error after S seconds (default 60) if they have not
#   --connect=HOST:PORT [--name=NAME]  one PacketPeerDTLS player: says
#        hello and one chat line, quits (exit 0) when the line comes back
extends Node

const CLIENTS := 3

var heard := 0
var started := 0
# the role chosen by the user arguments: "" (the whole demo), "serve", "connect"
var role := ""
var args := {}
var served := 0 # players that joined and left (serve)
var seconds := 60.0


func _ready() -> void:
	started = Time.get_ticks_msec()
	args = _user_args()
	seconds = float(args.get("seconds", "60"))
	if args.has("serve"):
		role = "serve"
		_serve(int(args.serve))
		return
	if args.has("connect"):
		role = "connect"
		_connect(str(args.connect), str(args.get("name", "exported-player")))
		return
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
	if role != "":
		if (Time.get_ticks_msec() - started) / 1000.0 > seconds:
			_finish(1, "%s: gave up after %.0f s" % [role, seconds])
		return
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


# --key=value (or --flag) pairs after "--" on the command line.
func _user_args() -> Dictionary:
	var out := {}
	for a in OS.get_cmdline_user_args():
		if not a.begins_with("--"):
			continue
		var kv := a.substr(2).split("=", true, 1)
		out[kv[0]] = kv[1] if kv.size() > 1 else ""
	return out


func _serve(port: int) -> void:
	var server := preload("res://demo/chat_server.tscn").instantiate()
	server.port = port
	add_child(server)
	var dtls: GoDTLSServer = server.server
	if not dtls.is_listening():
		_finish(1, "serve: could not listen on UDP %d" % port)
		return
	var wanted := int(args.get("clients", "0"))
	dtls.peer_disconnected.connect(func(_peer: GoDTLSPeer, _why: String) -> void:
		served += 1
		print("SERVED %d" % served)
		if wanted > 0 and served >= wanted:
			_finish(0, "serve: %d players joined and left" % served))
	print("ENGINE %s %s" % [Engine.get_version_info().string, "double" if OS.has_feature("double") else "single"])
	print("SERVING %d" % dtls.get_local_port())


func _connect(address: String, player: String) -> void:
	var at := address.rsplit(":", true, 1)
	if at.size() != 2 or not at[1].is_valid_int():
		_finish(1, "connect: want HOST:PORT, got %s" % address)
		return
	var c := preload("res://demo/chat_client.tscn").instantiate()
	c.host = at[0]
	c.port = int(at[1])
	c.player_name = player
	add_child(c)
	c.chat_received.connect(func(from: String, text: String) -> void:
		print("CLIENT heard %s: %s" % [from, text])
		if from == player:
			_finish(0, "connect: my line came back"))
	_say_when_connected(c)


func _say_when_connected(c: Node) -> void:
	while not c.said_hello:
		await get_tree().process_frame
	c.say("hello from an exported game")


func _finish(code: int, why: String) -> void:
	if code == 0:
		print(why)
	else:
		push_error(why)
	get_tree().quit(code)
