# GoDTLSServer and GoDTLSPeer: setup, listen, packets, limits, bulk paths.
# One area of the engine suite (tests/run_tests.gd runs every area in order).
extends "res://tests/suite/case.gd"


func cases() -> Array:
	return [
		["class registration and enum", test_classes],
		["setup errors", test_setup_errors],
		["listen errors", test_listen_errors],
		["RSA TLSOptions: connect, signals, packets, vars", test_rsa_roundtrip],
		["ECDSA PEM setup_pem", test_ecdsa_pem],
		["IPv6: PacketPeerDTLS and GoDTLSClient over ::1", test_ipv6],
		["PSK setup", test_psk_setup],
		["properties", test_properties],
		["oversize packet keeps the connection", test_oversize],
		["max_peer_packets_per_second holds a PacketPeerDTLS's flood of one-byte packets", test_packet_budget],
		["50 clients", test_fifty_clients],
		["broadcast with exclude", test_broadcast],
		["receive_all: listen and take_connection(udp_peer) modes", test_receive_all],
		["read_in_frame: poll() reads the socket; off, the reader thread does", test_read_in_frame],
		["idle timeout", test_idle_timeout],
		["disconnect_from_peer", test_disconnect_from_peer],
		["a burst of ends is spread over polls (max_disconnects_per_poll, disconnect_budget_ms)", test_disconnect_burst_spread],
	]


func test_classes() -> void:
	check(ClassDB.class_exists("GoDTLSServer"), "GoDTLSServer registered")
	check(ClassDB.class_exists("GoDTLSPeer"), "GoDTLSPeer registered")
	check(ClassDB.is_parent_class("GoDTLSPeer", "PacketPeer"), "GoDTLSPeer is a PacketPeer")
	check(GoDTLSPeer.STATUS_DISCONNECTED == 0 and GoDTLSPeer.STATUS_HANDSHAKING == 1, "Status enum 0/1")
	check(GoDTLSPeer.STATUS_CONNECTED == PacketPeerDTLS.STATUS_CONNECTED, "STATUS_CONNECTED matches PacketPeerDTLS")
	check(GoDTLSPeer.STATUS_ERROR == PacketPeerDTLS.STATUS_ERROR, "STATUS_ERROR matches PacketPeerDTLS")
	var lone := GoDTLSPeer.new()
	check(lone.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, "a new peer is disconnected")
	check(lone.put_packet(PackedByteArray([1])) != OK_, "put_packet on a never-connected peer fails")
	check(lone.get_available_packet_count() == 0, "no packets on a lone peer")
	var s := GoDTLSServer.new()
	check(not s.is_listening() and s.get_local_port() == 0, "a new server is idle")
	check(s.take_connection() == null and not s.is_connection_available(), "nothing to take")
	check(s.get_peers().is_empty(), "no peers")


func test_setup_errors() -> void:
	var s := GoDTLSServer.new()
	check(s.listen(0) == ERR_UNCONFIGURED_, "listen before setup -> ERR_UNCONFIGURED")
	check(s.setup(null) == ERR_INVALID_PARAMETER_, "setup(null)")
	check(s.setup(TLSOptions.client()) == ERR_INVALID_PARAMETER_, "setup(client options)")
	check(s.setup_pem("not a key", "not a cert") == ERR_INVALID_DATA_, "setup_pem with garbage -> ERR_INVALID_DATA")
	check(s.setup_pem("", ec_cert_pem) == ERR_INVALID_PARAMETER_, "setup_pem without a key")
	check(s.setup_pem(ec_key_pem, rsa_cert.save_to_string()) == ERR_INVALID_PARAMETER_, "key does not match the certificate")
	check(s.setup_psk({}) == ERR_INVALID_PARAMETER_, "setup_psk with no keys")
	check(s.setup_psk({"id": "not bytes"}) == ERR_INVALID_PARAMETER_, "setup_psk with a String key")
	check(s.setup_psk({42: PackedByteArray([1])}) == ERR_INVALID_PARAMETER_, "setup_psk with a non-String identity")
	check(s.setup_psk({"": PackedByteArray([1])}) == ERR_INVALID_PARAMETER_, "setup_psk with an empty identity")
	# The largest inline Variants (40 bytes in double-precision engines) pass
	# through the binding's own Variant storage here.
	check(s.setup_psk({"id": Vector4(1, 2, 3, 4)}) == ERR_INVALID_PARAMETER_, "setup_psk with a Vector4 key")
	check(s.setup_psk({Plane(1, 2, 3, 4): PackedByteArray([1])}) == ERR_INVALID_PARAMETER_, "setup_psk with a Plane identity")
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "setup after failures")
	# a second setup replaces the credentials (a certificate reload: client_test.gd)
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "setup twice replaces")
	check(s.setup_pem(ec_key_pem, ec_cert_pem) == OK_, "setup_pem after setup replaces")


func test_listen_errors() -> void:
	var a := rsa_server()
	var port := a.get_local_port()
	check(port > 0, "port 0 picked a port")
	check(a.listen(0) == ERR_ALREADY_IN_USE_, "listen twice")
	var b := GoDTLSServer.new()
	b.setup(TLSOptions.server(rsa_key, rsa_cert))
	check(b.listen(port, "127.0.0.1") == ERR_ALREADY_IN_USE_, "port in use -> ERR_ALREADY_IN_USE")
	check(b.listen(70000) == ERR_INVALID_PARAMETER_, "port out of range")
	check(b.listen(0, "not-an-ip") == ERR_INVALID_PARAMETER_, "bad bind address")
	check(b.listen(0) == OK_ and b.is_listening(), "listen on * works")
	a.stop()
	b.stop()
	check(not a.is_listening() and not b.is_listening(), "stopped")


func test_rsa_roundtrip() -> void:
	var s := rsa_server()
	var events := {"connected": [], "disconnected": []}
	s.peer_connected.connect(func(p: GoDTLSPeer) -> void: events.connected.append(p))
	s.peer_disconnected.connect(func(p: GoDTLSPeer, reason: String) -> void: events.disconnected.append(reason))
	var c := new_client(s.get_local_port())
	check(await wait_until(all_connected([c]), s, [c]), "mbedTLS client connected")
	check(await wait_until(func() -> bool: return events.connected.size() == 1, s, [c]), "peer_connected emitted")
	var peer := await take(s, [c])
	check(peer != null, "take_connection returned the peer")
	if peer == null:
		return
	check(peer.get_status() == PacketPeerDTLS.STATUS_CONNECTED, "peer status CONNECTED")
	check(peer.get_packet_ip() == "127.0.0.1" and peer.get_packet_port() > 0, "remote address")
	check(peer.get_max_packet_size() > 1000, "max packet size %d" % peer.get_max_packet_size())
	check(abs(peer.get_last_packet_time() - Time.get_unix_time_from_system()) < 60.0, "last packet time is a unix time")
	check(s.get_peers().size() == 1 and s.get_peers()[0] == peer, "get_peers returns the same object")
	# three packets in one frame: all of them are readable at once
	for i in 3:
		c.put_packet(("hello %d" % i).to_utf8_buffer())
	check(await wait_until(func() -> bool: return peer.get_available_packet_count() == 3, s, [c]), "3 packets queued")
	for i in 3:
		check(peer.get_packet().get_string_from_utf8() == "hello %d" % i, "packet %d in order" % i)
	check(peer.get_packet().is_empty() and peer.get_packet_error() == ERR_UNAVAILABLE_, "empty queue -> ERR_UNAVAILABLE")
	# typed messages both ways
	check(peer.put_var({"type": "welcome", "id": 7}) == OK_, "put_var")
	check(await wait_until(func() -> bool: return c.get_available_packet_count() > 0, s, [c]), "client got the var")
	var msg = c.get_var()
	check(msg is Dictionary and msg.get("id") == 7, "client decoded the Dictionary")
	c.put_var(Vector2(1.5, -2))
	check(await wait_until(func() -> bool: return peer.get_available_packet_count() > 0, s, [c]), "server got the var")
	check(peer.get_var() == Vector2(1.5, -2), "server decoded the Vector2")
	var st := peer.get_stats()
	check(st.get("packets_in", 0) == 4 and st.get("packets_out", 0) == 1, "peer stats %s" % st)
	var ss := s.get_stats()
	check(ss.get("handshakes_ok", 0) == 1 and ss.get("peers", 0) == 1, "server stats %s" % ss)
	c.disconnect_from_peer()
	check(await wait_until(func() -> bool: return peer.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, s, []), "client close seen")
	check(await wait_until(func() -> bool: return events.disconnected.size() == 1, s, []), "peer_disconnected emitted")
	check(peer.put_packet(PackedByteArray([1])) != OK_, "put_packet after disconnect fails")
	s.stop()


func test_ecdsa_pem() -> void:
	var s := GoDTLSServer.new()
	check(s.setup_pem(ec_key_pem, ec_cert_pem) == OK_, "setup_pem ECDSA")
	check(s.listen(0, "127.0.0.1") == OK_, "listen")
	var c := new_client(s.get_local_port())
	check(await wait_until(all_connected([c]), s, [c]), "mbedTLS client connected to ECDSA server")
	var peer := await take(s, [c])
	if peer:
		c.put_packet("ecdsa".to_utf8_buffer())
		check(await wait_until(func() -> bool: return peer.get_available_packet_count() == 1, s, [c]), "packet arrived")
		check(peer.get_packet().get_string_from_utf8() == "ecdsa", "payload")
	s.stop()


# A server bound to ::1 serves Godot's own client and a GoDTLSClient over
# IPv6. (Its handshakes with IPv6 peers send datagrams of at most 1,232
# bytes: server/handshake_mtu_test.go measures that.)
func test_ipv6() -> void:
	if not has_ipv6_loopback():
		return
	var s := GoDTLSServer.new()
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "setup")
	check(s.listen(0, "::1") == OK_, "listen on ::1")
	var udp := PacketPeerUDP.new()
	check(udp.connect_to_host("::1", s.get_local_port()) == OK_, "UDP to ::1")
	var godot_client := PacketPeerDTLS.new()
	check(godot_client.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe()) == OK_, "PacketPeerDTLS to ::1")
	var go_client := GoDTLSClient.new()
	check(go_client.connect_to_host("::1", s.get_local_port(), "localhost", TLSOptions.client_unsafe()) == OK_, "GoDTLSClient to ::1")
	var clients := [godot_client, go_client]
	check(await wait_until(all_connected(clients), s, clients), "both clients connected over IPv6")
	var peers := await take_all(s, clients, 2)
	check(peers.size() == 2, "two peers taken")
	for i in peers.size():
		var peer: GoDTLSPeer = peers[i]
		check(peer.get_packet_ip() == "::1" and peer.get_packet_port() > 0, "peer %d's address is ::1 (%s)" % [i, peer.get_packet_ip()])
		check(peer.put_packet(("to %d" % i).to_utf8_buffer()) == OK_, "put_packet to peer %d" % i)
	for c in clients:
		c.put_packet("from a client".to_utf8_buffer())
	check(await wait_until(func() -> bool:
		return godot_client.get_available_packet_count() == 1 and go_client.get_available_packet_count() == 1 \
			and peers.all(func(p: GoDTLSPeer) -> bool: return p.get_available_packet_count() == 1), s, clients), "a packet each way")
	for c in clients:
		check(c.get_packet().get_string_from_utf8().begins_with("to "), "the client read the server's packet")
	for peer in peers:
		check(peer.get_packet().get_string_from_utf8() == "from a client", "the server read the client's packet")
	go_client.disconnect_from_peer()
	godot_client.disconnect_from_peer()
	s.stop()


func test_psk_setup() -> void:
	# Godot's PacketPeerDTLS has no PSK support, so the PSK handshake itself is
	# tested in Go with OpenSSL and GnuTLS clients; here: the GDScript API.
	var s := GoDTLSServer.new()
	check(s.setup_psk({"player-1": PackedByteArray([1, 2, 3, 4])}, "game") == OK_, "setup_psk")
	check(s.setup_psk({"x": PackedByteArray([1])}) == OK_, "setup_psk twice replaces the table")
	check(s.listen(0, "127.0.0.1") == OK_, "listen with PSK")
	s.stop()


func test_properties() -> void:
	var s := GoDTLSServer.new()
	check(s.max_peers == 4096 and s.max_pending_handshakes == 1024 and s.max_peers_per_ip == 512, "limits defaults")
	check(is_equal_approx(s.handshake_timeout, 10.0) and s.idle_timeout == 0.0 and s.mtu == 1400, "timeouts/mtu defaults")
	s.max_peers = 10
	s.idle_timeout = 2.5
	s.mtu = 1200
	check(s.max_peers == 10 and is_equal_approx(s.idle_timeout, 2.5) and s.mtu == 1200, "set values")
	s.max_peers = 0
	s.mtu = 10
	s.mtu = 16384
	s.handshake_timeout = -1.0
	check(s.max_peers == 10 and s.mtu == 1200 and is_equal_approx(s.handshake_timeout, 10.0), "invalid values are refused")
	s.max_peers_per_ip = 0
	check(s.max_peers_per_ip == 0, "max_peers_per_ip 0 turns it off")
	check_budget_property(s, "max_peer_bytes_per_second", 2097152, 16384)
	s.max_peer_bytes_per_second = 100
	check(s.max_peer_bytes_per_second == 2097152, "a byte budget of 100 is refused")
	check_budget_property(s, "max_peer_packets_per_second", 10000, 100)
	var keys := s.get_stats()
	check(s.read_in_frame, "read_in_frame default")
	for k in ["post_handshake_dropped", "replayed", "auth_failed", "over_rate", "read_in_frame"]:
		check(keys.has(k), "get_stats() has %s" % k)


func test_oversize() -> void:
	var pair := await connected_pair()
	var s: GoDTLSServer = pair[0]
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer == null:
		return
	var too_big := PackedByteArray()
	too_big.resize(peer.get_max_packet_size() + 1)
	check(peer.put_packet(too_big) == ERR_INVALID_PARAMETER_, "oversize -> ERR_INVALID_PARAMETER")
	check(peer.get_status() == GoDTLSPeer.STATUS_CONNECTED, "still connected")
	var fits := PackedByteArray()
	fits.resize(peer.get_max_packet_size())
	fits[0] = 9
	check(peer.put_packet(fits) == OK_, "max-size packet sent")
	check(await wait_until(func() -> bool: return c.get_available_packet_count() > 0, s, [c]), "client received it")
	check(c.get_packet().size() == fits.size(), "size preserved")
	s.stop()


# Godot's own client sends 3,000 one-byte packets at once; the game gets the
# budget's burst (half a second's worth) and what it adds while they come,
# and the rest is counted as over_rate. The budget is changed with the peer
# connected: it applies at once.
func test_packet_budget() -> void:
	var pair := await connected_pair()
	var s: GoDTLSServer = pair[0]
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer == null:
		return
	const RATE := 1000
	s.max_peer_packets_per_second = RATE
	var start := Time.get_ticks_usec()
	for i in 3000:
		c.put_packet(PackedByteArray([i % 256]))
	# What the game gets, until none has come for half a second; the
	# budget's time runs until the last of it was read.
	var got := 0
	var last_read := start
	var quiet_since := Time.get_ticks_msec()
	while Time.get_ticks_msec() - quiet_since < 500:
		s.poll()
		c.poll()
		while peer.get_available_packet_count() > 0:
			peer.get_packet()
			got += 1
			last_read = Time.get_ticks_usec()
			quiet_since = Time.get_ticks_msec()
		await process_frame
	var allowed := RATE / 2 + int(RATE * (last_read - start) / 1000000.0)
	var over: int = s.get_stats()["over_rate"]
	print("  measured: 3000 one-byte packets sent at once; the game got %d in %d ms (the budget allows %d); %d over it" % [got, (last_read - start) / 1000, allowed, over])
	check(got > 0 and got <= allowed + 1, "the game got %d packets, within the budget's %d" % [got, allowed])
	check(over > 0, "the packets over the budget are counted in over_rate (%d)" % over)
	check(peer.get_status() == GoDTLSPeer.STATUS_CONNECTED, "the flooding peer is still connected")
	s.stop()


func test_fifty_clients() -> void:
	var s := rsa_server()
	var clients: Array = []
	for i in 50:
		clients.append(new_client(s.get_local_port()))
	check(await wait_until(all_connected(clients), s, clients, 60.0), "50 clients connected")
	var peers := await take_all(s, clients, 50)
	check(peers.size() == 50, "50 peers taken (got %d)" % peers.size())
	for i in clients.size():
		clients[i].put_packet(("c%d" % i).to_utf8_buffer())
	# echo every packet back, like a game server (lambdas capture locals by
	# value: count in a Dictionary)
	var echoed := {"n": 0}
	var got: Dictionary = {}
	await wait_until(func() -> bool:
		for p in peers:
			while p.get_available_packet_count() > 0:
				p.put_packet(p.get_packet())
				echoed.n += 1
		for i in clients.size():
			while clients[i].get_available_packet_count() > 0:
				got[clients[i].get_packet().get_string_from_utf8()] = i
		return got.size() == 50, s, clients, 30.0)
	check(echoed.n == 50, "server echoed 50 (got %d)" % echoed.n)
	check(got.size() == 50, "every client got its echo (%d)" % got.size())
	check(s.get_stats().get("peers") == 50, "stats: 50 peers")
	s.stop()


func test_broadcast() -> void:
	var s := rsa_server()
	var clients: Array = [new_client(s.get_local_port()), new_client(s.get_local_port()), new_client(s.get_local_port())]
	await wait_until(all_connected(clients), s, clients)
	await wait_until(func() -> bool: return s.get_peers().size() == 3, s, clients)
	var peers := s.get_peers()
	check(peers.all(func(p: Variant) -> bool: return p is GoDTLSPeer and p.get_status() == GoDTLSPeer.STATUS_CONNECTED), "get_peers: connected GoDTLSPeer objects")
	var again := s.get_peers()
	check(again.size() == 3 and peers.all(func(p: Variant) -> bool: return again.has(p)), "get_peers again: the same objects while the script holds them")
	var excluded: GoDTLSPeer = peers[0]
	check(s.broadcast("news".to_utf8_buffer(), excluded) == 2, "broadcast reached 2 of 3")
	check(s.broadcast("all".to_utf8_buffer()) == 3, "broadcast without exclude reached 3")
	# PacketPeerDTLS takes one record per poll(): read every frame
	var got := [[], [], []]
	await wait_until(func() -> bool:
		for i in clients.size():
			while clients[i].get_available_packet_count() > 0:
				got[i].append(clients[i].get_packet().get_string_from_utf8())
		return got[0].size() + got[1].size() + got[2].size() == 5, s, clients)
	var by_port := {}
	for g in got:
		by_port[g.size()] = by_port.get(g.size(), 0) + 1
	check(by_port.get(2, 0) == 2 and by_port.get(1, 0) == 1, "two clients got 2 packets, the excluded one got 1: %s" % by_port)
	s.stop()


# The bulk path: every packet of every peer once, each peer's in order, the
# cap honoured, the pairs' peers the objects the game took; in UDPServer
# mode receive_all also moves the handshakes along (no per-peer poll()).
func test_receive_all() -> void:
	var s := rsa_server()
	var clients: Array = []
	for i in 5:
		clients.append(new_client(s.get_local_port()))
	check(await wait_until(all_connected(clients), s, clients), "5 clients connected")
	var taken: Dictionary = {}
	await wait_until(func() -> bool:
		var p := s.take_connection()
		while p:
			taken[p] = true
			p = s.take_connection()
		return taken.size() == 5, s, clients)
	for k in 4:
		for i in clients.size():
			clients[i].put_packet(("%d:%d" % [i, k]).to_utf8_buffer())
	# all 20 in the server's queues first (poll() reads the socket in the
	# frame), so that the first receive_all(3) has more than 3 to cap
	check(await wait_until(func() -> bool: return s.get_stats().packets_in >= 20, s, clients),
		"the server received the 20 packets (packets_in %d)" % s.get_stats().packets_in)
	var got: Dictionary = {}  # client index -> packets in arrival order
	var st := {"n": 0, "first": -1, "foreign": 0, "bad": 0}
	check(await wait_until(func() -> bool:
		var pairs := s.receive_all(3 if st.first < 0 else 0)
		if st.first < 0 and not pairs.is_empty():
			st.first = pairs.size()
		for pair in pairs:
			if not (pair is Array and pair.size() == 2 and pair[0] is GoDTLSPeer and pair[1] is PackedByteArray):
				st.bad += 1
				continue
			if not taken.has(pair[0]):
				st.foreign += 1
			var text: String = pair[1].get_string_from_utf8()
			var i := int(text.split(":")[0])
			got[i] = got.get(i, []) + [text]
			st.n += 1
			pair[0].put_packet(pair[1])
		return st.n >= 20, s, clients), "receive_all returned all 20 packets (got %d)" % st.n)
	check(st.first == 3, "receive_all(3) returned 3 pairs (got %d)" % st.first)
	check(st.bad == 0 and st.foreign == 0, "every pair is [the taken GoDTLSPeer, PackedByteArray] (bad %d, other objects %d)" % [st.bad, st.foreign])
	var in_order := got.size() == 5
	for i in got:
		in_order = in_order and got[i] == ["%d:0" % i, "%d:1" % i, "%d:2" % i, "%d:3" % i]
	check(in_order, "each client's packets once and in order: %s" % got)
	check(s.receive_all().is_empty(), "nothing handed over twice")
	var echoes := {"n": 0}
	check(await wait_until(func() -> bool:
		for c in clients:
			while c.get_available_packet_count() > 0:
				c.get_packet()
				echoes.n += 1
		return echoes.n >= 20, s, clients), "the clients got the 20 echoes sent through the pairs' peers (%d)" % echoes.n)
	check(s.receive_all(-1).is_empty(), "receive_all(-1) is refused with an empty Array")
	s.stop()

	# UDPServer mode: no per-peer poll(), only UDPServer.poll() and receive_all().
	var udp_server := UDPServer.new()
	udp_server.listen(0, "127.0.0.1")
	var g := GoDTLSServer.new()
	g.setup(TLSOptions.server(rsa_key, rsa_cert))
	var ucl: Array = [new_client(udp_server.get_local_port()), new_client(udp_server.get_local_port())]
	var held: Array = []
	var ust := {"n": 0}
	check(await wait_until(func() -> bool:
		udp_server.poll()
		while udp_server.is_connection_available():
			held.append(g.take_connection(udp_server.take_connection()))
		for pair in g.receive_all():
			ust.n += 1
			pair[0].put_packet(pair[1])
		for c in ucl:
			if c.get_status() == PacketPeerDTLS.STATUS_CONNECTED and c.get_available_packet_count() == 0 and ust.n < 2:
				c.put_packet("hi".to_utf8_buffer())
		return ust.n >= 2, null, ucl), "UDPServer mode: handshakes and packets moved by receive_all alone (%d packets)" % ust.n)
	g.stop()
	udp_server.stop()


# A client sends one packet a frame while the game polls every frame: from
# the second packet on, poll() finds them in the socket (on Linux, where
# the socket can be read without waiting). Turned off, the packets still
# all arrive, in order, and poll() reads none.
func test_read_in_frame() -> void:
	var pair: Array = await connected_pair()
	var s: GoDTLSServer = pair[0]
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer == null:
		return
	var linux := OS.get_name() == "Linux"
	for on in [true, false]:
		s.read_in_frame = on
		var before: int = s.get_stats().read_in_frame
		var got: Array = []
		for i in 30:
			c.put_packet(("%d" % i).to_utf8_buffer())
			await wait_until(func() -> bool:
				while peer.get_available_packet_count() > 0:
					got.append(peer.get_packet().get_string_from_utf8())
				return got.size() > i, s, [c], 5.0)
		var want: Array = []
		for i in 30:
			want.append("%d" % i)
		check(got == want, "read_in_frame %s: the 30 packets arrived once and in order (%s)" % [on, got])
		var read: int = s.get_stats().read_in_frame - before
		if on and linux:
			check(read > 0, "read_in_frame on: poll() read some of the 30 datagrams itself (%d)" % read)
		elif not on:
			check(read == 0, "read_in_frame off: poll() read none (%d)" % read)
	s.stop()


func test_idle_timeout() -> void:
	var s := GoDTLSServer.new()
	s.setup(TLSOptions.server(rsa_key, rsa_cert))
	s.idle_timeout = 0.5
	s.listen(0, "127.0.0.1")
	var reasons: Array = []
	s.peer_disconnected.connect(func(_p: GoDTLSPeer, r: String) -> void: reasons.append(r))
	var c := new_client(s.get_local_port())
	await wait_until(all_connected([c]), s, [c])
	check(await wait_until(func() -> bool: return reasons.size() == 1, s, [c]), "idle peer reported")
	check(reasons.size() == 1 and "idle" in reasons[0], "reason names the idle timeout: %s" % [reasons])
	# Whether the mbedTLS client also sees this close_notify is not checked
	# here: it failed once in about ten suite runs (open work, see the issue
	# note). close_notify delivery is checked by disconnect_from_peer and stop.
	s.stop()


func test_disconnect_from_peer() -> void:
	var pair := await connected_pair()
	var s: GoDTLSServer = pair[0]
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer == null:
		return
	# a goodbye sent just before the disconnect arrives before the close_notify,
	# as with PacketPeerDTLS, whose put_packet writes at once
	for i in 5:
		peer.put_packet(("goodbye %d" % i).to_utf8_buffer())
	peer.disconnect_from_peer()
	check(peer.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, "server side disconnected")
	check(peer.put_packet("too late".to_utf8_buffer()) != OK_, "put_packet refused once disconnected")
	var got: Array[String] = []
	check(await wait_until(func() -> bool:
		while c.get_status() == PacketPeerDTLS.STATUS_CONNECTED and c.get_available_packet_count() > 0:
			got.append(c.get_packet().get_string_from_utf8())
		return c.get_status() == PacketPeerDTLS.STATUS_DISCONNECTED, s, [c]), "client got close_notify")
	check(got == ["goodbye 0", "goodbye 1", "goodbye 2", "goodbye 3", "goodbye 4"], "the goodbyes arrived before the close_notify: %s" % [got])
	s.stop()

	# the same in UDPServer mode, where put_packet encrypts and sends at once
	var udp_server := UDPServer.new()
	udp_server.listen(0, "127.0.0.1")
	var g := GoDTLSServer.new()
	g.setup(TLSOptions.server(rsa_key, rsa_cert))
	var uc := new_client(udp_server.get_local_port())
	var held: Array = []
	check(await wait_until(func() -> bool:
		udp_server.poll()
		while udp_server.is_connection_available():
			held.append(g.take_connection(udp_server.take_connection()))
		for p in held:
			p.poll()
		return uc.get_status() == PacketPeerDTLS.STATUS_CONNECTED and held.size() == 1 and held[0].get_status() == GoDTLSPeer.STATUS_CONNECTED, null, [uc]),
		"UDPServer mode: a client connected")
	if held.size() == 1:
		var up: GoDTLSPeer = held[0]
		for i in 5:
			up.put_packet(("goodbye %d" % i).to_utf8_buffer())
		var t0 := Time.get_ticks_usec()
		up.disconnect_from_peer() # waits for the library to encrypt the 5
		print("  measured: disconnect_from_peer() in UDPServer mode, 5 packets queued before it: %d µs" % (Time.get_ticks_usec() - t0))
		var ugot: Array[String] = []
		check(await wait_until(func() -> bool:
			while uc.get_status() == PacketPeerDTLS.STATUS_CONNECTED and uc.get_available_packet_count() > 0:
				ugot.append(uc.get_packet().get_string_from_utf8())
			return uc.get_status() == PacketPeerDTLS.STATUS_DISCONNECTED, null, [uc]), "UDPServer mode: the client got the close_notify")
		check(ugot == ["goodbye 0", "goodbye 1", "goodbye 2", "goodbye 3", "goodbye 4"], "UDPServer mode: the goodbyes arrived before the close_notify: %s" % [ugot])
	g.stop()
	udp_server.stop()


# Five peers that end at once reach the game two per poll() with
# max_disconnects_per_poll = 2, oldest first, every one of them; their
# status says DISCONNECTED before their signal comes. With 0, all in one;
# with a handler that takes 20 ms and disconnect_budget_ms = 5, one per
# poll.
func test_disconnect_burst_spread() -> void:
	var s := rsa_server()
	check_end_pacing_properties(s)
	s.read_in_frame = false # the ends are read while the test does not poll
	# [max_disconnects_per_poll, disconnect_budget_ms, the handler's ms, ends per poll]
	for run in [[2, 0.0, 0, [2, 2, 1, 0, 0]], [0, 0.0, 0, [5, 0, 0, 0, 0]], [0, 5.0, 20, [1, 1, 1, 1, 1]]]:
		var limit: int = run[0]
		s.max_disconnects_per_poll = limit
		s.disconnect_budget_ms = run[1]
		var clients: Array = []
		for i in 5:
			clients.append(new_client(s.get_local_port()))
		check(await wait_until(all_connected(clients), s, clients, 60.0), "limit %d: 5 clients connected" % limit)
		var peers := await take_all(s, clients, 5)
		check(peers.size() == 5, "limit %d: 5 peers taken" % limit)
		var ended: Array = []
		var handler_ms: int = run[2]
		s.peer_disconnected.connect(func(p: GoDTLSPeer, _reason: String) -> void:
			ended.append(p)
			OS.delay_msec(handler_ms))
		for c in clients:
			c.disconnect_from_peer()
		check(await wait_until(func() -> bool:
			for p in peers:
				if p.get_status() != GoDTLSPeer.STATUS_DISCONNECTED:
					return false
			return true, null, []), "limit %d: every peer's status is DISCONNECTED before poll()" % limit)
		# a peer's status changes just before its end is queued
		await runner.create_timer(0.3).timeout
		var counts := per_poll(s.poll, ended, 5)
		check(counts == run[3], "limit %d, budget %.0f ms: peer_disconnected per poll() %s, want %s" % [limit, run[1], counts, run[3]])
		check(each_once(ended, peers), "limit %d: each of the 5 peers' peer_disconnected came once" % limit)
		for conn in s.peer_disconnected.get_connections():
			s.peer_disconnected.disconnect(conn.callable)
	s.stop()
