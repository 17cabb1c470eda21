# A dedicated game server for Agones, headless:
#   godot --headless --path . res://demo/dedicated/dedicated_server.tscn -- --port=7777
# (an exported build: ./game.x86_64 --headless res://demo/dedicated/dedicated_server.tscn -- …)
#
# Its life, as Agones expects it (docs/dedicated-servers.md):
#   1. listen (GoDTLSMultiplayerPeer), then tell Agones it is Ready;
#   2. Health every 2 s;
#   3. the connected players kept in the GameServer's "players" Counter;
#   4. WatchGameServer: once Allocated, the match starts (--match-seconds);
#   5. at the match's end: refuse new players, say goodbye to the others,
#      and once the server is drained, Shutdown and quit.
#
# Arguments (after --): --port (7777), --match-seconds (600), --max-players
# (16), --key and --cert (PEM files, e.g. a Kubernetes Secret; without them
# a self-signed RSA certificate is made at start).
extends Node

const GoReadableCert = preload("res://demo/go_readable_cert.gd")
const AgonesSDK := preload("res://demo/dedicated/agones_sdk.gd")

var args := {"port": "7777", "match-seconds": "600", "max-players": "16", "key": "", "cert": ""}
var sdk: AgonesSDK
var peer: GoDTLSMultiplayerPeer
var dtls: GoDTLSServer # get_server(), kept: its drained signal ends the match
var players := 0
var match_over := false


func _ready() -> void:
	for a in OS.get_cmdline_user_args():
		if a.begins_with("--") and "=" in a:
			var kv := a.substr(2).split("=", true, 1)
			args[kv[0]] = kv[1]
	sdk = AgonesSDK.new()
	add_child(sdk)
	var opts := _tls_options()
	if opts == null:
		get_tree().quit(1)
		return
	peer = GoDTLSMultiplayerPeer.new()
	var err := peer.create_server(args["port"].to_int(), opts, "*", args["max-players"].to_int())
	if err != OK:
		_say("cannot listen on port %s (error %d)" % [args["port"], err])
		get_tree().quit(1)
		return
	multiplayer.multiplayer_peer = peer
	multiplayer.peer_connected.connect(_on_player_joined)
	multiplayer.peer_disconnected.connect(_on_player_left)
	dtls = peer.get_server()
	dtls.drained.connect(_on_drained)
	_say("LISTENING %d" % dtls.get_local_port())

	sdk.state_changed.connect(_on_state)
	sdk.ready()
	sdk.set_counter("players", 0)
	sdk.watch()
	var health := Timer.new()
	health.wait_time = 2.0
	health.timeout.connect(sdk.health)
	add_child(health)
	health.start()


func _tls_options() -> TLSOptions:
	var key := CryptoKey.new()
	var cert := X509Certificate.new()
	if args["key"] != "" or args["cert"] != "":
		if key.load(args["key"]) != OK or cert.load(args["cert"]) != OK:
			_say("cannot read --key=%s / --cert=%s" % [args["key"], args["cert"]])
			return null
	else:
		var crypto := Crypto.new()
		key = crypto.generate_rsa(2048)
		cert = GoReadableCert.make(crypto, key, "CN=dedicated.example,O=GoDTLS demo,C=US")
	return TLSOptions.server(key, cert)


func _say(line: String) -> void:
	print(line)


func _on_player_joined(id: int) -> void:
	players += 1
	_say("JOINED %d (%d players)" % [id, players])
	sdk.set_counter("players", players)


func _on_player_left(id: int) -> void:
	players -= 1
	_say("LEFT %d (%d players)" % [id, players])
	sdk.set_counter("players", players)


func _on_state(state: String) -> void:
	_say("STATE " + state)
	if state == "Allocated":
		get_tree().create_timer(args["match-seconds"].to_float()).timeout.connect(_end_match)


# _end_match: no one new gets in; the players are told why and let go. The
# server is drained when the last one is gone.
func _end_match() -> void:
	if match_over:
		return
	match_over = true
	_say("MATCH OVER")
	peer.refuse_new_connections = true
	for id in multiplayer.get_peers():
		peer.disconnect_peer_with_reason(id, "the match is over")


func _on_drained() -> void:
	if not match_over:
		return
	_say("DRAINED")
	await sdk.shutdown()
	_say("SHUTDOWN")
	get_tree().quit(0)
