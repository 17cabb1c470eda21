# Headless test suite for GoDTLSServer / GoDTLSPeer, with Godot's own
# PacketPeerDTLS (mbedTLS) as the client. Run by tests/run.sh:
#   godot --headless --path godot_project -s res://tests/run_tests.gd
# Prints one line per test and closes with "N passed, N failed".
extends SceneTree

const OK_ := 0
const ERR_UNAVAILABLE_ := 2
const ERR_UNCONFIGURED_ := 3
const ERR_ALREADY_IN_USE_ := 22
const ERR_INVALID_DATA_ := 30
const ERR_INVALID_PARAMETER_ := 31

var tests_passed := 0
var tests_failed := 0
var test_name := ""
var test_ok := true
var test_skipped := ""
var tests_skipped := 0

var rsa_key: CryptoKey
var rsa_cert: X509Certificate
var ec_key_pem := ""
var ec_cert_pem := ""

# Kept alive until the engine quits: the last test leaves live connections.
var keep_server: GoDTLSServer
var keep_clients: Array = []
var keep_go_client: GoDTLSClient
var keep_mp: Array = []


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	var crypto := Crypto.new()
	rsa_key = crypto.generate_rsa(2048)
	rsa_cert = crypto.generate_self_signed_certificate(rsa_key, "CN=localhost,O=GoDTLS tests,C=US")
	ec_key_pem = FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_key.pem")
	ec_cert_pem = FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_cert.pem")

	begin("class registration and enum"); await test_classes(); end()
	begin("setup errors"); await test_setup_errors(); end()
	begin("listen errors"); await test_listen_errors(); end()
	begin("RSA TLSOptions: connect, signals, packets, vars"); await test_rsa_roundtrip(); end()
	begin("ECDSA PEM setup_pem"); await test_ecdsa_pem(); end()
	begin("PSK setup"); await test_psk_setup(); end()
	begin("properties"); await test_properties(); end()
	begin("oversize packet keeps the connection"); await test_oversize(); end()
	begin("50 clients"); await test_fifty_clients(); end()
	begin("broadcast with exclude"); await test_broadcast(); end()
	begin("receive_all: listen and take_connection(udp_peer) modes"); await test_receive_all(); end()
	begin("idle timeout"); await test_idle_timeout(); end()
	begin("disconnect_from_peer"); await test_disconnect_from_peer(); end()
	begin("handshake_failed signal"); await test_handshake_failed(); end()
	begin("stop with live peers"); await test_stop(); end()
	begin("peer outlives its server"); await test_peer_outlives_server(); end()
	begin("untyped calls and defaults"); await test_untyped_calls(); end()
	begin("call cost of get_packet / put_packet"); await test_call_cost(); end()
	begin("drop-in: DTLSServer docs example, 20 clients"); await test_dropin_doc_example(); end()
	begin("drop-in: mixing modes and bad udp_peer"); await test_dropin_errors(); end()
	begin("drop-in: main-thread cost of 50 joins, RSA-4096, vs DTLSServer"); await test_join_cost(); end()
	begin("client: class, enum, arguments, properties"); await test_client_api(); end()
	begin("client: trusted chain + hostname, packets, vars, certificate"); await test_client_certificate(); end()
	begin("client: hostname mismatch"); await test_client_hostname_mismatch(); end()
	begin("client: unknown authority"); await test_client_unknown_ca(); end()
	begin("client: expired certificate, server alert"); await test_client_expired_and_alert(); end()
	begin("client: PSK, wrong key, unknown identity"); await test_client_psk(); end()
	begin("client: port unreachable, timeout, DNS failure"); await test_client_unreachable(); end()
	begin("client: server stops, client freed mid-handshake"); await test_client_endings(); end()
	begin("client: openssl s_server with PSK"); await test_client_openssl(); end()
	begin("multiplayer: class, defaults, bad arguments"); await test_mp_api(); end()
	begin("multiplayer: server and client peers, modes, channels, get_server, reasons"); await test_mp_pair(); end()
	begin("multiplayer: PSK, full server, refused connections"); await test_mp_psk_and_refusals(); end()
	begin("quit with live connections (set up)"); await test_quit_setup(); end()

	if tests_skipped > 0:
		print("########## %d SKIPPED (not counted as passed) ##########" % tests_skipped)
	print("%d passed, %d failed" % [tests_passed, tests_failed])
	quit(0 if tests_failed == 0 else 1)


# ---- harness -----------------------------------------------------------------

func begin(name: String) -> void:
	test_name = name
	test_ok = true
	test_skipped = ""


# skip marks the running test as not run (a missing external tool): it is
# reported loudly and never counted as passed; in CI it fails.
func skip(why: String) -> void:
	if OS.get_environment("CI") != "":
		check(false, "CI must provide this: " + why)
	else:
		test_skipped = why


func end() -> void:
	if test_skipped != "" and test_ok:
		tests_skipped += 1
		print("SKIPPED  ", test_name, ": ", test_skipped)
	elif test_ok:
		tests_passed += 1
		print("PASS  ", test_name)
	else:
		tests_failed += 1
		print("FAIL  ", test_name)


func check(cond: bool, what: String) -> void:
	if not cond:
		test_ok = false
		print("  check failed in '%s': %s" % [test_name, what])


# Polls the server and clients every frame until cond holds or timeout_s
# passes (a guard against hanging, not a performance assertion).
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


# ---- tests -------------------------------------------------------------------

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
	# The largest inline Variants (40 bytes in double-precision engines) pass
	# through the binding's own Variant storage here.
	check(s.setup_psk({"id": Vector4(1, 2, 3, 4)}) == ERR_INVALID_PARAMETER_, "setup_psk with a Vector4 key")
	check(s.setup_psk({Plane(1, 2, 3, 4): PackedByteArray([1])}) == ERR_INVALID_PARAMETER_, "setup_psk with a Plane identity")
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "setup after failures")
	check(s.setup(TLSOptions.server(rsa_key, rsa_cert)) == ERR_ALREADY_IN_USE_, "setup twice -> ERR_ALREADY_IN_USE")
	check(s.setup_pem(ec_key_pem, ec_cert_pem) == ERR_ALREADY_IN_USE_, "setup_pem after setup")


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


func test_psk_setup() -> void:
	# Godot's PacketPeerDTLS has no PSK support, so the PSK handshake itself is
	# tested in Go with OpenSSL and GnuTLS clients; here: the GDScript API.
	var s := GoDTLSServer.new()
	check(s.setup_psk({"player-1": PackedByteArray([1, 2, 3, 4])}, "game") == OK_, "setup_psk")
	check(s.setup_psk({"x": PackedByteArray([1])}) == ERR_ALREADY_IN_USE_, "setup_psk twice")
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
	check(s.max_peer_bytes_per_second == 2097152, "max_peer_bytes_per_second default")
	s.max_peer_bytes_per_second = 100
	check(s.max_peer_bytes_per_second == 2097152, "a byte budget under 16384 is refused")
	s.max_peer_bytes_per_second = 0
	check(s.max_peer_bytes_per_second == 0, "max_peer_bytes_per_second 0 turns it off")
	var keys := s.get_stats()
	for k in ["post_handshake_dropped", "auth_failed", "over_rate"]:
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


func test_fifty_clients() -> void:
	var s := rsa_server()
	var clients: Array = []
	for i in 50:
		clients.append(new_client(s.get_local_port()))
	check(await wait_until(all_connected(clients), s, clients, 60.0), "50 clients connected")
	var peers: Array = []
	await wait_until(func() -> bool:
		var p := s.take_connection()
		while p:
			peers.append(p)
			p = s.take_connection()
		return peers.size() == 50, s, clients)
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
	peer.disconnect_from_peer()
	check(peer.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, "server side disconnected")
	check(await wait_until(func() -> bool: return c.get_status() == PacketPeerDTLS.STATUS_DISCONNECTED, s, [c]), "client got close_notify")
	s.stop()


func test_handshake_failed() -> void:
	var s := GoDTLSServer.new()
	s.setup(TLSOptions.server(rsa_key, rsa_cert))
	s.handshake_timeout = 0.5
	s.listen(0, "127.0.0.1")
	var failures: Array = []
	s.handshake_failed.connect(func(ip: String, port: int, reason: String) -> void: failures.append([ip, port, reason]))
	# A client that never answers the HelloVerifyRequest has not shown it
	# owns its address (it may be forged): counted, never signalled.
	# Its ClientHello is captured from a PacketPeerDTLS talking to a local
	# sink and sent from another socket that never reads: an address that
	# cannot echo a cookie, as a forged one. (A PacketPeerDTLS itself may
	# answer the HelloVerifyRequest inside connect_to_peer on loopback.)
	var sink := PacketPeerUDP.new()
	sink.bind(0, "127.0.0.1")
	var probe_udp := PacketPeerUDP.new()
	probe_udp.connect_to_host("127.0.0.1", sink.get_local_port())
	var probe := PacketPeerDTLS.new()
	probe.connect_to_peer(probe_udp, "localhost", TLSOptions.client_unsafe())
	check(await wait_until(func() -> bool: return sink.get_available_packet_count() > 0, null, []), "captured a ClientHello")
	var liar := PacketPeerUDP.new()
	liar.connect_to_host("127.0.0.1", s.get_local_port())
	liar.put_packet(sink.get_packet())
	check(await wait_until(func() -> bool: return s.get_stats().get("handshakes_failed", 0) >= 1, s, []), "the unverified attempt timed out")
	check(failures.is_empty(), "no handshake_failed for an address that never echoed its cookie")
	# A client that echoes its cookie and then stops answering is reported.
	# A PacketPeerDTLS talks to the server through a relay this test moves
	# datagrams through by hand: its ClientHello, the HelloVerifyRequest and
	# the ClientHello with the cookie, then nothing more. (Polling the
	# client "once" instead raced: on loopback connect_to_peer may answer the
	# HelloVerifyRequest itself, and that one poll then finished the
	# handshake.)
	var client_side := PacketPeerUDP.new()
	client_side.bind(0, "127.0.0.1")
	var relay := PacketPeerUDP.new()
	relay.connect_to_host("127.0.0.1", s.get_local_port())
	var udp := PacketPeerUDP.new()
	udp.connect_to_host("127.0.0.1", client_side.get_local_port())
	var c := PacketPeerDTLS.new()
	c.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
	check(await wait_until(func() -> bool: return client_side.get_available_packet_count() > 0, null, []), "the client's ClientHello")
	relay.put_packet(client_side.get_packet())
	client_side.set_dest_address(client_side.get_packet_ip(), client_side.get_packet_port())
	check(await wait_until(func() -> bool: return relay.get_available_packet_count() > 0, s, []), "the HelloVerifyRequest")
	client_side.put_packet(relay.get_packet())
	check(await wait_until(func() -> bool: return client_side.get_available_packet_count() > 0, s, [c]), "the ClientHello with the cookie")
	while client_side.get_available_packet_count() > 0:
		relay.put_packet(client_side.get_packet())
	check(await wait_until(func() -> bool: return failures.size() > 0, s, []), "handshake_failed emitted (client status %d, stats %s)" % [c.get_status(), s.get_stats()])
	if failures.size() > 0:
		check(failures[0][0] == "127.0.0.1" and failures[0][1] > 0, "address and port: %s" % [failures[0]])
		check(failures[0][2] != "", "a reason: %s" % failures[0][2])
	check(s.get_stats().get("handshakes_failed", 0) >= 2, "both counted")
	s.stop()


func test_stop() -> void:
	var s := rsa_server()
	var clients: Array = [new_client(s.get_local_port()), new_client(s.get_local_port())]
	await wait_until(all_connected(clients), s, clients)
	s.stop()
	s.stop()
	check(not s.is_listening(), "not listening after stop")
	check(await wait_until(func() -> bool:
		return clients[0].get_status() == PacketPeerDTLS.STATUS_DISCONNECTED and clients[1].get_status() == PacketPeerDTLS.STATUS_DISCONNECTED, null, clients), "clients got close_notify")
	check(s.listen(0, "127.0.0.1") == OK_, "listen again after stop")
	s.stop()


# Connects one client and queues one packet on the peer; the server exists
# only inside this function, so it is freed when the function returns.
func peer_of_a_dying_server(wr: Array) -> Array:
	var s := rsa_server()
	wr.append(weakref(s))
	var c := new_client(s.get_local_port())
	await wait_until(all_connected([c]), s, [c])
	var peer := await take(s, [c])
	if peer:
		c.put_packet("kept".to_utf8_buffer())
		await wait_until(func() -> bool: return peer.get_available_packet_count() == 1, s, [c])
	return [peer, c]


func test_peer_outlives_server() -> void:
	var wr: Array = []
	var pc: Array = await peer_of_a_dying_server(wr)
	var peer: GoDTLSPeer = pc[0]
	if peer == null:
		check(false, "no peer")
		return
	await process_frame
	check(wr[0].get_ref() == null, "the server object was freed")
	check(peer.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, "peer disconnected with its server")
	check(peer.get_packet().get_string_from_utf8() == "kept", "a packet received before is still readable")
	check(peer.put_packet(PackedByteArray([1])) != OK_, "put_packet refused")
	check(peer.get_stats() is Dictionary, "stats still readable")


func test_untyped_calls() -> void:
	var s: Variant = GoDTLSServer.new()
	check(s.call("setup_pem", ec_key_pem, ec_cert_pem) == OK_, "call() setup_pem")
	check(s.call("listen", 0) == OK_, "call() listen with the default bind address")
	check(s.call("get_local_port") > 0, "call() get_local_port")
	check(s.call("take_connection") == null, "call() take_connection with the default argument")
	check(s.call("broadcast", PackedByteArray([1])) == 0, "call() broadcast with no peers")
	check(s.callv("get_stats", []) is Dictionary, "callv get_stats")
	s.call("stop")


func test_call_cost() -> void:
	var pair := await connected_pair()
	var s: GoDTLSServer = pair[0]
	var c: PacketPeerDTLS = pair[1]
	var peer: GoDTLSPeer = pair[2]
	if peer == null:
		return
	var pkt := PackedByteArray()
	pkt.resize(64)
	var n := 2000
	var t0 := Time.get_ticks_usec()
	for i in n:
		peer.put_packet(pkt)
	var put_ns := float(Time.get_ticks_usec() - t0) * 1000.0 / n
	s.max_peers = s.max_peers # no-op: keeps s used
	for i in 500:
		c.put_packet(pkt)
	await wait_until(func() -> bool: return peer.get_available_packet_count() == 500, s, [c])
	check(peer.get_available_packet_count() == 500, "500 packets queued (%d)" % peer.get_available_packet_count())
	t0 = Time.get_ticks_usec()
	var got := 0
	while peer.get_available_packet_count() > 0:
		got += peer.get_packet().size()
	var get_ns := float(Time.get_ticks_usec() - t0) * 1000.0 / 500.0
	check(got == 500 * 64, "all bytes read")
	print("  measured: put_packet %.0f ns/call (64 B, encrypt + send), get_packet %.0f ns/call (64 B, from the queue)" % [put_ns, get_ns])
	s.stop()


func test_dropin_doc_example() -> void:
	var srv: Node = load("res://tests/dropin/server_node.gd").new()
	srv.key = rsa_key
	srv.cert = rsa_cert
	root.add_child(srv)
	var clients: Array = []
	for i in 20:
		var c: Node = load("res://tests/dropin/client_node.gd").new()
		c.port = srv.port
		root.add_child(c)
		clients.append(c)
	var all_answered := func() -> bool:
		for c in clients:
			if c.answers < 1:
				return false
		return true
	check(await wait_until(all_answered, null, [], 60.0), "every client got an answer")
	check(srv.received >= 20, "server received %d messages" % srv.received)
	check(srv.not_handshaking == 0, "take_connection results not HANDSHAKING for genuine clients: %d (want 0)" % srv.not_handshaking)
	check(srv.peers.size() == 20, "one GoDTLSPeer per client: %d" % srv.peers.size())
	# they leave
	for c in clients:
		c.dtls.disconnect_from_peer()
	var all_gone := func() -> bool:
		for p in srv.peers:
			p.poll()
			if p.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
				return false
		return true
	check(await wait_until(all_gone, null, [], 20.0), "server saw every client leave")
	for c in clients:
		c.queue_free()
	srv.queue_free()
	await process_frame


func test_dropin_errors() -> void:
	var s := GoDTLSServer.new()
	var lone := PacketPeerUDP.new()
	check(s.take_connection(lone) == null, "take_connection before setup -> null")
	s.setup(TLSOptions.server(rsa_key, rsa_cert))
	check(s.take_connection(lone) == null, "an unconnected PacketPeerUDP is refused")
	var udp_server := UDPServer.new()
	udp_server.listen(0, "127.0.0.1")
	var c := new_client(udp_server.get_local_port())
	var taken: Array = []
	await wait_until(func() -> bool:
		udp_server.poll()
		if udp_server.is_connection_available():
			taken.append(udp_server.take_connection())
		return not taken.is_empty(), null, [c])
	var p := s.take_connection(taken[0])
	check(p != null and p.get_status() == GoDTLSPeer.STATUS_HANDSHAKING, "attached peer is HANDSHAKING")
	check(s.listen(0) == ERR_ALREADY_IN_USE_, "listen() refused while UDPServer peers are attached")
	s.stop()
	udp_server.stop()


func run_join_cost(use_go: bool, key: CryptoKey, cert: X509Certificate) -> Array:
	var n: Node = load("res://tests/dropin/join_cost.gd").new()
	n.use_go = use_go
	n.key = key
	n.cert = cert
	root.add_child(n)
	var ok := await wait_until(func() -> bool: return n.connected == n.clients, null, [], 120.0)
	var result := [ok, n.worst_usec]
	n.queue_free()
	await process_frame
	return result


func test_join_cost() -> void:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(4096)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost,O=GoDTLS tests,C=US")
	var builtin := await run_join_cost(false, key, cert)
	var go := await run_join_cost(true, key, cert)
	check(builtin[0], "all 50 joined DTLSServer")
	check(go[0], "all 50 joined GoDTLSServer")
	print("  measured: longest server-side frame section during 50 joins (RSA-4096): DTLSServer %.1f ms, GoDTLSServer %.1f ms" % [builtin[1] / 1000.0, go[1] / 1000.0])
	# Reported, not asserted: a test never asserts a wall-clock time. The
	# benchmark scenes compare these across runs.


func test_quit_setup() -> void:
	keep_server = rsa_server()
	for i in 3:
		keep_clients.append(new_client(keep_server.get_local_port()))
	keep_go_client = GoDTLSClient.new()
	keep_go_client.connect_to_host("127.0.0.1", keep_server.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	keep_clients.append(keep_go_client)
	check(await wait_until(all_connected(keep_clients), keep_server, keep_clients), "4 live connections (one GoDTLSClient) left for quit")
	var pair := await mp_pair()
	check(pair.size() == 2, "a multiplayer server and client left connected for quit")
	keep_mp = pair


# ---- GoDTLSClient ------------------------------------------------------------

# Collects a client's signals: [connected count, failure reasons, disconnect reasons].
func watch(c: GoDTLSClient) -> Dictionary:
	var seen := {"connected": 0, "failed": [], "disconnected": []}
	c.connected.connect(func() -> void: seen.connected += 1)
	c.connection_failed.connect(func(reason: String) -> void: seen.failed.append(reason))
	c.disconnected.connect(func(reason: String) -> void: seen.disconnected.append(reason))
	return seen


func outcome(c: GoDTLSClient, seen: Dictionary, server: GoDTLSServer = null) -> bool:
	return await wait_until(func() -> bool: return seen.connected > 0 or not seen.failed.is_empty(), server, [c])


func expect_failure(c: GoDTLSClient, seen: Dictionary, status: int, words: String, server: GoDTLSServer = null) -> void:
	check(await outcome(c, seen, server), "an outcome arrived")
	check(seen.connected == 0 and seen.failed.size() == 1, "connection_failed once, never connected (%s)" % seen)
	check(c.get_status() == status, "status %d, want %d" % [c.get_status(), status])
	var reason: String = seen.failed[0] if not seen.failed.is_empty() else ""
	check(reason.contains(words), "reason %s mentions %s" % [reason, words])
	check(c.get_last_error() == reason, "get_last_error() is the reason")
	print("  reason: ", reason)


func test_client_api() -> void:
	check(ClassDB.class_exists("GoDTLSClient") and ClassDB.is_parent_class("GoDTLSClient", "PacketPeer"), "GoDTLSClient is a PacketPeer")
	check(GoDTLSClient.STATUS_CONNECTED == PacketPeerDTLS.STATUS_CONNECTED and GoDTLSClient.STATUS_ERROR == PacketPeerDTLS.STATUS_ERROR, "statuses match PacketPeerDTLS")
	check(GoDTLSClient.STATUS_ERROR_HOSTNAME_MISMATCH == PacketPeerDTLS.STATUS_ERROR_HOSTNAME_MISMATCH, "hostname mismatch status matches")
	var c := GoDTLSClient.new()
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED and c.get_last_error() == "", "a new client is idle")
	check(c.put_packet(PackedByteArray([1])) != OK_ and c.get_available_packet_count() == 0, "no traffic before connecting")
	check(c.get_peer_certificate() == null and c.get_stats().is_empty() and c.get_max_packet_size() == 0, "nothing known before connecting")
	check(is_equal_approx(c.handshake_timeout, 10.0), "handshake_timeout default 10")
	c.handshake_timeout = 0.0
	c.handshake_timeout = -3.0
	check(is_equal_approx(c.handshake_timeout, 10.0), "invalid timeouts refused")
	c.handshake_timeout = 2.5
	check(is_equal_approx(c.handshake_timeout, 2.5), "timeout set")
	check(c.connect_to_host("127.0.0.1", 0) == ERR_INVALID_PARAMETER_, "port 0")
	check(c.connect_to_host("127.0.0.1", 70000) == ERR_INVALID_PARAMETER_, "port out of range")
	check(c.connect_to_host("", 4433) == ERR_INVALID_PARAMETER_, "empty address")
	check(c.connect_to_host("127.0.0.1", 4433, "", TLSOptions.server(rsa_key, rsa_cert)) == ERR_INVALID_PARAMETER_, "server TLSOptions refused")
	check(c.connect_psk("127.0.0.1", 4433, "", PackedByteArray([1])) == ERR_INVALID_PARAMETER_, "empty identity")
	check(c.connect_psk("127.0.0.1", 4433, "id", PackedByteArray()) == ERR_INVALID_PARAMETER_, "empty key")
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, "refused calls leave it idle")


func test_client_certificate() -> void:
	var s := rsa_server()
	var c := GoDTLSClient.new()
	var seen := watch(c)
	# The certificate names "localhost" in its Common Name only, as Godot makes them.
	check(c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "connect_to_host")
	check(c.get_status() == GoDTLSClient.STATUS_HANDSHAKING, "handshaking right after the call")
	check(c.connect_to_host("127.0.0.1", s.get_local_port()) == ERR_ALREADY_IN_USE_, "a second connect while connecting")
	check(await outcome(c, seen, s) and seen.connected == 1, "connected signal (%s)" % seen)
	check(c.get_status() == GoDTLSClient.STATUS_CONNECTED, "status CONNECTED")
	var peer := await take(s, [c])
	if peer == null:
		return
	check(c.put_var({"hello": "server"}) == OK_, "put_var")
	check(await wait_until(func() -> bool: return peer.get_available_packet_count() > 0, s, [c]), "server got it")
	check(peer.get_var() == {"hello": "server"}, "server decoded it")
	peer.put_packet("one".to_utf8_buffer())
	peer.put_packet("two".to_utf8_buffer())
	check(await wait_until(func() -> bool: return c.get_available_packet_count() == 2, s, [c]), "client has 2 packets")
	check(c.get_packet().get_string_from_utf8() == "one" and c.get_packet().get_string_from_utf8() == "two", "in order")
	var cert := c.get_peer_certificate()
	check(cert != null and cert.save_to_string() == rsa_cert.save_to_string(), "get_peer_certificate is the server's")
	check(c.get_max_packet_size() > 1000, "max packet size %d" % c.get_max_packet_size())
	var st := c.get_stats()
	check(st.get("packets_out", 0) == 1 and st.get("packets_in", 0) == 2, "stats %s" % st)
	check(st.has("post_handshake_dropped") and st.has("auth_failed"), "client stats name the record guard's counters")
	c.disconnect_from_peer()
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, "disconnected at once")
	check(await wait_until(func() -> bool: return peer.get_status() == GoDTLSPeer.STATUS_DISCONNECTED, s, [c]), "server saw the close_notify")
	check(c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "reconnect after disconnect")
	seen.connected = 0
	check(await outcome(c, seen, s) and seen.connected == 1, "connected again")
	s.stop()


func test_client_hostname_mismatch() -> void:
	var s := rsa_server()
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_to_host("127.0.0.1", s.get_local_port(), "game.example", TLSOptions.client(rsa_cert))
	await expect_failure(c, seen, GoDTLSClient.STATUS_ERROR_HOSTNAME_MISMATCH, "host name", s)
	s.stop()


func test_client_unknown_ca() -> void:
	var s := rsa_server()
	var crypto := Crypto.new()
	var other := crypto.generate_self_signed_certificate(crypto.generate_rsa(2048), "CN=localhost")
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(other))
	await expect_failure(c, seen, GoDTLSClient.STATUS_ERROR, "trusted authority", s)
	# client_unsafe() skips verification, as with PacketPeerDTLS
	var u := GoDTLSClient.new()
	var useen := watch(u)
	u.connect_to_host("127.0.0.1", s.get_local_port(), "", TLSOptions.client_unsafe())
	check(await outcome(u, useen, s) and useen.connected == 1, "client_unsafe connects")
	s.stop()


func test_client_expired_and_alert() -> void:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var old := crypto.generate_self_signed_certificate(key, "CN=localhost", "20200101000000", "20210101000000")
	var s := GoDTLSServer.new()
	check(s.setup(TLSOptions.server(key, old)) == OK_, "the server takes an expired certificate (with a warning)")
	check(s.listen(0, "127.0.0.1") == OK_, "listen")
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(old))
	await expect_failure(c, seen, GoDTLSClient.STATUS_ERROR, "expired", s)
	s.stop()
	# a PSK-only server and a certificate client share no cipher suite: the
	# server answers with a fatal alert
	var p := GoDTLSServer.new()
	p.setup_psk({"id": PackedByteArray([1, 2, 3, 4])})
	p.listen(0, "127.0.0.1")
	var a := GoDTLSClient.new()
	var aseen := watch(a)
	a.connect_to_host("127.0.0.1", p.get_local_port(), "", TLSOptions.client_unsafe())
	await expect_failure(a, aseen, GoDTLSClient.STATUS_ERROR, "alert", p)
	p.stop()


func test_client_psk() -> void:
	var key := "0123456789abcdef".to_utf8_buffer()
	var s := GoDTLSServer.new()
	check(s.setup_psk({"player-1": key}) == OK_ and s.listen(0, "127.0.0.1") == OK_, "PSK server")
	var c := GoDTLSClient.new()
	var seen := watch(c)
	check(c.connect_psk("127.0.0.1", s.get_local_port(), "player-1", key) == OK_, "connect_psk")
	check(await outcome(c, seen, s) and seen.connected == 1, "PSK connected (%s)" % seen)
	var peer := await take(s, [c])
	if peer:
		check(peer.get_psk_identity() == "player-1", "server knows the identity")
		c.put_packet("psk".to_utf8_buffer())
		check(await wait_until(func() -> bool: return peer.get_available_packet_count() == 1, s, [c]), "packet over PSK")
	check(c.get_peer_certificate() == null, "no certificate with PSK")
	var wrong := GoDTLSClient.new()
	wrong.handshake_timeout = 3.0
	var wseen := watch(wrong)
	wrong.connect_psk("127.0.0.1", s.get_local_port(), "player-1", "another key 0123".to_utf8_buffer())
	await expect_failure(wrong, wseen, GoDTLSClient.STATUS_ERROR, "pre-shared key", s)
	var stranger := GoDTLSClient.new()
	var sseen := watch(stranger)
	stranger.connect_psk("127.0.0.1", s.get_local_port(), "stranger", key)
	await expect_failure(stranger, sseen, GoDTLSClient.STATUS_ERROR, "PSK identity", s)
	s.stop()


func test_client_unreachable() -> void:
	var probe := UDPServer.new()
	probe.listen(0, "127.0.0.1")
	var closed_port := probe.get_local_port()
	probe.stop()
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_to_host("127.0.0.1", closed_port, "", TLSOptions.client_unsafe())
	await expect_failure(c, seen, GoDTLSClient.STATUS_ERROR, "unreachable")
	# a socket that reads and never answers
	var silent := UDPServer.new()
	silent.listen(0, "127.0.0.1")
	var t := GoDTLSClient.new()
	t.handshake_timeout = 1.5
	var tseen := watch(t)
	t.connect_to_host("127.0.0.1", silent.get_local_port(), "", TLSOptions.client_unsafe())
	await expect_failure(t, tseen, GoDTLSClient.STATUS_ERROR, "did not answer in time")
	silent.stop()
	var d := GoDTLSClient.new()
	d.handshake_timeout = 5.0
	var dseen := watch(d)
	check(d.connect_to_host("no-such-host.invalid", 4433, "", TLSOptions.client_unsafe()) == OK_, "a name is resolved in the background")
	await expect_failure(d, dseen, GoDTLSClient.STATUS_ERROR, "could not be resolved")


func test_client_endings() -> void:
	var s := rsa_server()
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	check(await outcome(c, seen, s) and seen.connected == 1, "connected")
	var peer := await take(s, [c])
	if peer:
		peer.put_packet("last words".to_utf8_buffer())
		check(await wait_until(func() -> bool: return c.get_available_packet_count() == 1, s, [c]), "a packet waits unread")
	s.stop()
	check(await wait_until(func() -> bool: return not seen.disconnected.is_empty(), null, [c]), "disconnected signal")
	check(seen.disconnected.size() == 1 and seen.disconnected[0].contains("closed"), "reason %s" % [seen.disconnected])
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, "status DISCONNECTED")
	check(c.get_packet().get_string_from_utf8() == "last words", "nothing received is lost")
	# freed while the handshake waits on a silent socket: no crash, no leak
	var silent := UDPServer.new()
	silent.listen(0, "127.0.0.1")
	var doomed := GoDTLSClient.new()
	doomed.connect_to_host("127.0.0.1", silent.get_local_port(), "", TLSOptions.client_unsafe())
	await process_frame
	doomed = null
	await process_frame
	silent.stop()
	check(true, "freed mid-handshake")


# A server Godot does not own: openssl s_server with a pre-shared key,
# which neither PacketPeerDTLS nor TLSOptions can speak.
func test_client_openssl() -> void:
	var openssl := ""
	for p in ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]:
		if FileAccess.file_exists(p):
			openssl = p
	if openssl == "":
		skip("openssl not found")
		return
	var probe := UDPServer.new()
	probe.listen(0, "127.0.0.1")
	var port := probe.get_local_port()
	probe.stop()
	var key := "0123456789abcdef".to_utf8_buffer()
	var proc := OS.execute_with_pipe(openssl, ["s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % port, "-nocert",
			"-psk", key.hex_encode(), "-psk_identity", "player-1", "-cipher", "PSK-CHACHA20-POLY1305"], false)
	check(proc.has("pid"), "openssl started")
	if not proc.has("pid"):
		return
	var out: FileAccess = proc.stdio
	var text := {"s": ""}
	var read_out := func() -> void:
		var chunk := out.get_buffer(4096)
		text.s += chunk.get_string_from_utf8()
	await wait_until(func() -> bool:
		read_out.call()
		return text.s.contains("ACCEPT"), null, [])
	var c := GoDTLSClient.new()
	var seen := watch(c)
	c.connect_psk("127.0.0.1", port, "player-1", key)
	check(await outcome(c, seen) and seen.connected == 1, "connected to openssl (%s)" % seen)
	c.put_packet("hello openssl\n".to_utf8_buffer())
	check(await wait_until(func() -> bool:
		read_out.call()
		return text.s.contains("hello openssl"), null, [c]), "openssl printed our packet")
	out.store_string("hello godot\n")
	out.flush()
	check(await wait_until(func() -> bool: return c.get_available_packet_count() > 0, null, [c]), "openssl's line arrived")
	check(c.get_packet().get_string_from_utf8().contains("hello godot"), "payload")
	c.disconnect_from_peer()
	OS.kill(proc.pid)


# ---- GoDTLSMultiplayerPeer ---------------------------------------------------

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
	srv.stop()
	check(srv.is_listening(), "stop() through get_server() is refused")
	p.close()
	check(p.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED and p.get_unique_id() == 0, "closed")
	taken.stop()


# Returns [server, client] connected to each other, polled by hand.
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
	check(r.get_close_reason().contains("refuses"), "reason: %s" % r.get_close_reason())
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
