extends SceneTree
# Experiment: a message sent right before a disconnect, read by SceneMultiplayer.

var results := []

func _initialize() -> void:
	_run.call_deferred()

func _pair(kind: String) -> Array:
	var s: MultiplayerPeer
	var c: MultiplayerPeer
	if kind == "godtls":
		var crypto := Crypto.new()
		var key := crypto.generate_rsa(2048)
		var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
		s = GoDTLSMultiplayerPeer.new()
		s.create_server(0, TLSOptions.server(key, cert), "127.0.0.1")
		c = GoDTLSMultiplayerPeer.new()
		c.create_client("127.0.0.1", s.get_server().get_local_port(), "", TLSOptions.client_unsafe())
	else:
		s = ENetMultiplayerPeer.new()
		s.create_server(0, 4, 8)
		c = ENetMultiplayerPeer.new()
		c.create_client("127.0.0.1", s.host.get_local_port(), 8)
	return [s, c]

func _run() -> void:
	multiplayer_poll = false
	for kind in ["godtls", "enet"]:
		for direction in ["server->client", "client->server"]:
			var pr := _pair(kind)
			var s: MultiplayerPeer = pr[0]
			var c: MultiplayerPeer = pr[1]
			var sn := Node.new(); sn.name = "s"; root.add_child(sn)
			var cn := Node.new(); cn.name = "c"; root.add_child(cn)
			var ss := SceneMultiplayer.new(); var cs := SceneMultiplayer.new()
			set_multiplayer(ss, sn.get_path()); set_multiplayer(cs, cn.get_path())
			ss.multiplayer_peer = s; cs.multiplayer_peer = c
			var got := {"s": [], "c": [], "s_left": [], "c_left": false}
			ss.peer_packet.connect(func(id, d): got.s.append(d.get_string_from_utf8()))
			cs.peer_packet.connect(func(id, d): got.c.append(d.get_string_from_utf8()))
			ss.peer_disconnected.connect(func(id): got.s_left.append(id))
			cs.server_disconnected.connect(func(): got.c_left = true)
			var t := Time.get_ticks_msec() + 10000
			while c.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED or ss.get_peers().is_empty():
				ss.poll(); cs.poll()
				await process_frame
				if Time.get_ticks_msec() > t: break
			var cid: int = ss.get_peers()[0] if not ss.get_peers().is_empty() else 0
			for i in 5:
				ss.poll(); cs.poll(); await process_frame
			if direction == "server->client":
				ss.send_bytes("last words".to_utf8_buffer(), cid)
				s.disconnect_peer(cid)
				# the server keeps polling; the client's game does not poll for 300 ms
				var until := Time.get_ticks_msec() + 300
				while Time.get_ticks_msec() < until:
					ss.poll(); await process_frame
				for i in 5:
					cs.poll(); await process_frame
				results.append("%s %s: client read %s, server_disconnected %s" % [kind, direction, got.c, got.c_left])
			else:
				cs.send_bytes("last words".to_utf8_buffer(), 1)
				cs.poll()
				await process_frame
				c.close()
				var until := Time.get_ticks_msec() + 300
				while Time.get_ticks_msec() < until:
					await process_frame  # the server's game does not poll for 300 ms
				for i in 5:
					ss.poll(); await process_frame
				results.append("%s %s: server read %s, peer_disconnected %s" % [kind, direction, got.s, got.s_left])
			ss.multiplayer_peer = null; cs.multiplayer_peer = null
			s.close(); c.close()
			sn.queue_free(); cn.queue_free()
			await process_frame
	for r in results: print("RESULT ", r)
	quit()
