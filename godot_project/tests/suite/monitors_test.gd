# The editor debugger's GoDTLS monitors (Performance custom monitors).
# One area of the engine suite (tests/run_tests.gd runs every area in order).
extends "res://tests/suite/case.gd"

const NAMES := [
	"GoDTLS/connected_peers", "GoDTLS/pending_handshakes", "GoDTLS/handshakes_per_second",
	"GoDTLS/failed_handshakes_per_second", "GoDTLS/bytes_in_per_second", "GoDTLS/bytes_out_per_second",
	"GoDTLS/packets_dropped", "GoDTLS/dropped_queue_full", "GoDTLS/dropped_over_rate", "GoDTLS/dropped_forged_records",
	"GoDTLS/spoofed_datagrams", "GoDTLS/garbage_datagrams",
	"GoDTLS/multiplayer_rtt_p50_ms", "GoDTLS/multiplayer_rtt_p99_ms", "GoDTLS/multiplayer_retransmissions",
	"GoDTLS/slowest_call_us", "GoDTLS/go_memory_kib", "GoDTLS/go_heap_live_kib", "GoDTLS/go_goroutines",
]


func cases() -> Array:
	return [
		["monitors: appear with the first object, move under load, go with the last", test_monitors],
		["call_latency(): every call into the library is counted, in the bucket of its duration", test_call_latency],
		["memory(): the Go runtime's memory, given back once a burst of handshakes is over", test_memory],
		["calls with scalar arguments and results allocate nothing on the Go heap", test_calls_allocate_nothing],
	]


func has_all() -> bool:
	for n in NAMES:
		if not Performance.has_custom_monitor(n):
			return false
	return true


func has_none() -> bool:
	for n in NAMES:
		if Performance.has_custom_monitor(n):
			return false
	return true


func value(n: String) -> float:
	return Performance.get_custom_monitor(n)


func test_monitors() -> void:
	# the previous area's last objects go with their nodes' queue_free
	check(await wait_until(has_none, null, [], 5.0), "no GoDTLS monitor while no GoDTLS object is alive")
	var s := rsa_server()
	check(has_all(), "every GoDTLS monitor once a GoDTLSServer exists")
	var c := new_client(s.get_local_port())
	check(await wait_until(func() -> bool: return value("GoDTLS/connected_peers") >= 1, s, [c]), "connected_peers counts the client")
	var peer := await take(s, [c])
	if peer == null:
		return
	value("GoDTLS/bytes_in_per_second") # the first reading of a rate is its base
	var pkt := PackedByteArray()
	pkt.resize(1000)
	for i in 200:
		c.put_packet(pkt)
	await wait_until(func() -> bool: return peer.get_available_packet_count() >= 200, s, [c])
	check(value("GoDTLS/bytes_in_per_second") > 0.0, "bytes_in_per_second moves with traffic")
	# garbage from a plain UDP socket is counted
	var junk := PacketPeerUDP.new()
	junk.connect_to_host("127.0.0.1", s.get_local_port())
	junk.put_packet("not DTLS".to_utf8_buffer())
	check(await wait_until(func() -> bool: return value("GoDTLS/garbage_datagrams") >= 1, s, []), "garbage_datagrams counts a non-DTLS datagram")
	# a multiplayer pair: round trips appear
	var pair := await mp_pair()
	if pair.size() == 2:
		check(await mp_wait(func() -> bool: return value("GoDTLS/multiplayer_rtt_p50_ms") > 0.0, pair, 10.0), "multiplayer_rtt_p50_ms after the first pings")
		check(value("GoDTLS/multiplayer_rtt_p99_ms") >= value("GoDTLS/multiplayer_rtt_p50_ms"), "p99 is at least p50")
		check(value("GoDTLS/connected_peers") >= 3, "objects add up: the server's peer, the multiplayer server's and its client (%s)" % value("GoDTLS/connected_peers"))
		pair[1].close()
		pair[0].close()
	print("  measured: connected_peers %.0f, bytes_in_per_second %.0f, garbage %.0f, rtt p50 %.2f ms" % [value("GoDTLS/connected_peers"), value("GoDTLS/bytes_in_per_second"), value("GoDTLS/garbage_datagrams"), value("GoDTLS/multiplayer_rtt_p50_ms")])
	s.stop()
	s = null
	peer = null
	pair = []
	await process_frame
	check(has_none(), "the monitors go with the last GoDTLS object")


func calls_in(reading: Dictionary) -> int:
	var n := 0
	for b in reading.buckets:
		n += b
	return n


func test_call_latency() -> void:
	var mon := GoDTLSMonitors.new()
	var before: Dictionary = mon.call_latency()
	check(before.buckets.size() == 24, "24 buckets (%d)" % before.buckets.size())
	check(calls_in(before) == before.calls, "the buckets add up to the calls")
	var s := GoDTLSServer.new()
	for i in 1000:
		s.get_stats()
	var after: Dictionary = mon.call_latency()
	# the 1,000 get_stats() and the first reading's own call (timed after it read)
	var made := int(after.calls) - int(before.calls)
	check(made >= 1000 and made <= 1010, "the calls between two readings are counted (%d for 1,000 get_stats())" % made)
	check(calls_in(after) == after.calls, "the buckets add up to the calls")
	check(after.total_usec > before.total_usec and after.worst_usec > 0.0, "time is counted (total %.0f us, worst %.1f us)" % [after.total_usec, after.worst_usec])
	# the slowest call since the library loaded is in the highest bucket used
	var slow_bucket := 0
	for b in range(after.buckets.size() - 1, -1, -1):
		if after.buckets[b] > 0:
			slow_bucket = b
			break
	check(after.worst_usec >= pow(2.0, slow_bucket - 1) and (slow_bucket == 23 or after.worst_usec < pow(2.0, slow_bucket)),
		"the worst call (%.1f us) is in the highest bucket used (%d)" % [after.worst_usec, slow_bucket])
	check(Performance.get_custom_monitor("GoDTLS/slowest_call_us") > 0.0, "slowest_call_us shows a call")
	print("  measured: %d calls, mean %.2f us, worst %.1f us" % [after.calls, after.total_usec / after.calls, after.worst_usec])
	s.stop()


func test_memory() -> void:
	var mon := GoDTLSMonitors.new()
	var before: Dictionary = mon.memory()
	for k in ["heap_live_bytes", "heap_in_use_bytes", "stack_bytes", "held_bytes", "allocated_bytes", "trims", "goroutines"]:
		check(before.has(k) and typeof(before[k]) == TYPE_INT, "memory() has the int %s" % k)
	check(before.heap_in_use_bytes > 0 and before.stack_bytes > 0, "heap and stacks are read (%s)" % before)
	check(before.held_bytes >= before.heap_in_use_bytes + before.stack_bytes, "what the runtime holds covers its heap and stacks (%s)" % before)
	# a burst of handshakes on the server (the clients are Godot's): once
	# none has ended for a second, the library collects and gives memory
	# back. The earlier areas' handshakes have their trim first.
	await wait_until(func() -> bool: return false, null, [], 1.5)
	var trims_before: int = mon.memory().trims
	var s := rsa_server()
	var clients: Array = []
	for i in 16:
		clients.append(new_client(s.get_local_port()))
	check(await wait_until(all_connected(clients), s, clients), "16 clients connected")
	check(await wait_until(func() -> bool: return int(mon.memory().trims) > trims_before, s, clients, 5.0),
		"a trim follows the burst (trims %d, then %d)" % [trims_before, mon.memory().trims])
	var after: Dictionary = mon.memory()
	check(Performance.get_custom_monitor("GoDTLS/go_memory_kib") > 0.0 and Performance.get_custom_monitor("GoDTLS/go_heap_live_kib") > 0.0, "the memory monitors read the runtime")
	# two readings a moment apart: a trim's goroutine may come or go between them
	var goroutines: float = Performance.get_custom_monitor("GoDTLS/go_goroutines")
	check(goroutines >= 1.0 and absf(goroutines - mon.memory().goroutines) <= 2.0, "go_goroutines counts the running server's goroutines, as memory() does (%s and %s)" % [goroutines, mon.memory().goroutines])
	print("  measured: held %d KiB, heap live %d KiB, stacks %d KiB after the burst (held %d KiB before it)" % [after.held_bytes / 1024, after.heap_live_bytes / 1024, after.stack_bytes / 1024, before.held_bytes / 1024])
	for c in clients:
		c.disconnect_from_peer()
	s.stop()


# A game calls the library every frame, often once per peer: a call that
# allocates on the Go heap makes the collector work for every frame. Calls
# through Object.call() take the Variant path (GDScript's typed calls take
# the pointer path, which writes scalars in place).
func test_calls_allocate_nothing() -> void:
	var mon := GoDTLSMonitors.new()
	var s := GoDTLSServer.new()
	const ROUNDS := 10000
	var before: int = mon.memory().allocated_bytes
	for i in ROUNDS:
		s.call("get_max_peers") # int result
		s.call("get_handshake_timeout") # float result
		s.call("is_listening") # bool result
		s.call("set_read_in_frame", i & 1 == 0) # bool argument
	var after: int = mon.memory().allocated_bytes
	var per_call := float(after - before) / (ROUNDS * 4)
	# What is left is Go's own: an int or float result of 256 and more is
	# boxed in 8 bytes on its way out of the method (and memory() builds its
	# Dictionary). A result built in Go storage cost ~100 bytes a call, and
	# each decoded argument ~80 more.
	check(per_call < 16.0, "%.1f bytes allocated per call (%d calls)" % [per_call, ROUNDS * 4])
	print("  measured: %.2f bytes of Go heap per call over %d calls" % [per_call, ROUNDS * 4])
	s.stop()
