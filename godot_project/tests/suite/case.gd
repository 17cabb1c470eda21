# The base of every area of the engine suite: the runner's harness
# (check, skip, wait_until), the fixtures and the helpers the areas share.
# An area extends this script and lists its cases in cases().
extends RefCounted

const OK_ := 0
const ERR_UNAVAILABLE_ := 2
const ERR_UNCONFIGURED_ := 3
const ERR_ALREADY_IN_USE_ := 22
const ERR_INVALID_DATA_ := 30
const ERR_INVALID_PARAMETER_ := 31

var runner: SceneTree
var root: Window
var process_frame: Signal
var rsa_key: CryptoKey
var rsa_cert: X509Certificate
var ec_key_pem := ""
var ec_cert_pem := ""


func setup(the_runner: SceneTree, fixtures: Dictionary) -> void:
	runner = the_runner
	root = the_runner.root
	process_frame = the_runner.process_frame
	rsa_key = fixtures.rsa_key
	rsa_cert = fixtures.rsa_cert
	ec_key_pem = fixtures.ec_key_pem
	ec_cert_pem = fixtures.ec_cert_pem


# cases lists [name, Callable] pairs, run in order.
func cases() -> Array:
	return []


func check(cond: bool, what: String) -> void:
	runner.check(cond, what)


# skip marks the running case as not run (a missing external tool): it is
# reported loudly and never counted as passed; in CI it fails, unless CI
# cannot provide the tool on this engine's platform (ci_can_provide false),
# where it stays a loud SKIPPED.
func skip(why: String, ci_can_provide := true) -> void:
	runner.skip(why, ci_can_provide)


# has_ipv6_loopback says whether a socket can bind ::1 here; where it
# cannot, it marks the running case skipped (IPv6 switched off on the
# machine: nothing CI could install).
func has_ipv6_loopback() -> bool:
	var probe := PacketPeerUDP.new()
	if probe.bind(0, "::1") != OK_:
		skip("no IPv6 loopback (::1) on this machine", false)
		return false
	probe.close()
	return true


func wait_until(cond: Callable, server: GoDTLSServer, clients: Array, timeout_s := 20.0) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000)
	while Time.get_ticks_msec() < deadline:
		if server:
			server.poll()
		for c in clients:
			c.poll()
		if cond.call():
			return true
		await process_frame
	return false


func rsa_server() -> GoDTLSServer:
	var s := GoDTLSServer.new()
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "setup(TLSOptions.server(rsa))")
	check(s.listen(0, "127.0.0.1") == OK_, "listen(0)")
	return s


# A listening RSA server with one connected Godot client and its taken peer:
# [server, client, peer]; peer is null (and the check failed) if it never came.
func connected_pair() -> Array:
	var s := rsa_server()
	var c := new_client(s.get_local_port())
	await wait_until(all_connected([c]), s, [c])
	var peer := await take(s, [c])
	check(peer != null, "a client connected and was taken")
	return [s, c, peer]


func new_client(port: int) -> PacketPeerDTLS:
	var udp := PacketPeerUDP.new()
	udp.connect_to_host("127.0.0.1", port)
	var c := PacketPeerDTLS.new()
	c.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
	return c


func all_connected(clients: Array) -> Callable:
	return func() -> bool:
		for c in clients:
			if c.get_status() != PacketPeerDTLS.STATUS_CONNECTED:
				return false
		return true


func take(server: GoDTLSServer, clients: Array) -> GoDTLSPeer:
	var got: Array = []
	await wait_until(func() -> bool:
		var p := server.take_connection()
		if p:
			got.append(p)
		return not got.is_empty(), server, clients)
	return got[0] if not got.is_empty() else null


# take_all takes connected peers from server until it has n (or the wait
# times out) and returns them.
func take_all(server: GoDTLSServer, clients: Array, n: int) -> Array:
	var peers: Array = []
	await wait_until(func() -> bool:
		var p := server.take_connection()
		while p:
			peers.append(p)
			p = server.take_connection()
		return peers.size() == n, server, clients)
	return peers


# The defaults of max_disconnects_per_poll and disconnect_budget_ms on
# obj (a GoDTLSServer or a GoDTLSMultiplayerPeer), and out-of-range values
# refused.
func check_end_pacing_properties(obj: Object) -> void:
	var cls := obj.get_class()
	check(obj.max_disconnects_per_poll == 100, "%s.max_disconnects_per_poll default" % cls)
	obj.max_disconnects_per_poll = -1
	check(obj.max_disconnects_per_poll == 100, "%s: a negative max_disconnects_per_poll is refused" % cls)
	check(is_equal_approx(obj.disconnect_budget_ms, 8.0), "%s.disconnect_budget_ms default" % cls)
	for bad in [-1.0, 1001.0, NAN]:
		obj.disconnect_budget_ms = bad
		check(is_equal_approx(obj.disconnect_budget_ms, 8.0), "%s: disconnect_budget_ms %s is refused" % [cls, bad])


# A per-peer budget property (a rate, 0 for no limit): its default, a
# negative value and one under least refused, a value set, 0 taken; it is
# left at its default.
func check_budget_property(obj: Object, prop: String, default: int, least: int) -> void:
	var cls := obj.get_class()
	check(obj.get(prop) == default, "%s.%s default %d" % [cls, prop, default])
	for bad in [-1, least - 1]:
		obj.set(prop, bad)
		check(obj.get(prop) == default, "%s: %s %d is refused" % [cls, prop, bad])
	obj.set(prop, least * 2)
	check(obj.get(prop) == least * 2, "%s: %s %d is set" % [cls, prop, least * 2])
	obj.set(prop, 0)
	check(obj.get(prop) == 0, "%s: %s 0 turns it off" % [cls, prop])
	obj.set(prop, default)


# Calls poll polls times and returns how many entries each call added to
# ended (the ends per poll of a paced burst).
func per_poll(poll: Callable, ended: Array, polls: int) -> Array:
	var counts: Array = []
	for i in polls:
		var before := ended.size()
		poll.call()
		counts.append(ended.size() - before)
	return counts


# Whether ended holds each of items exactly once, and nothing else.
func each_once(ended: Array, items: Array) -> bool:
	if ended.size() != items.size():
		return false
	for x in items:
		if ended.count(x) != 1:
			return false
	return true


func mp_pair(psk := false) -> Array:
	var s := GoDTLSMultiplayerPeer.new()
	var c := GoDTLSMultiplayerPeer.new()
	if psk:
		check(s.create_server_psk(0, {"player": "k3y".to_utf8_buffer()}, "127.0.0.1") == OK_, "create_server_psk")
		check(c.create_client_psk("127.0.0.1", s.get_server().get_local_port(), "player", "k3y".to_utf8_buffer()) == OK_, "create_client_psk")
	else:
		check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
		check(c.create_client("127.0.0.1", s.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
	if not await mp_wait(func() -> bool: return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, [s, c]):
		check(false, "the client did not connect: " + c.get_close_reason())
		return []
	return [s, c]


func mp_wait(cond: Callable, peers: Array, timeout_s := 20.0) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000)
	while Time.get_ticks_msec() < deadline:
		for p in peers:
			p.poll()
		if cond.call():
			return true
		await process_frame
	return false
