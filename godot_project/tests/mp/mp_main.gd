extends Node
# One process of the multiplayer scenario: a server (which runs the
# scenario and judges it) or a client. tests/multiplayer_test.sh starts a
# server, three "play" clients, one client with a wrong secret and two
# "loss" clients behind lossy relays, each a separate Godot process.
#
#   --role=server
#   --role=client --port=P --name=N --kind=play|loss|intruder [--secret=S]

const GoReadableCert = preload("res://demo/go_readable_cert.gd")
const SECRET := "letmein"
const LOSS_RPCS := 10000
const SHOTS := 20
const PAIRS := 200

var args := {}
var peer: GoDTLSMultiplayerPeer
var players: Node
var spawner: MultiplayerSpawner
var failures: Array[String] = []

# server side
var clients := {}       # peer id -> {name, kind, pid}
var reports := {}       # peer id -> {what: true}
var seq_next := {}      # loss client id -> next expected sequence number
var seq_errors := 0
var seq_error_seen: Array[String] = []  # the first few, for the failure's message
var local_calls := 0
var rejected := 0
var disconnected := {}  # peer id -> msec when peer_disconnected came

# client side
var ord_last := -1
var ord_ok := true
var unrel_seen := 0
var pair_first_last := -1  # the last pair_first RPC read
var pairs_reversed := 0    # pair_second RPCs read before their pair_first
var follow_reliable_last := -1  # the last follow_reliable RPC read
var follow_seen := 0            # follow_unreliable RPCs read
var follow_reversed := 0        # follow_unreliable RPCs read before their follow_reliable


func _ready() -> void:
	for a in OS.get_cmdline_user_args():
		if a.begins_with("--"):
			var kv := a.substr(2).split("=", true, 1)
			args[kv[0]] = kv[1] if kv.size() > 1 else ""
	players = Node.new()
	players.name = "Players"
	add_child(players)
	spawner = MultiplayerSpawner.new()
	spawner.name = "Spawner"
	add_child(spawner)
	spawner.spawn_path = NodePath("../Players")
	spawner.spawn_function = _spawn_player
	var mp := multiplayer as SceneMultiplayer
	mp.auth_callback = _auth
	mp.auth_timeout = 15.0
	mp.peer_authenticating.connect(_on_authenticating)
	mp.peer_authentication_failed.connect(func(id): _say("AUTH_FAILED %d" % id))
	if args.get("role", "server") == "server":
		_server()
	else:
		_client()


func _say(line: String) -> void:
	print(line)


func _fail(what: String) -> void:
	failures.append(what)
	_say("MP FAIL " + what)


func _spawn_player(data: Variant) -> Node:
	var p := Node2D.new()
	p.name = str(data)
	var sync := MultiplayerSynchronizer.new()
	sync.name = "Sync"
	var cfg := SceneReplicationConfig.new()
	cfg.add_property(NodePath(".:position"))
	sync.replication_config = cfg
	p.add_child(sync)
	# set_meta as an RPC on its own reliable channel: the server calls it
	# right after the spawn (on channel 0), which it must not overtake
	p.rpc_config(&"set_meta", {"rpc_mode": MultiplayerAPI.RPC_MODE_AUTHORITY,
		"transfer_mode": MultiplayerPeer.TRANSFER_MODE_RELIABLE, "channel": 7, "call_local": false})
	return p


func _until(cond: Callable, seconds: float, what: String) -> bool:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000)
	while not cond.call():
		if Time.get_ticks_msec() > deadline:
			_fail("timed out waiting for: " + what)
			return false
		await get_tree().process_frame
	_say("MP OK " + what)
	return true


# ---------------------------------------------------------------- server

func _server() -> void:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := GoReadableCert.make(crypto, key, "CN=localhost")
	peer = GoDTLSMultiplayerPeer.new()
	peer.peer_timeout = 3.0
	var err := peer.create_server(0, TLSOptions.server(key, cert), "127.0.0.1", 16)
	if err != OK:
		_fail("create_server: " + error_string(err))
		get_tree().quit(1)
		return
	multiplayer.multiplayer_peer = peer
	multiplayer.peer_connected.connect(func(id):
		_say("peer_connected %d" % id)
		_make_shots(id))
	multiplayer.peer_disconnected.connect(func(id): disconnected[id] = Time.get_ticks_msec())
	_say("PORT %d" % peer.get_server().get_local_port())

	if not await _until(func(): return _of_kind("play").size() == 3 and _of_kind("loss").size() == 2 and rejected == 1, 90,
			"3 play and 2 loss clients authenticated, the intruder rejected"):
		return _end()
	if not await _until(func(): return multiplayer.get_peers().size() == 5, 10, "SceneMultiplayer lists 5 peers"):
		return _end()
	var play := _of_kind("play")
	if multiplayer.get_unique_id() != 1 or not multiplayer.is_server():
		_fail("server id %d" % multiplayer.get_unique_id())
	for id in play:
		if id < 2:
			_fail("client id %d is below 2" % id)

	# every transfer mode, on its own channel; call_remote and call_local
	for id in play:
		r_rel.rpc_id(id, 1)
		for i in 20:
			r_unrel.rpc_id(id, i)
			r_ord.rpc_id(id, i)
		r_ord_done.rpc_id(id)
	r_all.rpc("everyone")
	r_local.rpc()
	await _until(func(): return _all_reported(play, ["rel", "unrel", "ord_ok", "all", "local"]), 20,
		"every play client got reliable, unreliable and ordered RPCs, a broadcast and a call_local")
	if local_calls != 1:
		_fail("call_local ran %d times on the server" % local_calls)

	# spawning and synchronizing
	for id in play:
		var p := spawner.spawn(id)
		(p as Node2D).position = Vector2(id % 1000, 7)
		p.rpc(&"set_meta", &"greeting", "spawned %d" % id)
	await _until(func(): return _all_reported(play, ["spawned_synced"]), 20,
		"3 players spawned on every client with their synchronized positions")
	await _until(func(): return _all_reported(play + _of_kind("loss"), ["spawn_rpc"]), 30,
		"an RPC on channel 7 right after each spawn reached every client, loss clients too")
	# order across channels: pairs of reliable RPCs on channels 8 and 9,
	# all in one frame; each client reads every pair in the order sent
	await _pairs_step(play, pair_first, pair_second, pairs_done, "pairs_",
		"%d pairs of reliable RPCs on channels 8 and 9 read in the order they were sent" % PAIRS)
	# order across modes: a reliable RPC then an unreliable one on channel
	# 10, in one frame, as a game spawns a node and sends its first state;
	# each client reads every unreliable RPC after the reliable one sent
	# before it (extension/multiplayer/follow.go)
	await _pairs_step(play, follow_reliable, follow_unreliable, follow_done, "follow_",
		"%d unreliable RPCs read after the reliable RPC sent before each on their channel" % PAIRS)

	var gone: int = play[2]
	players.get_node(str(gone)).queue_free()
	await _until(func(): return _all_reported(play, ["despawned"]), 20, "a despawn reached every client")

	# server relay: client to client
	do_relay.rpc_id(play[0], play[1])
	await _until(func(): return reports.get(play[1], {}).has("relay_from_%d" % play[0]), 20,
		"a client-to-client RPC relayed by the server, from a peer the receiver knows")

	# every client greets every other one through the relay as it learns of it
	var everyone := play + _of_kind("loss")
	await _until(func(): return _all_greeted(everyone), 30,
		"every client greeted by every other through the relay")
	_check_no_unknown_senders()

	# reliable RPCs under 5 % and 20 % loss
	await _until(func(): return _loss_done(), 240, "10,000 reliable RPCs from each loss client, once and in order")
	if seq_errors > 0:
		_fail("%d reliable RPCs out of order or duplicated (%s)" % [seq_errors, ", ".join(seq_error_seen)])
	for id in _of_kind("loss"):
		var ls: Dictionary = peer.get_peer_stats(id)
		_say("MP INFO loss client %s: %d retransmissions to it, %d of its packets over the message budget" %
			[clients[id].name, int(ls.get("retransmissions", -1)), int(ls.get("over_message_budget", -1))])

	# a client's own spawns: every client spawns nodes it has authority
	# over and calls an RPC on each on channel 7 right after
	fire.rpc()
	await _until(func(): return _shots_landed(everyone) and _all_reported(everyone, ["shots_seen"]), 30,
		"every client's spawns and the RPC on each reached the server and every other client, loss clients' too")

	# a kick with a reason, then a client killed with SIGKILL
	_say("MP KICKED %s" % clients[play[1]].name)
	_say("MP KILLED %s" % clients[play[2]].name)
	peer.disconnect_peer_with_reason(play[1], "kicked by the test")
	await _until(func(): return disconnected.has(play[1]), 10, "the kicked client is gone")
	var killed: int = play[2]
	var t0 := Time.get_ticks_msec()
	OS.kill(clients[killed].pid)
	if await _until(func(): return disconnected.has(killed), 20, "peer_disconnected for the client killed with SIGKILL"):
		_say("MP INFO SIGKILL noticed after %d ms (peer_timeout 3 s)" % (disconnected[killed] - t0))
	var st: Dictionary = peer.get_peer_stats(play[0])
	_say("MP INFO stats of a play client: " + str(st))
	if not st.has("rtt_ms") or int(st.packets_in) == 0:
		_fail("get_peer_stats: " + str(st))
	_end()


func _end() -> void:
	_check_no_unknown_senders()
	if failures.is_empty():
		_say("MP PASS")
	# quitting with clients connected: they must see server_disconnected
	get_tree().quit(0 if failures.is_empty() else 1)


# Shots_<id> holds the nodes client id spawns itself, through a spawner
# of which it is the authority, on every process.
func _make_shots(id: int) -> void:
	if has_node("Shots_%d" % id):
		return
	var box := Node.new()
	box.name = "Shots_%d" % id
	var shot_spawner := MultiplayerSpawner.new()
	shot_spawner.name = "Spawner"
	box.add_child(shot_spawner)
	add_child(box)
	shot_spawner.spawn_path = NodePath("..")
	shot_spawner.spawn_function = _spawn_shot
	shot_spawner.set_multiplayer_authority(id)


# set_meta as an RPC on reliable channel 7, as on the players: the client
# calls it right after the spawn (on channel 0), which it must not
# overtake on its way to the server nor through the relay
func _spawn_shot(data: Variant) -> Node:
	var shot := Node.new()
	shot.name = "shot_%d" % data
	shot.rpc_config(&"set_meta", {"rpc_mode": MultiplayerAPI.RPC_MODE_ANY_PEER,
		"transfer_mode": MultiplayerPeer.TRANSFER_MODE_RELIABLE, "channel": 7, "call_local": false})
	return shot


# Whether the shots of every client in ids are here, each with its RPC.
func _shots_landed(ids: Array) -> bool:
	for id in ids:
		var box := get_node_or_null("Shots_%d" % id)
		if box == null:
			return false
		var hit := 0
		for shot in box.get_children():
			if not (shot is MultiplayerSpawner) and shot.get_meta(&"hit", -1) == str(shot.name).trim_prefix("shot_").to_int():
				hit += 1
		if hit != SHOTS:
			return false
	return true


func _of_kind(kind: String) -> Array:
	var out := []
	for id in clients:
		if clients[id].kind == kind and not disconnected.has(id):
			out.append(id)
	out.sort()
	return out


func _all_reported(ids: Array, what: Array) -> bool:
	for id in ids:
		for w in what:
			if not reports.get(id, {}).has(w):
				return false
	return true


func _all_greeted(ids: Array) -> bool:
	for id in ids:
		for other in ids:
			if other != id and not reports.get(id, {}).has("greeted_by_%d" % other):
				return false
	return true


# A relayed message from a peer the receiving client was not told of
# (docs/reliability.md, "Relayed messages between ADD_PEER and DEL_PEER").
func _check_no_unknown_senders() -> void:
	for id in reports:
		for what in reports[id]:
			if str(what).begins_with("unknown_sender") and not failures.has("%d: %s" % [id, what]):
				_fail("%d: %s" % [id, what])


func _loss_done() -> bool:
	for id in _of_kind("loss"):
		if seq_next.get(id, 0) < LOSS_RPCS:
			return false
	return true


func _auth(id: int, data: PackedByteArray) -> void:
	var multi := multiplayer as SceneMultiplayer
	if not multiplayer.is_server():
		return
	var parts := data.get_string_from_utf8().split("|")
	if parts.size() != 4 or parts[0] != SECRET:
		rejected += 1
		_say("rejected peer %d" % id)
		multi.disconnect_peer(id)
		return
	clients[id] = {"name": parts[1], "kind": parts[2], "pid": int(parts[3])}
	multi.complete_auth(id)


func _on_authenticating(id: int) -> void:
	if multiplayer.is_server():
		return
	var multi := multiplayer as SceneMultiplayer
	var data := "%s|%s|%s|%d" % [args.get("secret", SECRET), args.get("name", "?"), args.get("kind", "play"), OS.get_process_id()]
	multi.send_auth(1, data.to_utf8_buffer())
	multi.complete_auth(1)


# ---------------------------------------------------------------- client

func _client() -> void:
	peer = GoDTLSMultiplayerPeer.new()
	peer.peer_timeout = 3.0
	var err := peer.create_client("127.0.0.1", int(args.get("port", "0")), "", TLSOptions.client_unsafe())
	if err != OK:
		_say("CREATE_CLIENT_FAILED " + error_string(err))
		get_tree().quit(1)
		return
	multiplayer.multiplayer_peer = peer
	multiplayer.connected_to_server.connect(_on_connected)
	multiplayer.peer_connected.connect(_greet)
	multiplayer.peer_connected.connect(func(id):
		if id != 1:
			_make_shots(id))
	multiplayer.server_disconnected.connect(func():
		_say("SERVER_DISCONNECTED reason=" + peer.get_close_reason())
		get_tree().quit(0))
	multiplayer.connection_failed.connect(func():
		_say("CONNECTION_FAILED reason=" + peer.get_close_reason())
		get_tree().quit(0))


func _on_connected() -> void:
	_say("CONNECTED id=%d" % multiplayer.get_unique_id())
	_make_shots(multiplayer.get_unique_id())
	if args.get("kind", "") == "loss":
		for i in LOSS_RPCS:
			seq.rpc_id(1, i)
		_say("SENT %d" % LOSS_RPCS)


func _process(_delta: float) -> void:
	if args.get("role", "server") == "server" or multiplayer.multiplayer_peer == null:
		return
	if multiplayer.multiplayer_peer.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		return
	if players.get_child_count() == 3 and not get_meta("spawn_rpc", false):
		var greeted := 0
		for p in players.get_children():
			if p.get_meta(&"greeting", "") == "spawned %s" % p.name:
				greeted += 1
		if greeted == 3:
			set_meta("spawn_rpc", true)
			report.rpc_id(1, "spawn_rpc")
	if players.get_child_count() == 3 and not get_meta("spawned", false):
		var ok := true
		for p in players.get_children():
			if (p as Node2D).position != Vector2(str(p.name).to_int() % 1000, 7):
				ok = false
		if ok:
			set_meta("spawned", true)
			report.rpc_id(1, "spawned_synced")
	if get_meta("fired", false) and not get_meta("shots_seen", false):
		var others := []
		for id in multiplayer.get_peers():
			if id != 1:
				others.append(id)
		if _shots_landed(others):
			set_meta("shots_seen", true)
			report.rpc_id(1, "shots_seen")
	if get_meta("spawned", false) and players.get_child_count() == 2 and not get_meta("despawned", false):
		set_meta("despawned", true)
		report.rpc_id(1, "despawned")


# ---------------------------------------------------------------- RPCs

@rpc("authority", "call_remote", "reliable", 0)
func r_rel(_n: int) -> void:
	report.rpc_id(1, "rel")


@rpc("authority", "call_remote", "unreliable", 1)
func r_unrel(_n: int) -> void:
	unrel_seen += 1
	if unrel_seen == 1:
		report.rpc_id(1, "unrel")


@rpc("authority", "call_remote", "unreliable_ordered", 2)
func r_ord(n: int) -> void:
	if n <= ord_last:
		ord_ok = false
	ord_last = n


@rpc("authority", "call_remote", "reliable", 2)
func r_ord_done() -> void:
	# reliable on the same channel: by now most ordered RPCs arrived
	report.rpc_id(1, "ord_ok" if ord_ok and ord_last >= 0 else "ord_bad")


# Sends each play client PAIRS pairs of RPCs, first then second, in one
# frame, then done; waits for every client to report prefix + "in_order",
# and prints what the others reported instead.
func _pairs_step(play: Array, first: Callable, second: Callable, done: Callable, prefix: String, what: String) -> void:
	for id in play:
		for i in PAIRS:
			first.rpc_id(id, i)
			second.rpc_id(id, i)
		done.rpc_id(id)
	if not await _until(func(): return _all_reported(play, [prefix + "in_order"]), 20, what):
		for id in play:
			var said: Array = reports.get(id, {}).keys().filter(func(k): return k.begins_with(prefix))
			_say("MP INFO client %d reported %s" % [id, str(said)])


@rpc("authority", "call_remote", "reliable", 8)
func pair_first(n: int) -> void:
	pair_first_last = n


@rpc("authority", "call_remote", "reliable", 9)
func pair_second(n: int) -> void:
	if pair_first_last < n:
		pairs_reversed += 1


@rpc("authority", "call_remote", "reliable", 9)
func pairs_done() -> void:
	if pairs_reversed == 0 and pair_first_last == PAIRS - 1:
		report.rpc_id(1, "pairs_in_order")
	else:
		report.rpc_id(1, "pairs_reversed_%d_last_%d" % [pairs_reversed, pair_first_last])


@rpc("authority", "call_remote", "reliable", 10)
func follow_reliable(n: int) -> void:
	follow_reliable_last = n


@rpc("authority", "call_remote", "unreliable", 10)
func follow_unreliable(n: int) -> void:
	follow_seen += 1
	if follow_reliable_last < n:
		follow_reversed += 1


# Reliable, after the last pair. An unreliable RPC may still come after it
# (the transport sends one after the packet that carries the reliable RPC
# it follows, which can carry this one too): it waits up to half a second
# for all of them (a link without loss drops none).
@rpc("authority", "call_remote", "reliable", 10)
func follow_done() -> void:
	var deadline := Time.get_ticks_msec() + 500
	while follow_seen < PAIRS and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	if follow_reversed == 0 and follow_seen == PAIRS:
		report.rpc_id(1, "follow_in_order")
	else:
		report.rpc_id(1, "follow_reversed_%d_seen_%d" % [follow_reversed, follow_seen])


@rpc("authority", "call_remote", "reliable", 0)
func r_all(_what: String) -> void:
	report.rpc_id(1, "all")


@rpc("authority", "call_local", "reliable", 0)
func r_local() -> void:
	if multiplayer.is_server():
		local_calls += 1
	else:
		report.rpc_id(1, "local")


@rpc("authority", "call_remote", "reliable", 0)
func fire() -> void:
	var shot_spawner := get_node("Shots_%d/Spawner" % multiplayer.get_unique_id())
	for i in SHOTS:
		shot_spawner.spawn(i).rpc(&"set_meta", &"hit", i)
	set_meta("fired", true)


@rpc("authority", "call_remote", "reliable", 0)
func do_relay(target: int) -> void:
	relay_msg.rpc_id(target, "hello")


# A client greets a peer the moment it is told of it (on the loss clients
# that is while the ADD_PEERs and the greetings of others are resent), so
# the greetings travel through the relay beside the ADD_PEERs that
# announce their senders: reliable on channel 5 and unreliable on 6.
func _greet(id: int) -> void:
	if id != 1:
		greet.rpc_id(id)
		greet_unreliable.rpc_id(id)


@rpc("any_peer", "call_remote", "reliable", 5)
func greet() -> void:
	_greeted(true)


@rpc("any_peer", "call_remote", "unreliable", 6)
func greet_unreliable() -> void:
	_greeted(false)


func _greeted(reliable: bool) -> void:
	var from := multiplayer.get_remote_sender_id()
	if from not in multiplayer.get_peers():
		report.rpc_id(1, "unknown_sender_%d_%s" % [from, "reliable" if reliable else "unreliable"])
	elif reliable:
		report.rpc_id(1, "greeted_by_%d" % from)


# On channel 5: the server relays it there, not on channel 0 with the
# ADD_PEER that announced the sender, so the transport's order marks carry
# it (extension/multiplayer/sceneorder.go). The sender must be a peer this
# client was told of.
@rpc("any_peer", "call_remote", "reliable", 5)
func relay_msg(_text: String) -> void:
	var from := multiplayer.get_remote_sender_id()
	if from in multiplayer.get_peers():
		report.rpc_id(1, "relay_from_%d" % from)
	else:
		report.rpc_id(1, "relay_from_unknown_peer_%d" % from)


@rpc("any_peer", "call_remote", "reliable", 3)
func report(what: String) -> void:
	var id := multiplayer.get_remote_sender_id()
	if not reports.has(id):
		reports[id] = {}
	reports[id][what] = true


@rpc("any_peer", "call_remote", "reliable", 4)
func seq(n: int) -> void:
	var id := multiplayer.get_remote_sender_id()
	var want: int = seq_next.get(id, 0)
	if n != want:
		seq_errors += 1
		if seq_error_seen.size() < 5:
			seq_error_seen.append("peer %d sent %d where %d was due, at %d ms" % [id, n, want, Time.get_ticks_msec()])
	seq_next[id] = n + 1
