# What GoDTLSServer.get_peers() and GoDTLSPeer.put_packet() cost per peer, on
# Godot's thread, with no other load: N clients (Godot's own PacketPeerDTLS)
# connect to a server in listen() mode, the script keeps every peer object
# (as a game does), then times R calls of get_peers(), then K rounds of one
# put_packet to each peer. Prints two lines:
#   GET_PEERS peers=N calls=R us_per_call=... us_per_peer=...
#   PUT_PACKET sends=... us_per_send=... failed=...
#
#   godot --headless --path godot_project -s res://bench/bench_get_peers.gd -- [--peers=N] [--calls=R] [--rounds=K]
extends SceneTree

const GoReadableCert = preload("res://demo/go_readable_cert.gd")


func _initialize() -> void:
	var args := {}
	for a in OS.get_cmdline_user_args():
		var kv := a.trim_prefix("--").split("=", true, 1)
		args[kv[0]] = kv[1] if kv.size() > 1 else ""
	var n := int(args.get("peers", "200"))
	var calls := int(args.get("calls", "200"))
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := GoReadableCert.make(crypto, key, "CN=localhost")
	var s := GoDTLSServer.new()
	if s.setup(TLSOptions.server(key, cert)) != OK or s.listen(0, "127.0.0.1") != OK:
		print("GET_PEERS failed to listen")
		quit(1)
		return
	var clients: Array[PacketPeerDTLS] = []
	for i in n:
		var udp := PacketPeerUDP.new()
		udp.connect_to_host("127.0.0.1", s.get_local_port())
		var c := PacketPeerDTLS.new()
		c.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
		clients.append(c)
	var kept: Array = [] # the game's references to its peers
	var deadline := Time.get_ticks_msec() + 120000
	while kept.size() < n and Time.get_ticks_msec() < deadline:
		s.poll()
		for c in clients:
			c.poll()
		var p := s.take_connection()
		while p:
			kept.append(p)
			p = s.take_connection()
		await process_frame
	if kept.size() < n:
		print("GET_PEERS only %d of %d peers connected" % [kept.size(), n])
		quit(1)
		return
	var got := 0
	var t0 := Time.get_ticks_usec()
	for i in calls:
		got += s.get_peers().size()
	var dt := Time.get_ticks_usec() - t0
	print("GET_PEERS peers=%d calls=%d us_per_call=%.1f us_per_peer=%.3f" % [got / calls, calls, dt / float(calls), dt / float(got)])
	# and one put_packet of 32 bytes to each held peer, a few rounds (the
	# clients do not read: their sockets drop what overflows)
	var rounds := int(args.get("rounds", "10"))
	var msg := PackedByteArray()
	msg.resize(32)
	var failed := 0
	t0 = Time.get_ticks_usec()
	for r in rounds:
		for p: GoDTLSPeer in kept:
			if p.put_packet(msg) != OK:
				failed += 1
	dt = Time.get_ticks_usec() - t0
	print("PUT_PACKET sends=%d us_per_send=%.3f failed=%d" % [rounds * kept.size(), dt / float(rounds * kept.size()), failed])
	s.stop()
	quit(0)
