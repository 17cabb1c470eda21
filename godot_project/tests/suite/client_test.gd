# GoDTLSClient.
# One area of the engine suite (tests/run_tests.gd runs every area in order).
extends "res://tests/suite/case.gd"

const GoReadableCert = preload("res://demo/go_readable_cert.gd")


func cases() -> Array:
	return [
		["client: class, enum, arguments, properties", test_client_api],
		["client: trusted chain + hostname, packets, vars, certificate", test_client_certificate],
		["client: hostname mismatch", test_client_hostname_mismatch],
		["client: unknown authority", test_client_unknown_ca],
		["certificate reload on a listening server (and through get_server())", test_certificate_reload],
		["client: expired certificate, server alert", test_client_expired_and_alert],
		["client: PSK, wrong key, unknown identity", test_client_psk],
		["client: port unreachable, timeout, DNS failure", test_client_unreachable],
		["client: server stops, client freed mid-handshake", test_client_endings],
		["client: a handler that connects again hears nothing more of the old connection", test_client_reconnect_in_handler],
		["client: openssl s_server with PSK", test_client_openssl],
		["client: Godot's own DTLSServer, packets both ways, its close", test_client_godot_dtls_server],
		["client: a server that vanishes without a word: unreachable after several reports, never one", test_client_server_vanishes],
	]


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
	# a trusted chain that never loaded: taken as no chain, it would trust
	# the system's roots (or, unsafe, anything) where the game meant its own
	var unloaded := X509Certificate.new()
	check(c.connect_to_host("127.0.0.1", 4433, "localhost", TLSOptions.client(unloaded)) == ERR_INVALID_PARAMETER_, "a trusted chain with no certificate refused")
	check(c.connect_to_host("127.0.0.1", 4433, "", TLSOptions.client_unsafe(unloaded)) == ERR_INVALID_PARAMETER_, "the same with client_unsafe() refused")
	check(c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, "no attempt started")
	var mp := GoDTLSMultiplayerPeer.new()
	check(mp.create_client("127.0.0.1", 4433, "localhost", TLSOptions.client(unloaded)) == ERR_INVALID_PARAMETER_, "the multiplayer client refuses it too")
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
	check(st.has("post_handshake_dropped") and st.has("replayed") and st.has("auth_failed"), "client stats name the record guard's counters")
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
	var other := GoReadableCert.make(crypto, crypto.generate_rsa(2048), "CN=localhost")
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
	var old := GoReadableCert.make(crypto, key, "CN=localhost", "20200101000000", "20210101000000")
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
	# On Windows too: the client's socket switches port-unreachable
	# reports back on (Go's and Godot's sockets have them off there).
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
	check(await wait_until(func() -> bool:
		silent.poll()
		return silent.is_connection_available(), null, []), "the client's ClientHello reached the silent socket: the handshake is under way")
	var gone: WeakRef = weakref(doomed)
	doomed = null
	await process_frame
	check(gone.get_ref() == null, "the client was freed mid-handshake (the monitors case checks that nothing of it stays)")
	silent.stop()


# The old connection connected and was closed by its server before the
# game polled; the connected handler moves to another server. Its poll
# must not go on to emit the old connection's end: signals name no
# connection, and the game would take it for the new one's.
func test_client_reconnect_in_handler() -> void:
	var s := rsa_server()
	var s2 := rsa_server()
	var port2 := s2.get_local_port()
	var c := GoDTLSClient.new()
	var cw: WeakRef = weakref(c) # a lambda holding c, connected to c, would be a cycle
	var heard: Array = []
	c.connected.connect(func() -> void:
		heard.append("connected")
		if heard.size() == 1:
			var client: GoDTLSClient = cw.get_ref()
			client.disconnect_from_peer()
			check(client.connect_to_host("127.0.0.1", port2, "localhost", TLSOptions.client(rsa_cert)) == OK_, "connect_to_host from the handler"))
	c.disconnected.connect(func(reason: String) -> void: heard.append("disconnected: " + reason))
	c.connection_failed.connect(func(reason: String) -> void: heard.append("failed: " + reason))
	c.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	# both events wait: the client is not polled until both happened
	check(await wait_until(func() -> bool: return c.get_status() == GoDTLSClient.STATUS_CONNECTED, s, []), "connected, not yet polled")
	s.stop()
	check(await wait_until(func() -> bool: return c.get_status() == GoDTLSClient.STATUS_DISCONNECTED, null, []), "closed by its server, not yet polled")
	check(await wait_until(func() -> bool: return heard.size() >= 2, s2, [c]), "the new connection's outcome arrived")
	check(heard == ["connected", "connected"], "after the handler's new connection, only its signals: %s" % [heard])
	check(c.get_status() == GoDTLSClient.STATUS_CONNECTED, "connected to the second server")
	c.disconnect_from_peer()
	s2.stop()


# Godot's own DTLSServer on a UDPServer (mbedTLS, run on this thread), and
# c connected to it:
# {"udp": the UDPServer, "serve": a Callable that polls both and takes the
# connection, "held": {"peer": the server's PacketPeerDTLS once taken}}.
func connect_to_godot_dtls_server(c: GoDTLSClient, seen: Dictionary) -> Dictionary:
	var udp := UDPServer.new()
	check(udp.listen(0, "127.0.0.1") == OK_, "UDPServer listens")
	var dtls := DTLSServer.new()
	check(dtls.setup(TLSOptions.server(rsa_key, rsa_cert)) == OK_, "DTLSServer setup")
	check(c.connect_to_host("127.0.0.1", udp.get_local_port(), "localhost", TLSOptions.client(rsa_cert)) == OK_, "connect_to_host")
	var held := {"peer": null}
	var serve := func() -> void:
		udp.poll()
		if udp.is_connection_available():
			held.peer = dtls.take_connection(udp.take_connection())
		if held.peer:
			held.peer.poll()
	check(await wait_until(func() -> bool:
		serve.call()
		return seen.connected > 0 or not seen.failed.is_empty(), null, [c]), "an outcome arrived")
	check(seen.connected == 1, "connected to DTLSServer (%s)" % [seen])
	return {"udp": udp, "serve": serve, "held": held}


# Godot's own server: packets both ways, and its close_notify ends the
# client with the packet it sent just before still readable.
func test_client_godot_dtls_server() -> void:
	var c := GoDTLSClient.new()
	var seen := watch(c)
	var server := await connect_to_godot_dtls_server(c, seen)
	var udp: UDPServer = server.udp
	var serve: Callable = server.serve
	var peer: PacketPeerDTLS = server.held.peer
	if peer == null:
		check(false, "DTLSServer has the peer")
		return
	check(await wait_until(func() -> bool:
		serve.call()
		return peer.get_status() == PacketPeerDTLS.STATUS_CONNECTED, null, [c]), "DTLSServer's peer connected")
	for i in 20:
		c.put_packet(("to godot %d" % i).to_utf8_buffer())
	# PacketPeerDTLS counts at most one packet available at a time
	var got: Array[String] = []
	check(await wait_until(func() -> bool:
		serve.call()
		while peer.get_available_packet_count() > 0:
			got.append(peer.get_packet().get_string_from_utf8())
		return got.size() >= 20, null, [c]), "DTLSServer received 20 packets (%d)" % got.size())
	var order_ok := got.size() == 20
	for i in got.size():
		order_ok = order_ok and got[i] == "to godot %d" % i
	check(order_ok, "in order")
	for i in 20:
		peer.put_packet(("from godot %d" % i).to_utf8_buffer())
	check(await wait_until(func() -> bool:
		serve.call()
		return c.get_available_packet_count() == 20, null, [c]), "the client received 20 packets")
	order_ok = true
	for i in 10:
		order_ok = order_ok and c.get_packet().get_string_from_utf8() == "from godot %d" % i
	check(order_ok, "in order")
	peer.disconnect_from_peer()
	check(await wait_until(func() -> bool: return not seen.disconnected.is_empty(), null, [c]), "disconnected signal")
	check(seen.disconnected.size() == 1 and seen.disconnected[0].contains("closed"), "reason %s" % [seen.disconnected])
	check(c.get_available_packet_count() == 10 and c.get_packet().get_string_from_utf8() == "from godot 10", "nothing received is lost")
	var st := c.get_stats()
	check(st.replayed == 0 and st.auth_failed == 0 and st.post_handshake_dropped == 0, "nothing dropped (%s)" % [st])
	udp.stop()


# A server Godot does not own: openssl s_server with a pre-shared key,
# which neither PacketPeerDTLS nor TLSOptions can speak.
func test_client_openssl() -> void:
	var openssl := ""
	if OS.get_name() == "Windows":
		# an openssl.exe on PATH; CI runs the Windows engine under Wine on
		# Debian, which has no Windows openssl (and a Windows process there
		# gets no output from a Linux one)
		for dir in OS.get_environment("PATH").split(";", false):
			if FileAccess.file_exists(dir.path_join("openssl.exe")):
				openssl = dir.path_join("openssl.exe")
		if openssl == "":
			skip("no openssl.exe on PATH (a Windows engine)", false)
			return
	for p in ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]:
		if openssl == "" and FileAccess.file_exists(p):
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


func test_certificate_reload() -> void:
	var s := rsa_server()
	var a := GoDTLSClient.new()
	var aseen := watch(a)
	a.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	check(await outcome(a, aseen, s) and aseen.connected == 1, "a client connects with the first certificate")
	var peer := await take(s, [a])
	if peer == null:
		return
	var crypto := Crypto.new()
	var key2 := crypto.generate_rsa(2048)
	var cert2 := GoReadableCert.make(crypto, key2, "CN=localhost,O=GoDTLS tests renewed,C=US")
	check(s.setup(TLSOptions.server(key2, cert2)) == OK_, "setup() on a listening server replaces the certificate")
	# a key that does not match its certificate is refused; the renewed one stays
	check(s.setup_pem(ec_key_pem, cert2.save_to_string()) == ERR_INVALID_PARAMETER_, "a mismatched key is refused")
	var b := GoDTLSClient.new()
	var bseen := watch(b)
	b.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(cert2))
	check(await outcome(b, bseen, s) and bseen.connected == 1, "a new client trusting the new certificate connects (%s)" % bseen)
	var got := b.get_peer_certificate()
	check(got != null and got.save_to_string() == cert2.save_to_string(), "it sees the new certificate")
	var old := GoDTLSClient.new()
	var oseen := watch(old)
	old.connect_to_host("127.0.0.1", s.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	await expect_failure(old, oseen, GoDTLSClient.STATUS_ERROR, "trusted authority", s)
	# the peer from before the reload still talks both ways
	a.put_packet("after".to_utf8_buffer())
	check(await wait_until(func() -> bool: return peer.get_available_packet_count() > 0, s, [a]), "the old peer still sends")
	peer.put_packet("back".to_utf8_buffer())
	check(await wait_until(func() -> bool: return a.get_available_packet_count() > 0, s, [a]), "the old peer still receives")
	s.stop()
	# the same through a multiplayer peer's get_server()
	var mp := GoDTLSMultiplayerPeer.new()
	check(mp.create_server(0, TLSOptions.server(rsa_key, rsa_cert), "127.0.0.1") == OK_, "create_server")
	var view := mp.get_server()
	check(view.setup(TLSOptions.server(key2, cert2)) == OK_, "get_server().setup() replaces the multiplayer server's certificate")
	var mc := GoDTLSClient.new()
	var mseen := watch(mc)
	mc.connect_to_host("127.0.0.1", view.get_local_port(), "localhost", TLSOptions.client(cert2))
	check(await wait_until(func() -> bool: return mseen.connected > 0 or not mseen.failed.is_empty(), null, [mc, mp]) and mseen.connected == 1, "a client trusting the new certificate reaches the multiplayer server's DTLS (%s)" % mseen)
	mc.disconnect_from_peer()
	mp.close()


# The server's socket closes without a close_notify (a crashed server
# process): the client's next packets draw ICMP port unreachable, and the
# connection ends as unreachable only after several in a row, since one
# report may be spoofed. On a Windows engine too: the client's socket
# switches those reports back on.
func test_client_server_vanishes() -> void:
	var c := GoDTLSClient.new()
	var seen := watch(c)
	var server := await connect_to_godot_dtls_server(c, seen)
	# the socket goes first, so the peer's close_notify on its way out has
	# nowhere to go
	server.udp.stop()
	server.held.peer = null
	var sent := {"n": 0}
	check(await wait_until(func() -> bool:
		if c.get_status() == GoDTLSClient.STATUS_CONNECTED and c.put_packet("anyone there?".to_utf8_buffer()) == OK_:
			sent.n += 1
		return not seen.disconnected.is_empty(), null, [c]), "the connection ended (%d packets sent)" % sent.n)
	check(seen.disconnected.size() == 1 and seen.disconnected[0].contains("unreachable"), "reason %s" % [seen.disconnected])
	check(sent.n >= 3, "%d packets were sent before it ended: one report must not end it" % sent.n)
	print("  reason: %s, after %d packets" % [seen.disconnected[0] if not seen.disconnected.is_empty() else "", sent.n])
	check(c.get_status() == GoDTLSClient.STATUS_ERROR, "status ERROR (%d)" % c.get_status())
