# Quitting with live connections: runs last and leaves them for the engine to close.
# One area of the engine suite (tests/run_tests.gd runs every area in order).
extends "res://tests/suite/case.gd"

# Kept alive until the engine quits (the runner keeps this area).
var keep_server: GoDTLSServer
var keep_clients: Array = []
var keep_go_client: GoDTLSClient
var keep_mp: Array = []


func cases() -> Array:
	return [
		["quit with live connections (set up)", test_quit_setup],
	]


func test_quit_setup() -> void:
	keep_server = rsa_server()
	for i in 3:
		keep_clients.append(new_client(keep_server.get_local_port()))
	keep_go_client = GoDTLSClient.new()
	keep_go_client.connect_to_host("127.0.0.1", keep_server.get_local_port(), "localhost", TLSOptions.client(rsa_cert))
	keep_clients.append(keep_go_client)
	check(await wait_until(all_connected(keep_clients), keep_server, keep_clients), "4 live connections (one GoDTLSClient) left for quit")
	var pair := await mp_pair()
	check(pair.size() == 2, "a multiplayer server and client left connected for quit")
	keep_mp = pair
