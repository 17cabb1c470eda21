# A player for tests/dedicated_test.sh: connects to the dedicated server,
# stays --stay seconds (0: until the server lets it go), and says what
# happened on stdout.
#   godot --headless --path godot_project -s res://tests/dedicated/client.gd -- --port=N --name=a --stay=3
extends SceneTree

var args := {"port": "7777", "name": "player", "stay": "0"}


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	for a in OS.get_cmdline_user_args():
		if a.begins_with("--") and "=" in a:
			var kv := a.substr(2).split("=", true, 1)
			args[kv[0]] = kv[1]
	var peer := GoDTLSMultiplayerPeer.new()
	if peer.create_client("127.0.0.1", args["port"].to_int(), "", TLSOptions.client_unsafe()) != OK:
		print("FAILED %s create_client" % args["name"])
		quit(1)
		return
	var deadline := Time.get_ticks_msec() + 20000
	while peer.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		peer.poll()
		if peer.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED or Time.get_ticks_msec() > deadline:
			print("FAILED %s %s" % [args["name"], peer.get_close_reason()])
			quit(1)
			return
		await process_frame
	print("CONNECTED %s" % args["name"])
	var stay: float = args["stay"].to_float()
	var leave_at := Time.get_ticks_msec() + int(stay * 1000)
	while true:
		peer.poll()
		while peer.get_available_packet_count() > 0:
			peer.get_packet()
		if peer.get_connection_status() == MultiplayerPeer.CONNECTION_DISCONNECTED:
			print("DISCONNECTED %s %s" % [args["name"], peer.get_close_reason()])
			quit(0)
			return
		if stay > 0 and Time.get_ticks_msec() > leave_at:
			peer.close()
			print("LEFT %s" % args["name"])
			quit(0)
			return
		await process_frame
