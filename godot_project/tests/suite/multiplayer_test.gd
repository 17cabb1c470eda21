# GoDTLSMultiplayerPeer.
# One area of the engine suite (tests/run_tests.gd runs every area in order).
extends "res://tests/suite/case.gd"


func cases() -> Array:
	return [
		["multiplayer: class, defaults, bad arguments", test_mp_api],
		["multiplayer: server and client peers, modes, channels, get_server, reasons", test_mp_pair],
		["multiplayer: PSK, full server, refused connections", test_mp_psk_and_refusals],
		["multiplayer: over IPv6, a client of ::1 on a server bound to * (both families)", test_mp_ipv6],
		["simulate_network: arguments, and reliable RPCs in order at 30 % loss, 150 ± 50 ms", test_mp_simulated_bad_link],
		["multiplayer: SceneMultiplayer authentication, a client's messages that overtake its completion wait for it", test_mp_auth_completion_overtaken],
		["multiplayer: a burst of ends spread over polls (max_disconnects_per_poll, disconnect_budget_ms), sends to peers that left", test_mp_disconnect_burst],
		["multiplayer: a peer's last messages before it leaves reach SceneMultiplayer, both ways", test_mp_last_words],
		["multiplayer: a handler that closes and reconnects hears nothing more of the old session", test_mp_reconnect_in_handler],
	]


func test_mp_api() -> void:
	check(ClassDB.is_parent_class("GoDTLSMultiplayerPeer", "MultiplayerPeer"), "GoDTLSMultiplayerPeer is a MultiplayerPeer")
	var p := GoDTLSMultiplayerPeer.new()
	check(p.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED and p.get_unique_id() == 0, "a new peer is idle")
	check(not p.is_server_relay_supported() == false, "server relay supported")
	check(p.get_server() == null and p.get_peer_stats(1).is_empty(), "no server, no stats")
	check(p.put_packet(PackedByteArray([1])) == ERR_UNCONFIGURED_, "put_packet before create")
	check(p.get_available_packet_count() == 0, "no packets")
	check(is_equal_approx(p.peer_timeout, 10.0), "peer_timeout default 10")
	p.peer_timeout = -1.0
	check(is_equal_approx(p.peer_timeout, 10.0), "negative timeout refused")
	check_budget_property(p, "max_peer_messages_per_second", 10000, 100)
	var opts := TLSOptions.server(rsa_key, rsa_cert)
	check(p.create_server(-1, opts) == ERR_INVALID_PARAMETER_, "port -1")
	check(p.create_server(70000, opts) == ERR_INVALID_PARAMETER_, "port 70000")
	check(p.create_server(0, null) == ERR_INVALID_PARAMETER_, "null options")
	check(p.create_server(0, TLSOptions.client()) == ERR_INVALID_PARAMETER_, "client TLSOptions")
	check(p.create_server(0, opts, "*", 0) == ERR_INVALID_PARAMETER_, "max_clients 0")
	check(p.create_server(0, opts, "not an address") == ERR_INVALID_PARAMETER_, "bad bind address")
	check(p.create_server_psk(0, {1: "not bytes"}) == ERR_INVALID_PARAMETER_, "bad PSK table")
	check(p.create_client("127.0.0.1", 0) == ERR_INVALID_PARAMETER_, "client port 0")
	check(p.create_client("", 4433) == ERR_INVALID_PARAMETER_, "empty address")
	check(p.create_client_psk("127.0.0.1", 4433, "", PackedByteArray([1])) == ERR_INVALID_PARAMETER_, "empty identity")
	check(p.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, "refused calls leave it idle")
	var taken := rsa_server()
	check(p.create_server(taken.get_local_port(), opts, "127.0.0.1") == ERR_ALREADY_IN_USE_, "port in use")
	check(p.create_server(0, opts, "127.0.0.1") == OK_, "create_server")
	check(p.create_server(0, opts, "127.0.0.1") == ERR_ALREADY_IN_USE_, "a second create_server")
	check(p.create_client("127.0.0.1", 4433) == ERR_ALREADY_IN_USE_, "create_client on a server")
	check(p.get_unique_id() == 1 and p.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, "a server is id 1, connected")
	p.set_target_peer(12345)
	check(p.put_packet(PackedByteArray([1])) == ERR_INVALID_PARAMETER_, "put_packet to an unknown peer")
	check(p.disconnect_peer_with_reason(12345, "x") == ERR_INVALID_PARAMETER_, "disconnect an unknown peer")
	p.transfer_channel = 999
	check(p.transfer_channel == 0, "channel out of range refused")
	var srv := p.get_server()
	check(srv != null and srv == p.get_server(), "get_server is one object")
	check(srv.max_peer_bytes_per_second == 2097152 and srv.max_peer_packets_per_second == 10000, "the clients' byte and packet budgets are the server's defaults")
	srv.max_peer_packets_per_second = 20000
	check(srv.max_peer_packets_per_second == 20000, "and set through get_server()")
	srv.stop()
	check(srv.is_listening(), "stop() through get_server() is refused")
	p.close()
	check(p.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED and p.get_unique_id() == 0, "closed")
	taken.stop()


# Returns [server, client] connected to each other, polled by hand.
func test_mp_pair() -> void:
	var s := GoDTLSMultiplayerPeer.new()
	var c := GoDTLSMultiplayerPeer.new()
	var seen := {"server": [], "client": [], "left": [], "reasons": []}
	s.peer_connected.connect(func(id): seen.server.append(id))
	s.peer_disconnected.connect(func(id): seen.left.append(id))
	s.peer_disconnected_reason.connect(func(id, why): seen.reasons.append(why))
	var cw: WeakRef = weakref(c) # a lambda holding c, connected to c, would be a cycle
	c.peer_connected.connect(func(id): seen.client.append([id, cw.get_ref().get_connection_status(), cw.get_ref().get_unique_id()]))
	check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
	check(c.create_client("127.0.0.1", s.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
	check(c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTING, "connecting right after the call")
	check(await mp_wait(func() -> bool: return seen.client.size() == 1 and seen.server.size() == 1, [s, c]), "both sides announced (%s)" % seen)
	if seen.client.size() != 1:
		return
	var id: int = seen.server[0]
	check(seen.client[0] == [1, MultiplayerPeer.CONNECTION_CONNECTED, id], "the client knew its id %d and was connected when it announced the server: %s" % [id, seen.client])
	check(id >= 2 and c.get_unique_id() == id, "client id %d" % id)
	# every mode on a few channels, both ways
	for mode in [MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, MultiplayerPeer.TRANSFER_MODE_RELIABLE]:
		for ch in [0, 7]:
			c.transfer_mode = mode
			c.transfer_channel = ch
			var msg := PackedByteArray([mode, ch, 42])
			check(c.put_packet(msg) == OK_, "client put_packet")
			check(await mp_wait(func() -> bool: return s.get_available_packet_count() > 0, [s, c]), "server got mode %d channel %d" % [mode, ch])
			check(s.get_packet_peer() == id and s.get_packet_channel() == ch and s.get_packet_mode() == mode, "sender, channel and mode of the packet")
			check(s.get_packet() == msg, "payload")
			s.transfer_mode = mode
			s.transfer_channel = ch
			s.set_target_peer(id)
			check(s.put_packet(msg) == OK_, "server put_packet")
			check(await mp_wait(func() -> bool: return c.get_available_packet_count() > 0, [s, c]), "client got mode %d channel %d" % [mode, ch])
			check(c.get_packet_peer() == 1 and c.get_packet_channel() == ch and c.get_packet_mode() == mode and c.get_packet() == msg, "client side of the packet")
	# a 256 KiB reliable message
	var big := PackedByteArray()
	big.resize(256 * 1024)
	for i in big.size():
		big[i] = i % 251
	c.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	check(c.put_packet(big) == OK_, "256 KiB put_packet")
	check(await mp_wait(func() -> bool: return s.get_available_packet_count() > 0, [s, c]), "256 KiB arrived")
	check(s.get_packet() == big, "256 KiB intact")
	var too_big := PackedByteArray()
	too_big.resize(512 * 1024 + 1)
	check(c.put_packet(too_big) == ERR_INVALID_PARAMETER_, "a message over get_max_packet_size() is refused")
	var st := s.get_peer_stats(id)
	check(st.get("packets_in", 0) > 0 and st.has("rtt_ms") and st.has("retransmissions"), "get_peer_stats %s" % st)
	check(c.get_peer_stats(1).get("packets_out", 0) > 0, "client's stats of the server")
	var srv := s.get_server()
	check(srv.get_stats().peers == 1, "get_server().get_stats() counts the client")
	# the client leaves: the server hears the reason
	c.close()
	check(c.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, "closed at once")
	check(await mp_wait(func() -> bool: return seen.left == [id], [s]), "server: peer_disconnected(%d)" % id)
	check(seen.reasons == ["the client left"], "reason %s" % [seen.reasons])
	s.close()


# A server bound to "*" takes IPv4 and IPv6 clients on one socket; here one
# of each, the IPv6 one through ::1, and every mode crosses both ways for
# both, and a 64 KiB reliable message (SCTP fragments it into many records).
func test_mp_ipv6() -> void:
	if not has_ipv6_loopback():
		return
	var s := GoDTLSMultiplayerPeer.new()
	check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "*") == OK_, "create_server on *")
	var port := s.get_server().get_local_port()
	var clients := {}
	for address in ["::1", "127.0.0.1"]:
		var c := GoDTLSMultiplayerPeer.new()
		check(c.create_client(address, port, "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client to %s" % address)
		clients[address] = c
	var all: Array = [s] + clients.values()
	check(await mp_wait(func() -> bool:
		return clients.values().all(func(c) -> bool: return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED), all),
		"both clients connected")
	var big := PackedByteArray()
	big.resize(64 * 1024)
	for i in big.size():
		big[i] = i % 253
	for address: String in clients:
		var c: GoDTLSMultiplayerPeer = clients[address]
		var id := c.get_unique_id()
		if id < 2:
			check(false, "the client to %s has no id" % address)
			continue
		for mode in [MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, MultiplayerPeer.TRANSFER_MODE_RELIABLE]:
			var msg: PackedByteArray = PackedByteArray([mode, 6, 42]) + address.to_utf8_buffer()
			c.transfer_mode = mode
			check(c.put_packet(msg) == OK_, "client put_packet")
			check(await mp_wait(func() -> bool: return s.get_available_packet_count() > 0, all), "server got mode %d from %s" % [mode, address])
			check(s.get_packet_peer() == id and s.get_packet() == msg, "sender and payload from %s" % address)
			s.transfer_mode = mode
			s.set_target_peer(id)
			check(s.put_packet(msg) == OK_, "server put_packet")
			check(await mp_wait(func() -> bool: return c.get_available_packet_count() > 0, all), "%s got mode %d" % [address, mode])
			check(c.get_packet() == msg, "payload to %s" % address)
		c.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
		check(c.put_packet(big) == OK_, "64 KiB put_packet")
		check(await mp_wait(func() -> bool: return s.get_available_packet_count() > 0, all), "64 KiB from %s arrived" % address)
		check(s.get_packet() == big, "64 KiB from %s intact" % address)
	for c in clients.values():
		c.close()
	s.close()


func test_mp_psk_and_refusals() -> void:
	var pair := await mp_pair(true)
	if pair.is_empty():
		return
	var s: GoDTLSMultiplayerPeer = pair[0]
	var c: GoDTLSMultiplayerPeer = pair[1]
	# a kick with a reason
	var kicked := [false]
	c.peer_disconnected.connect(func(id): kicked[0] = id == 1)
	var cid := c.get_unique_id()
	check(s.disconnect_peer_with_reason(cid, "go away") == OK_, "disconnect_peer_with_reason")
	check(await mp_wait(func() -> bool: return kicked[0], [s, c]), "the client saw peer_disconnected(1)")
	check(c.get_close_reason() == "go away" and c.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, "reason %s" % c.get_close_reason())
	# refusing
	s.refuse_new_connections = true
	var r := GoDTLSMultiplayerPeer.new()
	check(r.create_client_psk("127.0.0.1", s.get_server().get_local_port(), "player", "k3y".to_utf8_buffer()) == OK_, "create_client_psk")
	check(await mp_wait(func() -> bool: return r.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, [s, r]), "refused")
	check(r.get_close_reason().contains("not accepting new connections"), "reason: %s" % r.get_close_reason())
	# a wrong key fails with a reason
	s.refuse_new_connections = false
	var w := GoDTLSMultiplayerPeer.new()
	check(w.create_client_psk("127.0.0.1", s.get_server().get_local_port(), "player", "wrong".to_utf8_buffer()) == OK_, "create_client_psk")
	check(await mp_wait(func() -> bool: return w.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, [s, w]), "wrong key fails")
	check(w.get_close_reason() != "", "reason: %s" % w.get_close_reason())
	s.close()
	c.close()
	# a full server
	var full := GoDTLSMultiplayerPeer.new()
	check(full.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1", 1) == OK_, "max_clients 1")
	var a := GoDTLSMultiplayerPeer.new()
	var b := GoDTLSMultiplayerPeer.new()
	a.create_client("127.0.0.1", full.get_server().get_local_port(), "", TLSOptions.client_unsafe())
	check(await mp_wait(func() -> bool: return a.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, [full, a]), "first client in")
	b.create_client("127.0.0.1", full.get_server().get_local_port(), "", TLSOptions.client_unsafe())
	check(await mp_wait(func() -> bool: return b.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, [full, a, b]), "second client out")
	check(b.get_close_reason().contains("full"), "reason: %s" % b.get_close_reason())
	# freed mid-handshake: nothing may crash or leak
	var gone := GoDTLSMultiplayerPeer.new()
	gone.create_client("127.0.0.1", full.get_server().get_local_port(), "", TLSOptions.client_unsafe())
	gone = null
	full.close()


func test_mp_simulated_bad_link() -> void:
	var probe := GoDTLSMultiplayerPeer.new()
	check(probe.simulate_network(1.5, 0) == ERR_INVALID_PARAMETER_, "loss above 1.0 refused")
	check(probe.simulate_network(0.1, -5) == ERR_INVALID_PARAMETER_, "negative latency refused")
	check(probe.simulate_network(0.1, 10, 5, 0.0, 0.0, 3) == ERR_INVALID_PARAMETER_, "bandwidth below 8 kbit/s refused")
	check(GoDTLSServer.new().simulate_network(0.0, 20000) == ERR_INVALID_PARAMETER_, "latency above 10 s refused (GoDTLSServer)")
	check(GoDTLSClient.new().simulate_network(0.0, 0, 0, 2.0) == ERR_INVALID_PARAMETER_, "duplicate above 1.0 refused (GoDTLSClient)")
	check(probe.simulate_network(0, 0) == OK_, "simulate_network(0, 0) turns it off")
	# SceneMultiplayer on both ends, in this process: a server subtree and a
	# client subtree, each with its own multiplayer
	var ends := []
	for n in ["sim_server", "sim_client"]:
		var r := Node.new()
		r.name = n
		root.add_child(r)
		var sink: Node = load("res://tests/suite/rpc_sink.gd").new()
		sink.name = "Sink"
		r.add_child(sink)
		var mp := SceneMultiplayer.new()
		runner.set_multiplayer(mp, r.get_path())
		ends.append([r, mp, sink])
	var s := GoDTLSMultiplayerPeer.new()
	check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
	ends[0][1].multiplayer_peer = s
	var smp: SceneMultiplayer = ends[0][1]
	# A handshake through 30 % loss each way fails now and then within
	# the client's 10 s (a flight of several datagrams must all arrive):
	# a game tries again, and so does this test, up to 3 times.
	var c: GoDTLSMultiplayerPeer
	var reasons: Array = []
	for attempt in 3:
		c = GoDTLSMultiplayerPeer.new()
		check(c.simulate_network(0.3, 150, 50) == OK_, "simulate_network(0.3, 150, 50) on the client")
		check(c.create_client("127.0.0.1", s.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
		ends[1][1].multiplayer_peer = c
		var cc := c # the lambda's own reference to this attempt's peer
		await wait_until(func() -> bool: return smp.get_peers().size() == 1 or cc.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, null, [], 60.0)
		if smp.get_peers().size() == 1:
			break
		reasons.append(c.get_close_reason())
		print("  the client's attempt %d through the bad link failed: %s" % [attempt + 1, c.get_close_reason()])
		ends[1][1].multiplayer_peer = null
		c.close()
	if smp.get_peers().size() != 1:
		check(false, "the client connected through the bad link in 3 attempts (%s)" % [reasons])
	else:
		var cid: int = smp.get_peers()[0]
		var t0 := Time.get_ticks_msec()
		for i in 100:
			ends[0][2].r.rpc_id(cid, i)
		var got: Array = ends[1][2].got
		check(await wait_until(func() -> bool: return got.size() >= 100, null, [], 120.0), "100 reliable RPCs arrived (%d)" % got.size())
		var expected := range(100)
		check(got == expected, "every RPC once, in order")
		var st: Dictionary = c.get_peer_stats(1)
		print("  measured: 100 reliable RPCs at 30 %% loss, 150 ± 50 ms each way on the client: %d ms; client rtt %.0f ms, loss %.2f, retransmissions %d" % [Time.get_ticks_msec() - t0, st.get("rtt_ms", 0.0), st.get("loss", 0.0), s.get_peer_stats(cid).get("retransmissions", 0)])
	c.close()
	s.close()
	for e in ends:
		runner.set_multiplayer(null, e[0].get_path())
		e[0].queue_free()
	await process_frame



# SceneMultiplayer with an auth_callback drops every packet of a peer whose
# completion it has not read. Under loss a client's completion (channel 0)
# can arrive after what the client sent next on other channels, once it had
# the server's completion: the multiplayer test lost a loss client's first
# RPCs that way. Here a raw client speaks SceneMultiplayer's bytes and sends
# its completion last, as a lost completion arrives; the server's
# SceneMultiplayer must still get the raw messages sent before it. ENet,
# run the same way beside it, loses them (its channels are independent):
# the comparison the class reference states.
func test_mp_auth_completion_overtaken() -> void:
	var s := GoDTLSMultiplayerPeer.new()
	check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
	var c := GoDTLSMultiplayerPeer.new()
	check(c.create_client("127.0.0.1", s.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
	var seen := await _auth_overtaken(s, c)
	check(seen.connected.size() == 1, "GoDTLS: the client was admitted (%s)" % [seen])
	check(seen.raw == ["reliable, channel 4", "unreliable"], "GoDTLS: the messages sent before the completion arrived after it (%s)" % [seen.raw])
	var es := ENetMultiplayerPeer.new()
	check(es.create_server(0, 4, 8) == OK_, "ENet create_server")
	var ec := ENetMultiplayerPeer.new()
	check(ec.create_client("127.0.0.1", es.host.get_local_port(), 8) == OK_, "ENet create_client")
	var eseen := await _auth_overtaken(es, ec)
	check(eseen.connected.size() == 1 and eseen.raw.is_empty(), "ENet: the client was admitted, and SceneMultiplayer dropped what overtook its completion (%s)" % [eseen])


# Runs the overtaken completion over a server and a client peer (created,
# not yet connected) and returns what the server's SceneMultiplayer saw.
func _auth_overtaken(s: MultiplayerPeer, c: MultiplayerPeer) -> Dictionary:
	var label := s.get_class()
	var r := Node.new()
	r.name = "auth_server"
	root.add_child(r)
	var smp := SceneMultiplayer.new()
	runner.set_multiplayer(smp, r.get_path())
	var seen := {"auth": [], "connected": [], "raw": []}
	smp.auth_callback = func(id: int, data: PackedByteArray):
		seen.auth.append(data.get_string_from_utf8())
		smp.complete_auth(id)
	smp.peer_connected.connect(func(id): seen.connected.append(id))
	smp.peer_packet.connect(func(id, data): seen.raw.append(data.get_string_from_utf8()))
	smp.multiplayer_peer = s
	var cc := c
	check(await mp_wait(func() -> bool: return cc.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, [c]), "%s: the raw client connected" % label)
	const SYS_AUTH := [7, 0] # NETWORK_COMMAND_SYS, SYS_COMMAND_AUTH
	const RAW := 3 # NETWORK_COMMAND_RAW: SceneMultiplayer emits peer_packet
	c.set_target_peer(1)
	c.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	c.transfer_channel = 0
	check(c.put_packet(PackedByteArray(SYS_AUTH) + "let me in".to_utf8_buffer()) == OK_, "%s: the client's auth data" % label)
	var answer := []
	check(await mp_wait(func() -> bool:
		if cc.get_available_packet_count() > 0:
			answer.append(cc.get_packet())
		return answer.size() > 0, [c]), "%s: the server's SceneMultiplayer answered" % label)
	check(answer.size() == 1 and answer[0] == PackedByteArray(SYS_AUTH), "%s: with its completion (%s)" % [label, answer])
	check(seen.auth == ["let me in"], "%s: the auth_callback read the client's data (%s)" % [label, seen.auth])
	# what the client sends once it has the server's completion, before its own arrives
	c.transfer_channel = 4
	check(c.put_packet(PackedByteArray([RAW]) + "reliable, channel 4".to_utf8_buffer()) == OK_, "%s: a raw message on channel 4" % label)
	c.transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	c.transfer_channel = 1
	check(c.put_packet(PackedByteArray([RAW]) + "unreliable".to_utf8_buffer()) == OK_, "%s: an unreliable raw message" % label)
	var until := Time.get_ticks_msec() + 300
	await mp_wait(func() -> bool: return Time.get_ticks_msec() > until, [c])
	check(seen.connected.is_empty() and seen.raw.is_empty(), "%s: nothing reaches the server's game before the completion (%s)" % [label, seen])
	c.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	c.transfer_channel = 0
	check(c.put_packet(PackedByteArray(SYS_AUTH)) == OK_, "%s: the client's completion, last" % label)
	# admitted, then given 300 ms more for anything that is coming
	await mp_wait(func() -> bool: return seen.connected.size() > 0, [c], 10.0)
	until = Time.get_ticks_msec() + 300
	await mp_wait(func() -> bool: return seen.raw.size() >= 2 or Time.get_ticks_msec() > until, [c])
	seen.raw.sort()
	print("  measured: %s, raw messages sent before the completion that reached the game: %d of 2" % [label, seen.raw.size()])
	c.close()
	s.close()
	smp.auth_callback = Callable() # it holds smp: a cycle
	smp.multiplayer_peer = null
	runner.set_multiplayer(null, r.get_path())
	r.queue_free()
	await process_frame
	return seen


# Five clients that leave at once reach the server's game two per poll()
# with max_disconnects_per_poll = 2, every one of them once; with 0, all
# in one; with a handler that takes 20 ms and disconnect_budget_ms = 5,
# one per poll. Until a peer's end is emitted, a message to it is dropped
# without an error (SceneMultiplayer still counts it as a peer); after,
# it is an unknown peer. A client whose server left takes messages
# without an error until its poll() says so.
func test_mp_disconnect_burst() -> void:
	var s := GoDTLSMultiplayerPeer.new()
	check_end_pacing_properties(s)
	check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
	var port: int = s.get_server().get_local_port()
	var ended: Array = []
	var handler_ms := [0]
	s.peer_disconnected.connect(func(id: int) -> void:
		ended.append(id)
		OS.delay_msec(handler_ms[0]))
	# [max_disconnects_per_poll, disconnect_budget_ms, the handler's ms, ends per poll]
	for run in [[2, 0.0, 0, [2, 2, 1, 0, 0]], [0, 0.0, 0, [5, 0, 0, 0, 0]], [0, 5.0, 20, [1, 1, 1, 1, 1]]]:
		var limit: int = run[0]
		s.max_disconnects_per_poll = limit
		s.disconnect_budget_ms = run[1]
		handler_ms[0] = run[2]
		var clients: Array = []
		for i in 5:
			var c := GoDTLSMultiplayerPeer.new()
			c.create_client("127.0.0.1", port, "", TLSOptions.client_unsafe())
			clients.append(c)
		var peers := [s]
		peers.append_array(clients)
		check(await mp_wait(func() -> bool:
			for c in clients:
				if c.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
					return false
			return true, peers, 60.0), "limit %d: 5 clients connected" % limit)
		var ids: Array = []
		for c in clients:
			ids.append(c.get_unique_id())
		ended.clear()
		for c in clients:
			c.close()
		check(await wait_until(func() -> bool: return s.get_server().get_stats().peers == 0, null, []), "limit %d: the DTLS peers are gone before poll()" % limit)
		await runner.create_timer(0.3).timeout # a session's end is queued as its DTLS peer goes
		s.set_target_peer(ids[0])
		check(s.put_packet(PackedByteArray([1])) == OK_, "limit %d: put_packet to a peer that left, before its peer_disconnected" % limit)
		check(s.disconnect_peer_with_reason(ids[0], "late kick") == OK_, "limit %d: disconnect_peer_with_reason of a peer that left, before its peer_disconnected" % limit)
		var counts := per_poll(s.poll, ended, 5)
		check(counts == run[3], "limit %d, budget %.0f ms: peer_disconnected per poll() %s, want %s" % [limit, run[1], counts, run[3]])
		check(each_once(ended, ids), "limit %d: each of the 5 peers' peer_disconnected came once (%s of %s)" % [limit, ended, ids])
		s.set_target_peer(ids[0])
		check(s.put_packet(PackedByteArray([1])) == ERR_INVALID_PARAMETER_, "limit %d: put_packet to a peer whose end was emitted" % limit)
	handler_ms[0] = 0
	# the server leaves a client that has not polled since
	var c := GoDTLSMultiplayerPeer.new()
	c.create_client("127.0.0.1", port, "", TLSOptions.client_unsafe())
	check(await mp_wait(func() -> bool: return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, [s, c], 60.0), "a client connected")
	s.close()
	await runner.create_timer(0.5).timeout
	check(c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, "connected until the client's poll() says otherwise")
	check(c.put_packet(PackedByteArray([1])) == OK_, "the client's put_packet after the server left, before its poll()")
	c.poll()
	check(c.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED, "disconnected after poll()")
	c.close()


# A side sends a message and disconnects gracefully (disconnect_peer); the
# other side's game does not poll until both have arrived. SceneMultiplayer's
# poll() polls the peer, which emits the end, then reads every message: one
# from a peer whose end it has seen it drops, and a client whose server
# left reads none. The graceful goodbye waits until the message has arrived,
# and a peer's end waits one poll behind the messages it sent before it
# left, so the game reads its last words (extension/multiplayer/session.go,
# events.go). ENet, run the same way beside it, is printed.
func test_mp_last_words() -> void:
	runner.multiplayer_poll = false # each game polls when the test says
	for kind in ["GoDTLS", "ENet"]:
		for leaving in ["client", "server"]:
			var got := await _last_words(kind, leaving)
			print("  measured: %s, the %s leaves: %s" % [kind, leaving, got])
			if kind == "GoDTLS":
				check(got.read == ["last words"] and got.ended, "GoDTLS, the %s leaves: the other side's game read its last message, then its end (%s)" % [leaving, got])
	runner.multiplayer_poll = true


func _last_words(kind: String, leaving: String) -> Dictionary:
	var s: MultiplayerPeer
	var c: MultiplayerPeer
	if kind == "GoDTLS":
		s = GoDTLSMultiplayerPeer.new()
		check(s.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
		c = GoDTLSMultiplayerPeer.new()
		check(c.create_client("127.0.0.1", s.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
	else:
		s = ENetMultiplayerPeer.new()
		check(s.create_server(0, 4, 8) == OK_, "ENet create_server")
		c = ENetMultiplayerPeer.new()
		check(c.create_client("127.0.0.1", s.host.get_local_port(), 8) == OK_, "ENet create_client")
	var games := []
	for side in ["last_words_server", "last_words_client"]:
		var n := Node.new()
		n.name = side
		root.add_child(n)
		var smp := SceneMultiplayer.new()
		runner.set_multiplayer(smp, n.get_path())
		games.append([n, smp])
	var ss: SceneMultiplayer = games[0][1]
	var cs: SceneMultiplayer = games[1][1]
	ss.multiplayer_peer = s
	cs.multiplayer_peer = c
	var got := {"read": [], "ended": false}
	var listener: SceneMultiplayer = cs if leaving == "server" else ss
	listener.peer_packet.connect(func(_id, data): got.read.append(data.get_string_from_utf8()))
	if leaving == "server":
		cs.server_disconnected.connect(func(): got.ended = true)
	else:
		ss.peer_disconnected.connect(func(_id): got.ended = true)
	var polls := func() -> bool:
		ss.poll()
		cs.poll()
		return c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED and ss.get_peers().size() == 1
	check(await mp_wait(polls, []), "%s: connected" % kind)
	# The leaving side sends, disconnects gracefully and goes on polling
	# (ENet sends in poll()); the other side's game does not poll for 300 ms.
	var leaver: SceneMultiplayer = ss if leaving == "server" else cs
	var other_id: int = ss.get_peers()[0] if leaving == "server" else 1
	leaver.send_bytes("last words".to_utf8_buffer(), other_id)
	leaver.multiplayer_peer.disconnect_peer(other_id)
	var until := Time.get_ticks_msec() + 300
	while Time.get_ticks_msec() < until:
		if leaver.multiplayer_peer != null:
			leaver.poll()
		await process_frame
	for i in 5:
		listener.poll()
		await process_frame
	for g in games:
		g[1].multiplayer_peer = null
		runner.set_multiplayer(null, g[0].get_path())
		g[0].queue_free()
	s.close()
	c.close()
	await process_frame
	return got


# The client's session came up and was closed by its server before the
# game polled; the peer_connected handler closes the peer and connects to
# another server. The poll must stop there: the old session's end would
# reach SceneMultiplayer as the new one's (the signals name no session)
# and mark the new session disconnected.
func test_mp_reconnect_in_handler() -> void:
	var s1 := GoDTLSMultiplayerPeer.new()
	var s2 := GoDTLSMultiplayerPeer.new()
	check(s1.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "first server")
	check(s2.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "second server")
	var port2: int = s2.get_server().get_local_port()
	var c := GoDTLSMultiplayerPeer.new()
	var cw: WeakRef = weakref(c) # a lambda holding c, connected to c, would be a cycle
	var heard: Array = []
	c.peer_connected.connect(func(id: int) -> void:
		heard.append("connected %d" % id)
		if heard.size() == 1:
			var peer: GoDTLSMultiplayerPeer = cw.get_ref()
			peer.close()
			check(peer.create_client("127.0.0.1", port2, "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client from the handler"))
	c.peer_disconnected.connect(func(id: int) -> void: heard.append("disconnected %d" % id))
	var joined := {"n": 0}
	s1.peer_connected.connect(func(_id: int) -> void: joined.n += 1)
	check(c.create_client("127.0.0.1", s1.get_server().get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "create_client")
	# the client is not polled until its session came up and was closed
	check(await mp_wait(func() -> bool: return joined.n == 1, [s1]), "the first server has the client")
	# the client has its id (read without a poll) once its side is up and its
	# announcement queued
	check(await mp_wait(func() -> bool: return c.get_unique_id() != 0, [s1]), "the client's session is up")
	s1.close()
	await runner.create_timer(0.5).timeout # the server's close reaches the client
	check(await mp_wait(func() -> bool: return heard.size() >= 2, [c, s2]), "the new session came up")
	check(heard == ["connected 1", "connected 1"], "after the handler's reconnect, only the new session's signals: %s" % [heard])
	check(c.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED, "connected to the second server")
	c.close()
	s2.close()
