# Benchmark server: the same echo logic on three servers, selected by
# command-line arguments after "--":
#   mode=builtin  Godot's UDPServer + DTLSServer (the documented loop)
#   mode=go_udp   UDPServer + GoDTLSServer.take_connection(udp_peer)
#   mode=go_listen GoDTLSServer.listen(), peer by peer
#   mode=go_listen_bulk GoDTLSServer.listen(), GoDTLSServer.receive_all()
#   mode=go_listen_bulk_goroutine the same with read_in_frame off
#   mode=go_udp_bulk UDPServer + take_connection(udp_peer), receive_all()
#   key=rsa4096|ecdsa  fps=60|0  seconds=N  out=/path/result.json
#   disconnects=N  GoDTLSServer.max_disconnects_per_poll (listen modes)
#   budget=MS      GoDTLSServer.disconnect_budget_ms (listen modes)
#   on_end=broadcast  the peer_disconnected handler tells every other peer
#                  (GoDTLSServer.broadcast of 32 bytes), as a game says a
#                  player left; without it the handler only counts
#   on_end=each    the same, one put_packet per peer from GDScript (a game
#                  that tells each player in its own loop: an end that costs
#                  its frame in proportion to the peers)
# It records the duration of every frame, peers connected over time, packets
# echoed, the process CPU time (every 100 ms) and the process memory, prints "BENCH READY <port>" once listening,
# and writes JSON when the time is up.
extends SceneTree

const GoReadableCert = preload("res://demo/go_readable_cert.gd")
const Proc = preload("res://bench/proc_stats.gd")

var args := {}
var mode := "go_listen"
var udp_server: UDPServer
var dtls_builtin: DTLSServer
var go_server: GoDTLSServer
var peers: Array = []

var started_usec := 0
var last_frame_usec := 0
var frames: PackedFloat32Array = PackedFloat32Array()      # frame-to-frame time, ms
var work: PackedFloat32Array = PackedFloat32Array()        # time inside the server logic, ms
var frame_at: PackedFloat32Array = PackedFloat32Array()    # when each frame ended, ms since start
var connected_at: PackedInt32Array = PackedInt32Array()    # peers connected at that frame
var echoed := 0
var rss_start_kib := 0
var rss_peak_kib := 0
var peak_peers := 0
var rss_at_peak_kib := 0
var seconds := 10.0
# every 100 ms, and whenever a peer joined: [ms since start, process CPU
# ms (all threads), echoed, connected, joined]
var samples: Array = []
var last_sample_usec := 0
var sampled_joined := 0
var joined := 0 # peers that finished their handshake, over the whole run
var handshaking: Array = [] # UDPServer modes: taken, not connected yet
# each frame that emitted ends: [frame index, ends, ms in the peer_disconnected
# handlers, the frame's work ms, ms of the handlers in get_peers()], to tell a
# frame's ends from the rest of it
var end_frames: Array = []
var frame_ends := 0
var frame_handler_usec := 0
var frame_get_peers_usec := 0 # of frame_handler_usec, in get_peers() (on_end=each)
# GoDTLS modes: the library's call latency (GoDTLSMonitors.call_latency())
# when the run started; the slowest-call monitor is read there to start over
var monitors: GoDTLSMonitors
var calls_at_start := {}
# listen modes: peer_disconnected heard, and the frame the first came in
# (its work and every later frame's count as the burst of ends)
var ends := 0
var first_end_frame := -1
var left_notice := PackedByteArray()


func _initialize() -> void:
	for a in OS.get_cmdline_user_args():
		var kv := a.split("=", true, 1)
		if kv.size() == 2:
			args[kv[0]] = kv[1]
	mode = args.get("mode", "go_listen")
	# go_listen_bulk_goroutine: go_listen_bulk with read_in_frame off (the
	# reader goroutine reads every datagram), the comparison for the default
	var read_in_frame := true
	if mode == "go_listen_bulk_goroutine":
		mode = "go_listen_bulk"
		read_in_frame = false
	seconds = float(args.get("seconds", "10"))
	Engine.max_fps = int(args.get("fps", "0"))
	var key: CryptoKey
	var cert: X509Certificate
	if args.get("key", "rsa4096") == "ecdsa":
		key = CryptoKey.new()
		key.load_from_string(FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_key.pem"))
		cert = X509Certificate.new()
		cert.load_from_string(FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_cert.pem"))
	else:
		var crypto := Crypto.new()
		key = crypto.generate_rsa(4096) # Godot's documented default
		cert = GoReadableCert.make(crypto, key, "CN=localhost,O=GoDTLS bench,C=US")
	var port := 0
	match mode:
		"builtin", "go_udp", "go_udp_bulk":
			udp_server = UDPServer.new()
			udp_server.max_pending_connections = int(args.get("pending", "16"))
			udp_server.listen(0, "127.0.0.1")
			port = udp_server.get_local_port()
			if mode == "builtin":
				dtls_builtin = DTLSServer.new()
				dtls_builtin.setup(TLSOptions.server(key, cert))
			else:
				go_server = GoDTLSServer.new()
				go_server.max_peers = 10000
				go_server.max_peers_per_ip = 0 # the load generator's clients share one address
				go_server.setup(TLSOptions.server(key, cert))
		_:
			go_server = GoDTLSServer.new()
			go_server.max_peers = 10000
			go_server.max_peers_per_ip = 0 # the load generator's clients share one address
			go_server.setup(TLSOptions.server(key, cert))
			go_server.read_in_frame = read_in_frame
			if args.has("disconnects"):
				go_server.max_disconnects_per_poll = int(args["disconnects"])
			if args.has("budget"):
				go_server.disconnect_budget_ms = float(args["budget"])
			# a game listens for its players leaving; this handler only counts
			go_server.peer_disconnected.connect(_on_peer_disconnected)
			go_server.listen(0, "127.0.0.1")
			port = go_server.get_local_port()
	rss_start_kib = Proc.rss_kib()
	if go_server:
		monitors = GoDTLSMonitors.new()
		monitors.read("GoDTLS/slowest_call_us")
		calls_at_start = monitors.call_latency()
	print("BENCH READY %d" % port)
	started_usec = Time.get_ticks_usec()
	last_frame_usec = started_usec
	last_sample_usec = started_usec
	samples.append([0.0, Proc.cpu_ms(), 0, 0, 0])


func _process(_delta: float) -> bool:
	frame_ends = 0
	frame_handler_usec = 0
	frame_get_peers_usec = 0
	var t0 := Time.get_ticks_usec()
	var n_connected := 0
	match mode:
		"builtin", "go_udp":
			udp_server.poll()
			while udp_server.is_connection_available():
				var udp: PacketPeerUDP = udp_server.take_connection()
				var p = dtls_builtin.take_connection(udp) if mode == "builtin" else go_server.take_connection(udp)
				if p.get_status() == PacketPeerDTLS.STATUS_HANDSHAKING:
					handshaking.append(p)
			# a game drops peers that failed or left (a flood leaves many)
			var still: Array = []
			for p in handshaking:
				p.poll()
				var st: int = p.get_status()
				if st == PacketPeerDTLS.STATUS_CONNECTED:
					peers.append(p)
					joined += 1
				elif st == PacketPeerDTLS.STATUS_HANDSHAKING:
					still.append(p)
			handshaking = still
			var live: Array = []
			for p in peers:
				p.poll()
				if p.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
					n_connected += 1
					while p.get_available_packet_count() > 0:
						p.put_packet(p.get_packet())
						echoed += 1
					live.append(p)
			peers = live
		"go_udp_bulk":
			# receive_all() does every attached peer's poll(): the script
			# only takes connections and echoes.
			udp_server.poll()
			while udp_server.is_connection_available():
				var p: GoDTLSPeer = go_server.take_connection(udp_server.take_connection())
				if p:
					peers.append(p)
			for pair in go_server.receive_all():
				pair[0].put_packet(pair[1])
				echoed += 1
			if frames.size() % 30 == 0:
				var live: Array = []
				for p in peers: # a game drops peers that failed or left
					var st: int = p.get_status()
					if st == PacketPeerDTLS.STATUS_CONNECTED or st == PacketPeerDTLS.STATUS_HANDSHAKING:
						live.append(p)
				peers = live
		"go_listen_bulk":
			go_server.poll()
			take_listen_peers()
			for pair in go_server.receive_all():
				pair[0].put_packet(pair[1])
				echoed += 1
		_:
			go_server.poll()
			take_listen_peers()
			for q in peers:
				if q.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
					n_connected += 1
					while q.get_available_packet_count() > 0:
						q.put_packet(q.get_packet())
						echoed += 1
	var t1 := Time.get_ticks_usec()
	if mode.ends_with("_bulk"): # outside the work window: the bench's own bookkeeping
		n_connected = last_connected()
		if frames.size() % 30 == 0:
			var stats := go_server.get_stats()
			n_connected = stats.peers
			if mode == "go_udp_bulk": # no take_connection() loop counts its joins
				joined = stats.handshakes_ok
	work.append((t1 - t0) / 1000.0)
	if frame_ends > 0:
		end_frames.append([work.size() - 1, frame_ends, frame_handler_usec / 1000.0, (t1 - t0) / 1000.0, frame_get_peers_usec / 1000.0])
	frames.append((t1 - last_frame_usec) / 1000.0)
	last_frame_usec = t1
	frame_at.append((t1 - started_usec) / 1000.0)
	connected_at.append(n_connected)
	# also whenever a peer joined: the joins of a storm are over within a
	# sample period
	if t1 - last_sample_usec >= 100000 or joined > sampled_joined:
		last_sample_usec = t1
		sampled_joined = joined
		samples.append([(t1 - started_usec) / 1000.0, Proc.cpu_ms(), echoed, n_connected, joined])
	if frames.size() % 30 == 0:
		var rss := Proc.rss_kib()
		rss_peak_kib = max(rss_peak_kib, rss)
		if n_connected >= peak_peers and n_connected > 0:
			peak_peers = n_connected
			rss_at_peak_kib = rss
	if (t1 - started_usec) / 1e6 >= seconds:
		finish(n_connected)
		return true
	return false


func _on_peer_disconnected(_peer: GoDTLSPeer, _reason: String) -> void:
	var h0 := Time.get_ticks_usec()
	frame_ends += 1
	ends += 1
	if first_end_frame < 0:
		first_end_frame = frames.size()
	if left_notice.is_empty():
		left_notice.resize(32)
	match args.get("on_end", ""):
		"broadcast":
			go_server.broadcast(left_notice)
		"each":
			var g0 := Time.get_ticks_usec()
			var peers := go_server.get_peers()
			frame_get_peers_usec += Time.get_ticks_usec() - g0
			for p: GoDTLSPeer in peers:
				p.put_packet(left_notice)
	frame_handler_usec += Time.get_ticks_usec() - h0


func finish(n_connected: int) -> void:
	var rss := Proc.rss_kib()
	var end_work := 0.0
	if first_end_frame >= 0:
		for i in range(first_end_frame, work.size()):
			end_work = maxf(end_work, work[i])
	var out := {
		"mode": mode, "key": args.get("key", "rsa4096"), "fps": Engine.max_fps,
		"frames": frames.size(), "frame_ms": Array(frames), "work_ms": Array(work),
		"frame_at_ms": Array(frame_at), "connected": Array(connected_at),
		"peers_connected": n_connected, "echoed": echoed,
		"rss_start_kib": rss_start_kib, "rss_end_kib": rss, "rss_peak_kib": max(rss_peak_kib, rss),
		"peak_peers": peak_peers, "rss_at_peak_kib": rss_at_peak_kib,
		"godot": Engine.get_version_info().string,
		"server_stats": go_server.get_stats() if go_server else {},
		"samples": samples,
		"ends": ends, "first_end_ms": frame_at[first_end_frame] if first_end_frame >= 0 and first_end_frame < frame_at.size() else 0.0,
		"end_work_ms": end_work, "end_frames": end_frames,
	}
	if monitors:
		out["call_latency"] = calls_since_start()
	var f := FileAccess.open(args.get("out", "user://bench.json"), FileAccess.WRITE)
	f.store_string(JSON.stringify(out))
	f.close()
	if go_server:
		go_server.stop()
	print("BENCH DONE")


# listen(): every peer whose handshake finished since the last frame.
func take_listen_peers() -> void:
	var p := go_server.take_connection()
	while p:
		peers.append(p)
		joined += 1
		p = go_server.take_connection()


# The bulk modes count connected peers from the server's stats every 30
# frames (a game using receive_all() has no per-peer loop to count them in);
# this is the count of the last frame.
func last_connected() -> int:
	return connected_at[connected_at.size() - 1] if connected_at.size() > 0 else 0


# The calls into the library since the run started: a histogram with
# call_latency()'s buckets, and the slowest call.
func calls_since_start() -> Dictionary:
	var worst := monitors.read("GoDTLS/slowest_call_us")
	var now := monitors.call_latency()
	var buckets: Array = []
	for i in now.buckets.size():
		buckets.append(now.buckets[i] - calls_at_start.buckets[i])
	return {"calls": now.calls - calls_at_start.calls, "total_usec": now.total_usec - calls_at_start.total_usec,
		"worst_usec": worst, "buckets": buckets}
