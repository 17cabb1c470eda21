#!/usr/bin/env bash
# Unzips the addon package into a brand-new Godot project and uses both
# classes there, headless. Usage: package_test.sh GODOT dist/dtls_server-X.zip
set -uo pipefail
godot=${1:?usage: package_test.sh GODOT ZIP}
zip=$(realpath "${2:?usage: package_test.sh GODOT ZIP}")
proj=$(mktemp -d)
trap 'rm -rf "$proj"' EXIT
cd "$proj"
unzip -q "$zip"
cat > project.godot <<'PROJ'
config_version=5

[application]
config/name="fresh project"
PROJ
# What the editor writes on its first scan; a headless run needs it.
mkdir -p .godot
echo "res://addons/dtls_server/dtls_server.gdextension" > .godot/extension_list.cfg
cat > check.gd <<'GD'
extends SceneTree

func _initialize() -> void:
	_run.call_deferred()

func _run() -> void:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
	var server := GoDTLSServer.new()
	if server.setup(TLSOptions.server(key, cert)) != OK or server.listen(0, "127.0.0.1") != OK:
		print("package test: setup/listen failed")
		quit(1)
		return
	var udp := PacketPeerUDP.new()
	udp.connect_to_host("127.0.0.1", server.get_local_port())
	var client := PacketPeerDTLS.new()
	client.connect_to_peer(udp, "localhost", TLSOptions.client_unsafe())
	var peer: GoDTLSPeer = null
	var deadline := Time.get_ticks_msec() + 20000
	while Time.get_ticks_msec() < deadline:
		server.poll()
		client.poll()
		if peer == null:
			peer = server.take_connection()
		if peer and client.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
			client.put_packet("from a fresh project".to_utf8_buffer())
			break
		await process_frame
	while peer and Time.get_ticks_msec() < deadline and peer.get_available_packet_count() == 0:
		client.poll()
		await process_frame
	var ok := peer != null and peer.get_packet().get_string_from_utf8() == "from a fresh project"
	server.stop()
	print("package test: %s" % ("ok" if ok else "FAILED"))
	quit(0 if ok else 1)
GD
timeout 120 "$godot" --headless --path "$proj" -s res://check.gd 2>&1 | tee "$proj/log"
code=${PIPESTATUS[0]}
grep -q "package test: ok" "$proj/log" && [[ $code -eq 0 ]] && ! grep -q "SCRIPT ERROR" "$proj/log"
