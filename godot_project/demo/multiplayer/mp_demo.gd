# Multiplayer demo: a server and two clients on GoDTLSMultiplayerPeer in one
# process, each world under its own SceneMultiplayer. In a window the left
# pane is the server's view, the others the clients'; arrow keys move the
# first client's square, the second one walks by itself. Headless
# (./build.sh build) it checks that both clients see both players spawned
# and moving, then quits.
extends Node

const GoReadableCert = preload("res://demo/go_readable_cert.gd")

const PORT := 7043

var server_world: Node2D
var client_worlds: Array[Node2D] = []
var started := 0


func _ready() -> void:
	started = Time.get_ticks_msec()
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := GoReadableCert.make(crypto, key, "CN=localhost")
	var headless := DisplayServer.get_name() == "headless"

	server_world = _world("Server", Color.GOLD, 0)
	var server := GoDTLSMultiplayerPeer.new()
	var err := server.create_server(0 if headless else PORT, TLSOptions.server(key, cert), "127.0.0.1")
	if err != OK:
		push_error("multiplayer demo: create_server: " + error_string(err))
		get_tree().quit(1)
		return
	server_world.multiplayer.multiplayer_peer = server
	server_world.start_server()
	var port := server.get_server().get_local_port()

	for i in 2:
		var w := _world("Client%d" % (i + 1), [Color.DEEP_SKY_BLUE, Color.LIME_GREEN][i], i + 1)
		var c := GoDTLSMultiplayerPeer.new()
		# The demo's certificate is self-signed for "localhost": trust it.
		c.create_client("127.0.0.1", port, "localhost", TLSOptions.client(cert))
		w.multiplayer.multiplayer_peer = c
		client_worlds.append(w)


# _world makes one world under its own SceneMultiplayer, drawn in a third
# of the window.
func _world(name: String, tint: Color, column: int) -> Node2D:
	var w := preload("res://demo/multiplayer/world.gd").new() as Node2D
	w.name = name
	w.tint = tint
	w.position = Vector2(column * 400, 0)
	add_child(w)
	get_tree().set_multiplayer(SceneMultiplayer.new(), w.get_path())
	return w


func _process(_delta: float) -> void:
	var t := Time.get_ticks_msec() / 1000.0
	if client_worlds.size() == 2:
		client_worlds[0].my_input = Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down")
		if DisplayServer.get_name() == "headless":
			client_worlds[0].my_input = Vector2(1, 0)
		client_worlds[1].my_input = Vector2(cos(t), sin(t))
	if DisplayServer.get_name() != "headless":
		return
	if _everyone_sees_moving_players():
		print("multiplayer demo: both clients see both players spawned and moving (synchronized from the server)")
		get_tree().quit(0)
	elif Time.get_ticks_msec() - started > 20000:
		push_error("multiplayer demo: the clients did not see both players move within 20 s")
		get_tree().quit(1)


func _everyone_sees_moving_players() -> bool:
	for w in client_worlds:
		if w.players.get_child_count() != 2:
			return false
		for p in w.players.get_children():
			var start := Vector2(100 + (str(p.name).to_int() % 7) * 60, 120)
			if (p as Node2D).position.distance_to(start) < 20:
				return false
	return true
