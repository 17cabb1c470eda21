# Multiplayer benchmark: GoDTLSMultiplayerPeer against ENetMultiplayerPeer
# with DTLS (ENetConnection.dtls_server_setup / dtls_client_setup), at the
# MultiplayerPeer level SceneMultiplayer uses (an RPC is one packet).
# bench/bench_mp.sh runs a server process and a client process per case:
#
#   --role=server|client --transport=go|enet --scenario=join|rpc|idle|leave|flood
#   --clients=N --key=rsa4096|ecdsa [--port=P] [--inflight=K] [--seconds=S]
#   [--limit=L] [--budget=MS] [--join_batch=B] [--frame_usec=U]
#
# --join_batch (client): start the clients B at a time, each batch once the
#       one before is done joining (every client in, or failed). Godot's ENet-DTLS server keeps at most 16
#       handshakes it has not taken yet (its UDPServer's pending
#       connections) and drops the ClientHellos of any more; a storm of 100
#       gets about 80 in before ENet gives up connecting (docs/profiles.md,
#       "Why ENet-DTLS gets 80 of 100 clients in"). The rpc, idle and leave
#       scenarios measure connected clients, not the join, so benchrun joins
#       them in batches of 16 on both transports.
#
# --frame_usec (client, rpc): the client's frame during the measurement,
#       in microseconds (OS.low_processor_usage_mode_sleep_usec: a headless
#       Godot sleeps until a frame has lasted that long, 6,900 by default). benchrun gives
#       the client 6,700, so that the phase between the two processes'
#       frames drifts through every value during a run instead of staying
#       where the start put it.
#
# join: the server's worst main-thread frame (its poll, where ENet does the
#       handshakes) while N clients join at once, and the time until all are in.
# rpc:  clients keep K reliable 64-byte messages in flight each; the server
#       echoes them; clients report messages/s and p50/p99 round trip, and
#       on GoDTLS both sides the DATA chunks they sent again.
# idle: the server's RSS growth with N idle clients connected, and the
#       growth per client of the second half alone (the clients join in two
#       waves), which leaves out what the first connection costs once.
# leave: the server runs SceneMultiplayer with a MultiplayerSpawner and a
#       node per player; once all N are in, the client process dies
#       (SIGKILL: a network cut, no goodbyes) and every player times out
#       at about the same time. The server reports its worst main-thread
#       work from the first end on (SceneMultiplayer's poll, in which the
#       game's handler frees the player's node and the spawner tells every
#       other peer) and how the ends spread over frames, at max_fps 60
#       once every client is in.
#       --limit and --budget set GoDTLSMultiplayerPeer's
#       max_disconnects_per_poll and disconnect_budget_ms.
# flood: the server runs SceneMultiplayer; one client (a modified game
#       client: a bare MultiplayerPeer, no SceneMultiplayer) sends
#       SceneMultiplayer's raw messages of one byte (send_bytes' format),
#       reliable, 2,000 a frame. For --measure seconds from the first, the
#       server reports the messages its game got a second (peer_packet),
#       its worst and 99th-percentile main-thread work per frame
#       (SceneMultiplayer's poll, timed) and its process CPU a second.
#       --msg_limit sets GoDTLSMultiplayerPeer's
#       max_peer_messages_per_second (default: its own default).
extends SceneTree

const GoReadableCert = preload("res://demo/go_readable_cert.gd")
const Proc = preload("res://bench/proc_stats.gd")

var args := {}
var peer: MultiplayerPeer
var clients: Array = []
var connected := 0 # a member: a lambda captures a local int by value
var ids: Array[int] = []


func _initialize() -> void:
	for a in OS.get_cmdline_user_args():
		if a.begins_with("--"):
			var kv := a.substr(2).split("=", true, 1)
			args[kv[0]] = kv[1] if kv.size() > 1 else ""
	if args.get("role") == "server":
		_server()
	else:
		_client()


# Settled tells when a count of clients in has stopped growing: a wave of
# joins is over once none has joined for a while (ENet-DTLS may leave some
# of a wave out, so "all in" alone would wait for ever).
class Settled:
	var count := 0
	var changed_ms := 0

	# settled takes this frame's count: true once it is above 0 and has
	# not changed for ms milliseconds.
	func settled(now: int, ms: int) -> bool:
		if now != count:
			count = now
			changed_ms = Time.get_ticks_msec()
			return false
		return now > 0 and Time.get_ticks_msec() - changed_ms >= ms


func arg(name: String, default: Variant) -> Variant:
	return type_convert(args.get(name, str(default)), typeof(default))


# What the library's Go runtime holds from the system, KiB.
func go_held_kb() -> int:
	return int(GoDTLSMonitors.new().memory().held_bytes) / 1024


func rss_kb() -> int:
	return status_kb("VmRSS")


# The file-backed part of the RSS: code and data of the engine and the
# libraries, paged in as a path runs for the first time.
func rss_file_kb() -> int:
	return status_kb("RssFile")


# A KiB field of /proc/self/status, or -1.
func status_kb(field: String) -> int:
	var f := FileAccess.open("/proc/self/status", FileAccess.READ)
	if f == null:
		return -1
	# /proc files have no length: read lines until the end
	while not f.eof_reached():
		var line := f.get_line()
		if line.begins_with(field + ":"):
			return line.split(":")[1].strip_edges().split(" ")[0].to_int()
	return -1


func key_pair() -> Array:
	if arg("key", "ecdsa") == "rsa4096":
		var crypto := Crypto.new()
		var rsa := crypto.generate_rsa(4096)
		return [rsa, GoReadableCert.make(crypto, rsa, "CN=localhost")]
	var key := CryptoKey.new()
	key.load_from_string(FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_key.pem"))
	var cert := X509Certificate.new()
	cert.load_from_string(FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_cert.pem"))
	return [key, cert]


# ---------------------------------------------------------------- server

func _server() -> void:
	var n: int = arg("clients", 100)
	var kc := key_pair()
	var opts := TLSOptions.server(kc[0], kc[1])
	var port := 0
	var scenario: String = arg("scenario", "join")
	if arg("transport", "go") == "go":
		var g := GoDTLSMultiplayerPeer.new()
		g.peer_timeout = 3.0 if scenario == "leave" else 30.0
		if args.has("limit"):
			g.max_disconnects_per_poll = arg("limit", 100)
		if args.has("budget"):
			g.disconnect_budget_ms = arg("budget", 8.0)
		if args.has("msg_limit"):
			g.max_peer_messages_per_second = arg("msg_limit", 10000)
		if g.create_server(0, opts, "127.0.0.1", n + 8) != OK:
			quit(1)
			return
		g.get_server().max_peers_per_ip = 0
		port = g.get_server().get_local_port()
		peer = g
	else:
		var e := ENetMultiplayerPeer.new()
		port = 20000 + randi() % 20000
		if e.create_server(port, n + 8) != OK:
			quit(1)
			return
		e.host.dtls_server_setup(opts)
		peer = e
	var base_rss := rss_kb()
	var base_file := rss_file_kb()
	print("PORT %d" % port)
	if scenario == "leave":
		await _server_leave(n)
		return
	if scenario == "flood":
		await _server_flood()
		return
	peer.peer_connected.connect(func(id):
		connected += 1
		ids.append(id))
	peer.peer_disconnected.connect(func(id): ids.erase(id))
	var worst_us := 0
	var first_us := 0
	var deadline := Time.get_ticks_msec() + int(arg("seconds", 120.0) * 1000)
	var all_in_us := 0
	var echoed := 0
	var report_at := 0
	# idle: RSS once the first wave is in (no join for 3 s)
	var joins := Settled.new()
	var rss_half := 0
	var go_half := 0
	var connected_half := 0
	while Time.get_ticks_msec() < deadline:
		var t0 := Time.get_ticks_usec()
		peer.poll()
		if scenario == "idle":
			if joins.settled(connected, 3000) and rss_half == 0:
				rss_half = rss_kb()
				go_half = go_held_kb()
				connected_half = connected
		if scenario == "rpc":
			while peer.get_available_packet_count() > 0:
				var from := peer.get_packet_peer()
				var pkt := peer.get_packet()
				peer.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
				peer.set_target_peer(from)
				peer.put_packet(pkt)
				echoed += 1
		var dt := Time.get_ticks_usec() - t0
		# rpc ends by a kill: report as it goes, outside the frame's timing
		if scenario == "rpc" and Time.get_ticks_msec() >= report_at:
			report_at = Time.get_ticks_msec() + 1000
			print(echo_report(echoed))
		if connected > 0 and first_us == 0:
			first_us = t0
		if first_us > 0 and all_in_us == 0:
			worst_us = max(worst_us, dt)
			if connected >= n:
				all_in_us = Time.get_ticks_usec() - first_us
				print("JOIN worst_frame_ms=%.2f all_in_ms=%.0f connected=%d" % [worst_us / 1000.0, all_in_us / 1000.0, connected])
				if scenario == "join":
					# the last clients hear of their id a round trip after the
					# server counts them: keep serving until the client side
					# is done (it quits a second after all are in)
					await _serve_for(3.0)
				if scenario != "rpc":
					break
		await process_frame
	if all_in_us == 0:
		print("JOIN incomplete connected=%d of %d worst_frame_ms=%.2f" % [connected, n, worst_us / 1000.0])
	if scenario == "idle" and connected > 0:
		# per client that got in (ENet-DTLS may not get them all in)
		await _serve_for(3.0)
		var rss := rss_kb()
		var line := "IDLE rss_growth_kb_per_client=%.1f connected=%d" % [(rss - base_rss) / float(connected), connected]
		line += " file_kb_per_client=%.1f" % ((rss_file_kb() - base_file) / float(connected))
		if rss_half > 0 and connected > connected_half:
			line += " second_wave_kb_per_client=%.1f" % ((rss - rss_half) / float(connected - connected_half))
			line += " second_wave_go_kb_per_client=%.1f" % ((go_held_kb() - go_half) / float(connected - connected_half))
		print(line)
	print(echo_report(echoed))
	peer.close()
	quit(0)


# The flood scenario's server (see the top of this file).
func _server_flood() -> void:
	var mp := SceneMultiplayer.new()
	set_multiplayer(mp)
	multiplayer_poll = false # polled below, timed
	mp.multiplayer_peer = peer
	var got := [0] # an Array: a lambda captures a local int by value
	mp.peer_packet.connect(func(_id, _data): got[0] += 1)
	var measure_us := int(arg("measure", 5.0) * 1_000_000)
	var deadline := Time.get_ticks_msec() + int(arg("seconds", 60.0) * 1000)
	var start := 0
	var cpu0 := 0.0
	var works: PackedInt64Array = []
	while Time.get_ticks_msec() < deadline:
		var t0 := Time.get_ticks_usec()
		mp.poll()
		var dt := Time.get_ticks_usec() - t0
		if start == 0 and got[0] > 0:
			start = t0
			cpu0 = Proc.cpu_ms()
			got[0] = 0
		elif start > 0:
			works.append(dt)
			if t0 - start >= measure_us:
				break
		await process_frame
	if works.is_empty():
		print("FLOOD none")
	else:
		var secs := (Time.get_ticks_usec() - start) / 1e6
		var cpu := (Proc.cpu_ms() - cpu0) / secs
		works.sort()
		print("FLOOD msgs_per_s=%.0f worst_frame_ms=%.2f p99_frame_ms=%.2f cpu_ms_per_s=%.0f frames=%d" % [got[0] / secs,
			works[-1] / 1000.0, works[int(works.size() * 0.99)] / 1000.0, cpu, works.size()])
	peer.close()
	quit(0)


# The leave scenario's server (see the top of this file).
func _server_leave(n: int) -> void:
	var mp := SceneMultiplayer.new()
	set_multiplayer(mp)
	multiplayer_poll = false # polled below, timed
	var players := Node.new()
	players.name = "Players"
	root.add_child(players)
	var spawner := MultiplayerSpawner.new()
	root.add_child(spawner)
	spawner.spawn_path = spawner.get_path_to(players)
	spawner.spawn_function = func(id: int) -> Node:
		var node := Node.new()
		node.name = str(id)
		return node
	var in_game := [0] # a lambda captures a local int by value
	var ended_this_frame := [0]
	mp.peer_connected.connect(func(id: int) -> void:
		in_game[0] += 1
		if peer is ENetMultiplayerPeer:
			peer.get_peer(id).set_timeout(32, 3000, 3000) # as GoDTLS's peer_timeout
		spawner.spawn(id))
	mp.peer_disconnected.connect(func(id: int) -> void:
		in_game[0] -= 1
		ended_this_frame[0] += 1
		var node := players.get_node_or_null(str(id))
		if node != null:
			node.free()) # now, so that the spawner's despawn is in the timed poll
	mp.multiplayer_peer = peer
	var deadline := Time.get_ticks_msec() + int(arg("seconds", 120.0) * 1000)
	var all_in := false
	var ends := 0
	var worst_us := 0
	var per_frame: Array[int] = []
	var first_end_ms := 0
	var frames: Array = [] # [work µs, ends, on-CPU µs, run-queue µs] of each frame from the first end on
	var burst_sched := [0, 0] # the main thread's on-CPU and run-queue µs in those polls
	var joins := Settled.new()
	while Time.get_ticks_msec() < deadline:
		ended_this_frame[0] = 0
		var s0 := Proc.thread_sched_us()
		var t0 := Time.get_ticks_usec()
		mp.poll()
		var dt := Time.get_ticks_usec() - t0
		var s1 := Proc.thread_sched_us()
		# all in: every client, or no join for 3 s (without --join_batch
		# ENet-DTLS gets only some in; the client process dies 2 s after its
		# join ends, and its clients time out 3 s later)
		var settled := joins.settled(in_game[0], 3000)
		if not all_in and (in_game[0] >= n or settled):
			all_in = true
			Engine.max_fps = 60 # a game's frame rate from here on (unthrottled while ENet does the handshakes in poll)
			print("JOIN connected=%d" % in_game[0])
		if ended_this_frame[0] > 0 or ends > 0:
			if ends == 0:
				first_end_ms = Time.get_ticks_msec()
			ends += ended_this_frame[0]
			worst_us = max(worst_us, dt)
			if ended_this_frame[0] > 0:
				per_frame.append(ended_this_frame[0])
			frames.append([dt, ended_this_frame[0], s1[0] - s0[0], s1[1] - s0[1]])
			burst_sched[0] += s1[0] - s0[0]
			burst_sched[1] += s1[1] - s0[1]
			if in_game[0] == 0:
				break
		await process_frame
	per_frame.sort()
	frames.sort_custom(func(a, b): return a[0] > b[0])
	var slowest := ""
	for f in frames.slice(0, 5):
		slowest += " %.1fms/%d(%.1f/%.1f)" % [f[0] / 1000.0, f[1], f[2] / 1000.0, f[3] / 1000.0]
	var work_us := 0
	for f in frames:
		work_us += f[0]
	# on_cpu/run_queue: the main thread's own time on a core, and its time
	# runnable but waiting for one (/proc/thread-self/schedstat; -1 where
	# the kernel does not keep it), summed over the polls from the first end on
	print("LEAVE worst_frame_ms=%.2f ends=%d frames_with_ends=%d most_ends_in_a_frame=%d over_ms=%d poll_ms=%.1f on_cpu_ms=%.1f run_queue_ms=%.1f slowest_frames(ms/ends(on_cpu/run_queue))=%s" % [
		worst_us / 1000.0, ends, per_frame.size(), per_frame.back() if per_frame.size() > 0 else 0,
		Time.get_ticks_msec() - first_end_ms if ends > 0 else 0,
		work_us / 1000.0, burst_sched[0] / 1000.0, burst_sched[1] / 1000.0, slowest])
	mp.multiplayer_peer = null
	peer.close()
	quit(0)


# How many messages the server echoed and, on GoDTLS, how many DATA chunks
# it sent again (at 0 % loss every one was a spurious retransmission
# timeout).
func echo_report(echoed: int) -> String:
	var line := "ECHOED %d" % echoed
	if peer is GoDTLSMultiplayerPeer:
		var again := 0
		for id in ids:
			again += int(peer.get_peer_stats(id).get("retransmissions", 0))
		line += " server_retransmissions=%d" % again
	return line


func _serve_for(seconds: float) -> void:
	var until := Time.get_ticks_msec() + int(seconds * 1000)
	while Time.get_ticks_msec() < until:
		peer.poll()
		await process_frame


# ---------------------------------------------------------------- client

# _join starts count more clients (join_batch at a time, each batch once the
# one before is no longer connecting) and polls them all meanwhile.
func _join(count: int, deadline: int) -> void:
	var batch: int = arg("join_batch", 0)
	if batch <= 0:
		batch = count
	var started := 0
	while started < count and Time.get_ticks_msec() < deadline:
		var k := mini(batch, count - started)
		_start_clients(k)
		started += k
		await _poll_until_in(deadline)


# _start_clients starts count more clients.
func _start_clients(count: int) -> void:
	var port: int = arg("port", 0)
	var go: bool = arg("transport", "go") == "go"
	for i in count:
		var p: MultiplayerPeer
		if go:
			var g := GoDTLSMultiplayerPeer.new()
			g.peer_timeout = 30.0
			g.create_client("127.0.0.1", port, "", TLSOptions.client_unsafe())
			p = g
		else:
			var e := ENetMultiplayerPeer.new()
			e.create_client("127.0.0.1", port)
			e.host.dtls_client_setup("localhost", TLSOptions.client_unsafe())
			p = e
		clients.append(p)


# _poll_until_in polls every client until none is still connecting (each is
# in, or has failed: neither transport tries again) or the deadline passes.
func _poll_until_in(deadline: int) -> void:
	while Time.get_ticks_msec() < deadline:
		var connecting := 0
		for p: MultiplayerPeer in clients:
			if _poll_live(p) == MultiplayerPeer.CONNECTION_CONNECTING:
				connecting += 1
		if connecting == 0:
			return
		await process_frame


# _poll_live polls p unless it has closed (ENet prints an error for each poll
# of a closed peer), and returns its status.
func _poll_live(p: MultiplayerPeer) -> MultiplayerPeer.ConnectionStatus:
	if p.get_connection_status() != MultiplayerPeer.CONNECTION_DISCONNECTED:
		p.poll()
	return p.get_connection_status()


# _poll_for polls every live client each frame for ms milliseconds, and
# reads and drops what they received if drain. Waiting without polling would
# not do: an ENet client acknowledges the server's reply to its connect only
# when polled, and the server counts it in only then.
func _poll_for(ms: int, drain: bool) -> void:
	var until := Time.get_ticks_msec() + ms
	while Time.get_ticks_msec() < until:
		for p: MultiplayerPeer in clients:
			_poll_live(p)
			while drain and p.get_available_packet_count() > 0:
				p.get_packet()
		await process_frame


func _client() -> void:
	var n: int = arg("clients", 100)
	var scenario: String = arg("scenario", "join")
	var deadline := Time.get_ticks_msec() + int(arg("seconds", 120.0) * 1000)
	if scenario == "idle":
		# two waves: the server measures between them, once no client has
		# joined for 3 s (ENet-DTLS may leave some of a wave out)
		await _join(n / 2, mini(deadline, Time.get_ticks_msec() + 20000))
		await _poll_for(5000, false)
	await _join(n - clients.size(), deadline)
	var up_at_end := 0
	for p: MultiplayerPeer in clients:
		if p.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED:
			up_at_end += 1
	print("CLIENTS connected=%d of %d" % [up_at_end, n])
	if scenario == "leave":
		# stay 2 s (the server's spawns reach every client), then vanish
		await _poll_for(2000, true)
		OS.kill(OS.get_process_id())
		return
	if scenario == "flood":
		await _client_flood(deadline)
		return
	if scenario != "rpc":
		await _poll_for(6000 if scenario == "idle" else 1000, false)
		quit(0)
		return
	# rpc: K messages in flight per client; 1 s warm-up, then measure
	var inflight: int = arg("inflight", 8)
	var frame_usec: int = arg("frame_usec", 0)
	if frame_usec > 0:
		OS.low_processor_usage_mode_sleep_usec = frame_usec
	var measure_s: float = arg("measure", 5.0)
	var rtts: PackedInt64Array = []
	var count := 0
	var msg := PackedByteArray()
	msg.resize(64)
	for p: MultiplayerPeer in clients:
		p.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
		p.set_target_peer(1)
		for k in inflight:
			msg.encode_s64(0, Time.get_ticks_usec())
			p.put_packet(msg)
	var start := Time.get_ticks_usec()
	var warm := start + 1_000_000
	var stop := warm + int(measure_s * 1_000_000)
	while Time.get_ticks_usec() < stop:
		for p: MultiplayerPeer in clients:
			_poll_live(p)
			while p.get_available_packet_count() > 0:
				var pkt: PackedByteArray = p.get_packet()
				var now: int = Time.get_ticks_usec()
				if now > warm:
					rtts.append(now - pkt.decode_s64(0))
					count += 1
				msg.encode_s64(0, now)
				p.put_packet(msg)
		await process_frame
	rtts.sort()
	if rtts.is_empty():
		print("RPC none")
	else:
		# clients_in: those connected when the join ended (one that failed
		# to join gets nothing echoed, so fewer messages are in flight)
		var line := "RPC msgs_per_s=%.0f p50_ms=%.2f p99_ms=%.2f clients_in=%d" % [count / measure_s, rtts[rtts.size() / 2] / 1000.0, rtts[int(rtts.size() * 0.99)] / 1000.0, up_at_end]
		if clients[0] is GoDTLSMultiplayerPeer:
			# DATA chunks the clients sent again: at 0 % loss every one
			# was a spurious retransmission timeout
			var again := 0
			for p: GoDTLSMultiplayerPeer in clients:
				again += int(p.get_peer_stats(1).get("retransmissions", 0))
			line += " client_retransmissions=%d" % again
		print(line)
	for p: MultiplayerPeer in clients:
		p.close()
	quit(0)


# The flood scenario's client (see the top of this file): SceneMultiplayer's
# raw message (NETWORK_COMMAND_RAW, then the payload) of one byte, reliable,
# as many a frame as the transport takes, until the server has measured.
func _client_flood(deadline: int) -> void:
	const NETWORK_COMMAND_RAW := 3
	var raw := PackedByteArray([NETWORK_COMMAND_RAW, 1])
	var p: MultiplayerPeer = clients[0]
	p.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	p.set_target_peer(1)
	var stop := Time.get_ticks_msec() + int(arg("measure", 5.0) * 1000) + 3000
	while Time.get_ticks_msec() < mini(stop, deadline):
		if _poll_live(p) != MultiplayerPeer.CONNECTION_CONNECTED:
			break
		while p.get_available_packet_count() > 0:
			p.get_packet()
		for k in 2000:
			if p.put_packet(raw) != OK:
				break
		await process_frame
	p.close()
	quit(0)
