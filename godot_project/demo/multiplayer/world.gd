# One copy of the game world: a container of players, a spawner and, on the
# server, the simulation. The demo puts a server copy and client copies in
# one process, each under its own SceneMultiplayer (SceneTree.set_multiplayer
# with a root path), so the same scene runs as it would in separate games.
extends Node2D

const SPEED := 120.0

var players: Node2D
var spawner: MultiplayerSpawner
var inputs := {} # server: peer id -> last direction sent by that client
var my_input := Vector2.ZERO # client: the direction this copy sends
var tint := Color.WHITE


func _init() -> void:
	players = Node2D.new()
	players.name = "Players"
	add_child(players)
	spawner = MultiplayerSpawner.new()
	spawner.name = "Spawner"
	spawner.spawn_path = NodePath("../Players")
	spawner.spawn_function = _spawn_player
	add_child(spawner)


func start_server() -> void:
	multiplayer.peer_connected.connect(func(id: int) -> void:
		spawner.spawn(id)
		inputs[id] = Vector2.ZERO)
	multiplayer.peer_disconnected.connect(func(id: int) -> void:
		inputs.erase(id)
		var p := players.get_node_or_null(str(id))
		if p:
			p.queue_free())


# Players are plain Node2Ds built here on every peer; the synchronizer
# replicates their position from the server (the authority).
func _spawn_player(id: Variant) -> Node:
	var p := Node2D.new()
	p.name = str(id)
	p.position = Vector2(100 + (int(id) % 7) * 60, 120)
	var sync := MultiplayerSynchronizer.new()
	sync.name = "Sync"
	var cfg := SceneReplicationConfig.new()
	cfg.add_property(NodePath(".:position"))
	sync.replication_config = cfg
	p.add_child(sync)
	return p


func _physics_process(delta: float) -> void:
	if multiplayer.multiplayer_peer == null:
		return
	if multiplayer.is_server():
		for p in players.get_children():
			var dir: Vector2 = inputs.get(str(p.name).to_int(), Vector2.ZERO)
			(p as Node2D).position += dir * SPEED * delta
	elif multiplayer.multiplayer_peer.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED:
		send_input.rpc_id(1, my_input)
	queue_redraw()


# Input goes to the server unreliably, ordered: a late direction is stale.
@rpc("any_peer", "call_remote", "unreliable_ordered", 1)
func send_input(dir: Vector2) -> void:
	var id := multiplayer.get_remote_sender_id()
	if inputs.has(id):
		inputs[id] = dir.limit_length(1.0)


func _draw() -> void:
	for p in players.get_children():
		var me := str(p.name).to_int() == multiplayer.get_unique_id()
		draw_rect(Rect2((p as Node2D).position - Vector2(12, 12), Vector2(24, 24)), tint if me else tint.darkened(0.5))
