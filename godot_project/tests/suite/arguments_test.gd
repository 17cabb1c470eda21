# Every method a script can call on the addon's objects (their own, and
# those of PacketPeer and MultiplayerPeer that reach the addon's code
# through its virtuals), called through callv() with each argument drawn
# from values of every type and edge: the addon's own methods with none to
# one more argument than any of them takes, the engine's with the counts
# they accept (ENGINE_METHODS). The engine must neither crash nor hang, and
# nothing barraged may leave a goroutine behind. Each object is barraged
# fresh, then again while it listens or is connected. The barrage runs with
# the engine's error printing off (hundreds of thousands of calls, most
# refused with an error); the named-error cases are in the other areas.
extends "res://tests/suite/case.gd"

const CLASSES := ["GoDTLSServer", "GoDTLSPeer", "GoDTLSClient", "GoDTLSMultiplayerPeer", "GoDTLSMonitors"]

var calls := 0
var nodes: Array = [] # non-RefCounted values, freed at the end
# GODTLS_ARGS_TRACE=<file> writes each call there before it is made, to find
# the one a crash came from (the engine's output is off during the barrage).
var trace: FileAccess = null


func cases() -> Array:
	return [
		["every method with every kind of argument, fresh and connected: no crash, no hang", test_barrage],
		["a freed object is refused, never taken for null or for the object it was", test_freed_object],
	]


func test_barrage() -> void:
	if OS.get_environment("GODTLS_ARGS_TRACE") != "":
		trace = FileAccess.open(OS.get_environment("GODTLS_ARGS_TRACE"), FileAccess.WRITE)
	check_engine_methods()
	var monitors := GoDTLSMonitors.new()
	var goroutines_before: int = monitors.memory().goroutines
	var values := hostile_values()
	var print_errors := Engine.print_error_messages
	Engine.print_error_messages = false
	var per_class := {}
	# fresh objects
	for cls in CLASSES:
		var obj: Object = ClassDB.instantiate(cls)
		var before := calls
		barrage(obj, values)
		per_class[cls] = calls - before
		close(obj)
	Engine.print_error_messages = print_errors

	# the same on objects that are listening or connected
	var live := await live_objects()
	var goroutines_live: int = monitors.memory().goroutines
	Engine.print_error_messages = false
	for obj in live:
		var before := calls
		barrage(obj, values)
		var key: String = "live " + obj.get_class()
		while per_class.has(key):
			key += "'" # the multiplayer server's get_server() after the server's own
		per_class[key] = calls - before
		for i in 3:
			await process_frame
	Engine.print_error_messages = print_errors
	for obj in live:
		close(obj)
	live.clear()
	# every object barraged is closed: none of their goroutines stays
	var back := await wait_until(func() -> bool: return monitors.memory().goroutines <= goroutines_before, null, [], 10.0)
	var goroutines_after: int = monitors.memory().goroutines
	check(back, "the library's goroutines are back to %d once everything barraged is closed, not %d" % [goroutines_before, goroutines_after])

	print("  measured: %d calls: %s; the library's goroutines %d before, %d with the live objects, %d after" % [calls, per_class, goroutines_before, goroutines_live, goroutines_after])
	for cls in CLASSES:
		check(per_class.get(cls, 0) > 100, "%s was called %d times: its methods were found" % [cls, per_class.get(cls, 0)])

	# what was barraged still works: a server and a client connect and echo
	var pair := await connected_pair()
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer != null:
		c.put_packet("after the barrage".to_utf8_buffer())
		var got := await wait_until(func() -> bool: return peer.get_available_packet_count() > 0, pair[0], [c])
		check(got and peer.get_packet().get_string_from_utf8() == "after the barrage", "a packet crosses after the barrage")
	pair[0].stop()
	for n in nodes:
		if is_instance_valid(n):
			n.free()


# Every method that takes an Object, given one freed right before the call
# and sensible values for the rest: the engine's own classes take a freed
# object as null; the addon refuses it (null may mean "the default", as
# for take_connection() and the client's options), and says so.
func test_freed_object() -> void:
	var s := GoDTLSServer.new()
	check(s.setup(freed_node()) == ERR_INVALID_PARAMETER_, "GoDTLSServer.setup(freed)")
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_ and s.listen(0, "127.0.0.1") == OK_, "the server listens after it")
	check(s.take_connection(freed_node()) == null, "GoDTLSServer.take_connection(freed)")
	check(s.broadcast(PackedByteArray([1]), freed_node()) == 0, "GoDTLSServer.broadcast(packet, freed)")
	var c := GoDTLSClient.new()
	check(c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", freed_node()) == ERR_INVALID_PARAMETER_, "GoDTLSClient.connect_to_host(..., freed)")
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, "the client did not start a connection")
	var mp := GoDTLSMultiplayerPeer.new()
	check(mp.create_server(0, freed_node()) == ERR_INVALID_PARAMETER_, "GoDTLSMultiplayerPeer.create_server(0, freed)")
	check(mp.create_client("127.0.0.1", s.get_local_port(), "localhost", freed_node()) == ERR_INVALID_PARAMETER_, "GoDTLSMultiplayerPeer.create_client(..., freed)")
	check(mp.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, "the multiplayer peer did not start a connection")
	s.stop()


# freed_node returns a Node freed at once: its memory is not yet reused by
# another object, so a stale pointer to it would not go unnoticed.
func freed_node() -> Variant:
	var n := Node.new()
	n.free()
	return n


# hostile_values: every Variant type, with edges of the ones the addon
# takes, objects of the wrong classes, a freed object and a live Node.
func hostile_values() -> Array:
	var freed := Node.new()
	freed.free()
	var node := Node.new()
	nodes.append(node)
	var big := PackedByteArray()
	big.resize(70000)
	return [
		null, false, true,
		0, 1, -1, 443, 65535, 65536, 2147483648, -9223372036854775807 - 1, 9223372036854775807,
		0.5, -0.0, 1e300, INF, -INF, NAN,
		"", "*", "127.0.0.1", "::1", "localhost", "not an address", "x".repeat(70000), "\u0001\n\t", "é😀",
		&"name", NodePath("a/b"),
		PackedByteArray(), PackedByteArray([0]), big, PackedInt32Array([1]), PackedStringArray(["a"]),
		[], [null, 1, "a"], {}, {"a": 1}, {1: PackedByteArray([1])}, {"id": PackedByteArray()}, {"id": "k3y"},
		{"loss": 2.0, "latency_ms": -1}, {null: null},
		Vector2(), Vector2i(1, 2), Vector3(), Vector4(1, 2, 3, 4), Plane(1, 2, 3, 4), Transform3D(), Color(),
		Rect2(), RID(), Callable(), Signal(),
		freed, node, RefCounted.new(), PacketPeerUDP.new(), UDPServer.new(),
		TLSOptions.client(), TLSOptions.client_unsafe(), TLSOptions.server(rsa_key, rsa_cert),
		CryptoKey.new(), X509Certificate.new(),
		GoDTLSPeer.new(), GoDTLSServer.new(), GoDTLSClient.new(), GoDTLSMultiplayerPeer.new(), GoDTLSMonitors.new(),
	]


# barrage calls every method of obj with every count of arguments it may
# get (ours: none to MOST_ARGUMENTS; the engine's: ENGINE_METHODS), all the
# same value, then values that differ position by position.
func barrage(obj: Object, values: Array) -> void:
	var freed_at := -1
	for i in values.size():
		if typeof(values[i]) == TYPE_OBJECT and not is_instance_valid(values[i]):
			freed_at = i
	var n := values.size()
	for m in methods_of(obj):
		for count in m.counts:
			for i in values.size():
				for pattern in 2:
					if pattern == 1 and count < 2:
						continue # the same list as pattern 0
					var args: Array = []
					for k in count:
						var at: int = i if pattern == 0 else (i + 7 * (k + 1)) % n
						if at == freed_at:
							args.append(freed_node()) # freed right before the call
						else:
							args.append(values[at])
					if trace:
						trace.store_line("%s.%s %s" % [obj.get_class(), m.name, str(args).left(200)])
						trace.flush()
					obj.callv(m.name, args)
					calls += 1


# The most arguments an addon method takes (simulate_network), plus one.
const MOST_ARGUMENTS := 7

# The inherited methods, with the argument counts they accept. The engine's
# own methods check the count only in debug builds (a release template reads
# past the arguments it was given: PacketPeerUDP.callv("put_var", []) ends
# the process), and a release build's ClassDB lists no arguments, so the
# counts are written here; check_engine_methods holds them to a debug
# build's ClassDB.
const ENGINE_METHODS := {
	"PacketPeer": {
		"get_var": [0, 1], "put_var": [1, 2], "get_packet": [0], "put_packet": [1],
		"get_packet_error": [0], "get_available_packet_count": [0],
		"get_encode_buffer_max_size": [0], "set_encode_buffer_max_size": [1],
	},
	"MultiplayerPeer": {
		"set_transfer_channel": [1], "get_transfer_channel": [0], "set_transfer_mode": [1],
		"get_transfer_mode": [0], "set_target_peer": [1], "get_packet_peer": [0],
		"get_packet_channel": [0], "get_packet_mode": [0], "poll": [0], "close": [0],
		"disconnect_peer": [1, 2], "get_connection_status": [0], "get_unique_id": [0],
		"generate_unique_id": [0], "set_refuse_new_connections": [1],
		"is_refusing_new_connections": [0], "is_server_relay_supported": [0],
	},
}

const CLOSING := ["close", "stop", "disconnect_from_peer", "disconnect_peer", "disconnect_peer_with_reason"]


# methods_of lists what a script can call on obj that reaches the addon, as
# {name, counts}: its class's own methods (a release build's
# ClassDB gives their names only) and those of ENGINE_METHODS; closing ones
# last, so that the rest meet the object as it was.
func methods_of(obj: Object) -> Array:
	var first: Array = []
	var last: Array = []
	for m in ClassDB.class_get_method_list(obj.get_class(), true):
		var entry := {"name": m.name, "counts": range(MOST_ARGUMENTS + 1)}
		(last if m.name in CLOSING else first).append(entry)
	for cls in ENGINE_METHODS:
		if obj.is_class(cls):
			for name in ENGINE_METHODS[cls]:
				var entry := {"name": name, "counts": ENGINE_METHODS[cls][name]}
				(last if name in CLOSING else first).append(entry)
	return first + last


# check_engine_methods: in a debug build, ENGINE_METHODS lists every method
# a script can call of those classes, with the counts ClassDB gives.
func check_engine_methods() -> void:
	if not OS.is_debug_build():
		return
	for cls in ENGINE_METHODS:
		for m in ClassDB.class_get_method_list(cls, true):
			if m.name.begins_with("_"):
				continue # a virtual the engine calls, not a script
			var n: int = m.args.size()
			var want := range(n - m.default_args.size(), n + 1)
			check(ENGINE_METHODS[cls].get(m.name, []) == want, "ENGINE_METHODS[%s][%s] is %s, ClassDB says %s" % [cls, m.name, ENGINE_METHODS[cls].get(m.name), want])


# live_objects: a listening server with a taken peer, a connected
# GoDTLSClient, and a multiplayer server (and its get_server()) with one
# client in.
func live_objects() -> Array:
	var s := rsa_server()
	var client := GoDTLSClient.new()
	client.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client_unsafe())
	var peer: GoDTLSPeer = null
	var until := Time.get_ticks_msec() + 20000
	while (peer == null or client.get_status() != GoDTLSClient.STATUS_CONNECTED) and Time.get_ticks_msec() < until:
		s.poll()
		client.poll()
		if peer == null:
			peer = s.take_connection()
		await process_frame
	check(peer != null and client.get_status() == GoDTLSClient.STATUS_CONNECTED, "a GoDTLSClient connected to the server to be barraged")

	var mp_server := GoDTLSMultiplayerPeer.new()
	check(mp_server.create_server(0, TLSOptions.server(rsa_key, rsa_cert)) == OK_, "multiplayer create_server")
	var mp_client := GoDTLSMultiplayerPeer.new()
	var port: int = mp_server.get_server().get_local_port()
	check(mp_client.create_client("127.0.0.1", port, "localhost", TLSOptions.client_unsafe()) == OK_, "multiplayer create_client")
	until = Time.get_ticks_msec() + 20000
	while mp_client.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED and Time.get_ticks_msec() < until:
		mp_server.poll()
		mp_client.poll()
		await process_frame
	check(mp_client.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, "a multiplayer client connected to the server to be barraged")
	# get_server() of a multiplayer server is a borrowed view: what would
	# stop or replace the server is refused on it
	var live: Array = [s, client, mp_server.get_server(), mp_server, mp_client, GoDTLSMonitors.new()]
	if peer != null:
		live.insert(1, peer)
	return live


func close(obj: Object) -> void:
	if obj is GoDTLSServer:
		obj.stop()
	elif obj is GoDTLSMultiplayerPeer:
		obj.close()
	elif obj is GoDTLSClient or obj is GoDTLSPeer:
		obj.disconnect_from_peer()
