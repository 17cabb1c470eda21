#!/usr/bin/env bash
# The dedicated-server example against the real Agones SDK server (its
# cmd/sdk-server, run with --local on loopback), with two players:
#   tests/dedicated_test.sh GODOT SDK_SERVER
# Checks through the SDK server's REST API that the GameServer went Ready,
# that the "players" Counter followed the players (2, then 1, then 0), that
# WatchGameServer told the server of its allocation, and that the server
# reached Shutdown after the drain and exited.
set -uo pipefail
godot=${1:?usage: dedicated_test.sh GODOT SDK_SERVER}
sdk=${2:?usage: dedicated_test.sh GODOT SDK_SERVER}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "DEDICATED FAIL $*"
	for f in "$work"/*.log; do
		echo "---- $(basename "$f")"
		tail -n 30 "$f"
	done
	exit 1
}

free_port() { # a free TCP+UDP port from the kernel
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		shuf -i 20000-60000 -n 1
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds
wait_for() {
	local what=$1 secs=$2
	shift 2
	local end=$((SECONDS + secs))
	until "$@"; do
		((SECONDS < end)) || fail "timed out waiting for: $what"
		sleep 0.2
	done
}

http=$(free_port)
grpc=$(free_port)
health=$(free_port)
game=$(free_port)
api="http://127.0.0.1:$http"

"$sdk" --local --address 127.0.0.1 --http-port "$http" --grpc-port "$grpc" --health-port "$health" \
	-f "$here/tests/dedicated/gameserver.yaml" >"$work/sdk.log" 2>&1 &
pids+=($!)
wait_for "the SDK server" 30 curl -sf "$api/gameserver" -o /dev/null

state() { curl -sf "$api/gameserver" | jq -r '.status.state'; }
players() { curl -sf "$api/v1beta1/counters/players" | jq -r '.count'; }
is_state() { [[ "$(state)" == "$1" ]]; }
has_players() { [[ "$(players)" == "$1" ]]; }
logged() { grep -qs "$2" "$work/$1.log"; }

AGONES_SDK_HTTP_PORT=$http "$godot" --headless --path "$here" res://demo/dedicated/dedicated_server.tscn -- \
	--port="$game" --match-seconds=2 >"$work/server.log" 2>&1 &
server=$!
pids+=($server)
wait_for "the server listening" 60 logged server "LISTENING $game"
wait_for "GameServer Ready" 20 is_state Ready
echo "DEDICATED OK the GameServer went Ready"

for who in a b; do
	stay=0
	[[ $who == a ]] && stay=3
	"$godot" --headless --path "$here" -s res://tests/dedicated/client.gd -- --port="$game" --name="$who" --stay=$stay \
		>"$work/client_$who.log" 2>&1 &
	pids+=($!)
done
wait_for "two players counted" 30 has_players 2
echo "DEDICATED OK the players Counter is 2 with both players in"
wait_for "player a leaving" 20 logged client_a "LEFT a"
wait_for "one player counted" 20 has_players 1
echo "DEDICATED OK the players Counter is 1 after one left"

curl -sf -X POST -H "Content-Type: application/json" -d '{}' "$api/allocate" -o /dev/null || fail "POST /allocate"
wait_for "the server learning of its allocation (WatchGameServer)" 20 logged server "STATE Allocated"
echo "DEDICATED OK WatchGameServer told the server it was Allocated"

wait_for "the match's end" 20 logged server "MATCH OVER"
wait_for "player b let go with the reason" 20 logged client_b "DISCONNECTED b the match is over"
wait_for "the drain" 20 logged server "DRAINED"
wait_for "GameServer Shutdown" 20 is_state Shutdown
[[ "$(players)" == 0 ]] || fail "the players Counter is $(players) at the end, not 0"
echo "DEDICATED OK drained, players Counter 0, GameServer Shutdown"
for _ in $(seq 100); do
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$server" 2>/dev/null; then
	# a Windows engine under wine: which Windows processes are left
	[[ -n "${WINEPREFIX:-}" ]] && "$here/../bridge/testdata/windows/hung.sh" godot
	fail "the server did not exit after Shutdown"
fi
wait "$server"
code=$?
[[ $code == 0 ]] || fail "the server exited with $code"
if grep -qi "SCRIPT ERROR\|panic:\|Program crashed" "$work"/*.log; then
	fail "an error in the logs"
fi
echo "DEDICATED PASS"
