# The Agones SDK, through the sidecar's local REST API: what a dedicated
# server needs of it and nothing more. The sidecar (Agones' sdk-server)
# listens on localhost at AGONES_SDK_HTTP_PORT (9358 by default); outside a
# cluster, run it with --local.
#
#   ready()                 the server can take players (GameServer Ready)
#   health()                call every few seconds, or Agones restarts it
#   set_counter(name, n)    a Counter of the GameServer (players, rooms…)
#   shutdown()              the match is over (GameServer Shutdown)
#   watch()                 streams the GameServer: state_changed("Allocated"…)
#
# Each call returns at once; a failed call is reported with push_warning and
# request_failed, never stops the game. Watching reconnects when the stream
# ends.
extends Node

signal state_changed(state: String)
signal request_failed(what: String)

var port := 9358
var state := ""

var _watch: HTTPClient
var _watch_buffer := PackedByteArray()
var _watching := false
# Per Counter: the count the game wants, and whether a request for it is
# on its way (one at a time: two requests in flight can reach the sidecar
# in either order, and the older count would win).
var _counter_want := {}
var _counter_busy := {}


func _init() -> void:
	var env := OS.get_environment("AGONES_SDK_HTTP_PORT")
	if env.is_valid_int():
		port = env.to_int()


func ready() -> void:
	_post("/ready", "{}")


func health() -> void:
	_post("/health", "{}")


func shutdown() -> Signal:
	return _post("/shutdown", "{}")


# set_counter sets a Counter of the GameServer (declared in its spec, e.g.
# counters: {players: {count: 0, capacity: 16}}).
# Counts set while a request is on its way are sent after it, the latest
# only.
func set_counter(counter: String, count: int) -> void:
	_counter_want[counter] = count
	if not _counter_busy.get(counter, false):
		_send_counter(counter)


func _send_counter(counter: String) -> void:
	_counter_busy[counter] = true
	var count: int = _counter_want[counter]
	# grpc-gateway reads int64 fields from JSON strings
	await _request("/v1beta1/counters/" + counter.uri_encode(), HTTPClient.METHOD_PATCH, JSON.stringify({"count": str(count)}))
	_counter_busy[counter] = false
	if _counter_want[counter] != count:
		_send_counter(counter)


func watch() -> void:
	_watching = true
	_start_watch()


func _post(path: String, body: String) -> Signal:
	return _request(path, HTTPClient.METHOD_POST, body)


# _request sends one request on an HTTPRequest of its own (one request at a
# time each) and frees it when done; the returned signal fires then.
func _request(path: String, method: int, body: String) -> Signal:
	var req := HTTPRequest.new()
	req.timeout = 5.0
	add_child(req)
	req.request_completed.connect(func(result: int, code: int, _h: PackedStringArray, _b: PackedByteArray) -> void:
		if result != HTTPRequest.RESULT_SUCCESS or code != 200:
			var what := "Agones SDK %s: result %d, HTTP %d" % [path, result, code]
			push_warning(what)
			request_failed.emit(what)
		req.queue_free())
	var err := req.request("http://127.0.0.1:%d%s" % [port, path], ["Content-Type: application/json"], method, body)
	if err != OK:
		push_warning("Agones SDK %s: request not sent (error %d)" % [path, err])
		# still completes (failed), once the caller waits for it
		req.request_completed.emit.call_deferred(HTTPRequest.RESULT_CANT_CONNECT, 0, PackedStringArray(), PackedByteArray())
	return req.request_completed


func _start_watch() -> void:
	_watch = HTTPClient.new()
	_watch_buffer.clear()
	if _watch.connect_to_host("127.0.0.1", port) != OK:
		_watch = null


# _process drives the watch stream: one JSON object a line, each
# {"result": GameServer}.
func _process(_delta: float) -> void:
	if _watch == null:
		if _watching:
			_start_watch()
		return
	_watch.poll()
	match _watch.get_status():
		HTTPClient.STATUS_CONNECTED:
			if not _watch.has_response():
				_watch.request(HTTPClient.METHOD_GET, "/watch/gameserver", ["Accept: application/json"])
		HTTPClient.STATUS_BODY:
			var chunk := _watch.read_response_body_chunk()
			if chunk.size() > 0:
				_watch_buffer.append_array(chunk)
				_read_lines()
		HTTPClient.STATUS_DISCONNECTED, HTTPClient.STATUS_CONNECTION_ERROR, HTTPClient.STATUS_CANT_CONNECT, HTTPClient.STATUS_CANT_RESOLVE:
			_watch = null # reconnects next frame


func _read_lines() -> void:
	while true:
		var nl := _watch_buffer.find(10)
		if nl < 0:
			return
		var line := _watch_buffer.slice(0, nl).get_string_from_utf8()
		_watch_buffer = _watch_buffer.slice(nl + 1)
		var msg = JSON.parse_string(line)
		if typeof(msg) != TYPE_DICTIONARY or not msg.has("result"):
			continue
		var st: String = msg.result.get("status", {}).get("state", "")
		if st != "" and st != state:
			state = st
			state_changed.emit(st)
