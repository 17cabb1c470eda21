#!/usr/bin/env bash
# Runs one multiplayer benchmark case: a server process and a client process
# (bench/bench_mp.gd), optionally through a lossy relay. Prints the result
# lines of both. Usage:
#   bench/bench_mp.sh GODOT LOSSYRELAY TRANSPORT SCENARIO CLIENTS KEY LOSS [extra client args]
# BENCH_MP_SERVER_ARGS holds extra server arguments (such as --limit=0).
set -uo pipefail
godot=$1 relay=$2 transport=$3 scenario=$4 n=$5 key=$6 loss=$7
shift 7
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
timeout 300 "$godot" --headless --path "$here" -s res://bench/bench_mp.gd -- --role=server --transport="$transport" \
	--scenario="$scenario" --clients="$n" --key="$key" --seconds=60 ${BENCH_MP_SERVER_ARGS:-} >"$tmp/server.log" 2>&1 &
server=$!
pids+=($server)
for _ in $(seq 1 600); do grep -q '^PORT ' "$tmp/server.log" && break; sleep 0.1; done
port=$(grep -m1 '^PORT ' "$tmp/server.log" | cut -d' ' -f2)
[[ -n $port ]] || { cat "$tmp/server.log"; exit 1; }
if [[ $loss != 0 ]]; then
	exec 3< <(sleep 600)
	pids+=($!)
	"$relay" -to "127.0.0.1:$port" -loss "$loss" -reorder 0 <&3 >"$tmp/relay.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do grep -q '^RELAY ' "$tmp/relay.log" && break; sleep 0.1; done
	port=$(grep -m1 '^RELAY ' "$tmp/relay.log" | cut -d' ' -f2)
fi
timeout 300 "$godot" --headless --path "$here" -s res://bench/bench_mp.gd -- --role=client --transport="$transport" \
	--scenario="$scenario" --clients="$n" --port="$port" --seconds=60 "$@" >"$tmp/client.log" 2>&1
if [[ $scenario == rpc ]]; then kill "$server" 2>/dev/null; fi
wait "$server" 2>/dev/null
code=$?
grep -hE '^(JOIN|IDLE|RPC|ECHOED|CLIENTS|LEAVE|FLOOD)' "$tmp/server.log" "$tmp/client.log"
# A server that did not end by itself (rpc: killed on purpose) is worth a look.
if [[ $scenario != rpc && $code -ne 0 ]]; then
	echo "SERVER exit_code=$code"
	tail -20 "$tmp/server.log" | sed 's/^/  server: /'
fi
