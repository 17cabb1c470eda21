# Benchmark client: N clients in one Godot process connect at once to a
# server in another process, selected by command-line arguments after "--":
#   mode=builtin  PacketPeerUDP + PacketPeerDTLS (the documented loop)
#   mode=go       GoDTLSClient
#   port=N  clients=N  seconds=N (a cap)  fps=60  out=/path/result.json
# It records every frame's duration and the time spent in the client logic
# (connect calls and polls), clients connected over time, and the process's
# total CPU time (all threads) until every client is in; then writes JSON.
extends SceneTree

const Proc = preload("res://bench/proc_stats.gd")

var args := {}
var mode := "go"
var clients: Array = []
var started_usec := 0
var last_frame_usec := 0
var frames: PackedFloat32Array = PackedFloat32Array()
var work: PackedFloat32Array = PackedFloat32Array()
var connected_at: PackedInt32Array = PackedInt32Array()
var cpu_start_ms := 0.0
var all_in_ms := -1.0
var cpu_all_in_ms := -1.0
var failed := 0
var seconds := 30.0
var started := false


func _initialize() -> void:
	for a in OS.get_cmdline_user_args():
		var kv := a.split("=", true, 1)
		if kv.size() == 2:
			args[kv[0]] = kv[1]
	mode = args.get("mode", "go")
	seconds = float(args.get("seconds", "30"))
	Engine.max_fps = int(args.get("fps", "60"))
	print("BENCH READY")


func _process(_delta: float) -> bool:
	var t0 := Time.get_ticks_usec()
	if not started:
		# every client starts in the same frame: the join storm
		started = true
		started_usec = t0
		last_frame_usec = t0
		cpu_start_ms = Proc.cpu_ms()
		var port := int(args.get("port", "4433"))
		for i in int(args.get("clients", "100")):
			if mode == "builtin":
				var udp := PacketPeerUDP.new()
				udp.connect_to_host("127.0.0.1", port)
				var c := PacketPeerDTLS.new()
				c.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
				clients.append(c)
			else:
				var c := GoDTLSClient.new()
				c.connect_to_host("127.0.0.1", port, "localhost", TLSOptions.client_unsafe())
				clients.append(c)
	var n := 0
	failed = 0
	for c in clients:
		c.poll()
		var st: int = c.get_status()
		if st == PacketPeerDTLS.STATUS_CONNECTED:
			n += 1
		elif st != PacketPeerDTLS.STATUS_HANDSHAKING:
			failed += 1
	var t1 := Time.get_ticks_usec()
	work.append((t1 - t0) / 1000.0)
	frames.append((t1 - last_frame_usec) / 1000.0)
	last_frame_usec = t1
	connected_at.append(n)
	if n == clients.size() and all_in_ms < 0:
		all_in_ms = (t1 - started_usec) / 1000.0
		cpu_all_in_ms = Proc.cpu_ms() - cpu_start_ms
	if all_in_ms >= 0 or n + failed == clients.size() or (t1 - started_usec) / 1e6 >= seconds:
		finish(n)
		return true
	return false


func finish(n: int) -> void:
	var out := {
		"mode": mode, "clients": clients.size(), "connected": n, "failed": failed,
		"frame_ms": Array(frames), "work_ms": Array(work), "connected_at": Array(connected_at),
		"all_in_ms": all_in_ms, "cpu_ms": cpu_all_in_ms if cpu_all_in_ms >= 0 else Proc.cpu_ms() - cpu_start_ms,
		"godot": Engine.get_version_info().string,
	}
	var f := FileAccess.open(args.get("out", "user://bench_client.json"), FileAccess.WRITE)
	f.store_string(JSON.stringify(out))
	f.close()
	for c in clients:
		c.disconnect_from_peer()
	print("BENCH DONE")
