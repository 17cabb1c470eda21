#!/usr/bin/env bash
# The multiplayer scenario across separate Godot processes: a server, three
# play clients, an intruder with a wrong secret, and two clients on a
# simulated bad network (GODTLS_SIMULATE: 5 % and 20 % loss each way, with
# reordering). The server process runs and judges the scenario
# (tests/mp/mp_main.gd); this script starts everything, then checks every
# log.
# Usage: tests/multiplayer_test.sh GODOT (or tests/wine_godot.sh, for a
# Windows engine under Wine)
set -uo pipefail
godot=${1:?usage: multiplayer_test.sh GODOT}
here=$(cd "$(dirname "$0")/.." && pwd)
logs=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$logs"
}
trap cleanup EXIT

run_godot() { # name, then user arguments
	local name=$1
	shift
	timeout 300 "$godot" --headless --path "$here" res://tests/mp/mp_main.tscn -- "$@" >"$logs/$name.log" 2>&1 &
	pids+=($!)
}

wait_line() { # file, pattern: prints the first matching line
	for _ in $(seq 1 600); do
		if line=$(tr -d '\r' <"$1" 2>/dev/null | grep -m1 -E "$2"); then # (\r: a Windows engine's line ends)
			echo "$line"
			return 0
		fi
		sleep 0.1
	done
	echo "multiplayer_test: no line /$2/ in $1:" >&2
	cat "$1" >&2
	return 1
}

run_godot server --role=server
port=$(wait_line "$logs/server.log" '^PORT [0-9]+') || exit 1
port=${port#PORT }

for n in 1 2 3; do
	run_godot "play$n" --role=client --port="$port" --name="play$n" --kind=play
done
run_godot intruder --role=client --port="$port" --name=intruder --kind=intruder --secret=wrong
GODTLS_SIMULATE="loss=0.05,reorder=0.03" run_godot loss5 --role=client --port="$port" --name=loss5 --kind=loss
GODTLS_SIMULATE="loss=0.20,reorder=0.03" run_godot loss20 --role=client --port="$port" --name=loss20 --kind=loss

server_pid=${pids[0]}
wait "$server_pid"
server_code=$?
# the clients that are left see server_disconnected and quit by themselves
sleep 3

fail=0
echo "---- server"
grep -E '^MP ' "$logs/server.log"
if [[ $server_code -ne 0 ]] || ! grep -q '^MP PASS' "$logs/server.log"; then
	echo "multiplayer_test: the server's scenario failed (exit $server_code)"
	cat "$logs/server.log"
	for c in loss5 loss20; do # what the loss clients saw (docs/reliability.md, "A client's first RPCs under loss")
		echo "---- $c"
		head -40 "$logs/$c.log"
	done
	fail=1
fi
kicked=$(grep -m1 '^MP KICKED' "$logs/server.log" | tr -d '\r' | cut -d' ' -f3)
killed=$(grep -m1 '^MP KILLED' "$logs/server.log" | tr -d '\r' | cut -d' ' -f3)
stayed=
for n in play1 play2 play3; do
	[[ $n != "$kicked" && $n != "$killed" ]] && stayed=$n
done
for c in $stayed loss5 loss20; do
	if ! grep -q '^SERVER_DISCONNECTED' "$logs/$c.log"; then
		echo "multiplayer_test: $c did not see server_disconnected when the server quit"
		cat "$logs/$c.log"
		fail=1
	fi
done
if [[ -z $kicked ]] || ! grep -q 'reason=kicked by the test' "$logs/$kicked.log"; then
	echo "multiplayer_test: the kicked client ($kicked) did not see its reason"
	cat "$logs/$kicked.log"
	fail=1
fi
if grep -q '^CONNECTED' "$logs/intruder.log" && ! grep -qE '^(SERVER_DISCONNECTED|AUTH_FAILED)' "$logs/intruder.log"; then
	echo "multiplayer_test: the intruder was not turned away"
	cat "$logs/intruder.log"
	fail=1
fi
# SceneMultiplayer's error for a packet of a peer still authenticating: a
# genuine client's messages wait for its completion (docs/reliability.md).
if grep -q 'packet\[1\] != SYS_COMMAND_AUTH" is true' "$logs/server.log"; then
	echo "multiplayer_test: SceneMultiplayer dropped messages of a client still authenticating:"
	grep -c 'packet\[1\] != SYS_COMMAND_AUTH" is true' "$logs/server.log"
	fail=1
fi
for f in "$logs"/*.log; do
	if grep -qE 'SCRIPT ERROR|Program crashed|Segmentation fault|panic:|fatal error:' "$f"; then
		echo "multiplayer_test: error in $(basename "$f"):"
		cat "$f"
		fail=1
	fi
done
for c in loss5 loss20; do
	echo "$c: $(grep -m1 'simulating a bad network' "$logs/$c.log" | sed 's/^[A-Z]*: //')"
	if ! grep -q 'simulating a bad network' "$logs/$c.log"; then
		echo "multiplayer_test: $c did not report its simulated network"
		fail=1
	fi
done
if [[ $fail -eq 0 ]]; then
	echo "multiplayer_test: PASS"
fi
exit $fail
