#!/usr/bin/env bash
# One entry point for building, testing and benchmarking the addon.
#   ./build.sh          build everything that exists (Go engine; the GDExtension
#                       library into godot_project/ once bridge/ exists)
#   ./build.sh test     vet, the Go tests with -race, then the Godot suite
#   ./build.sh bench    the Go benchmarks (engine vs raw pion, echo, memory)
set -euo pipefail
cd "$(dirname "$0")"

export CGO_ENABLED=1
GO=${GO:-go}

say() { printf '\n==> %s\n' "$*"; }

find_godot() {
	if [[ -n "${GODOT:-}" && -x "${GODOT}" ]]; then
		echo "$GODOT"
	elif command -v godot >/dev/null 2>&1; then
		command -v godot
	fi
}

build() {
	say "go build ./..."
	$GO build ./...
	build_addon
}

build_addon() {
	if [[ -d bridge ]] && ls bridge/*.go >/dev/null 2>&1; then
		local out=godot_project/addons/dtls_server/bin
		mkdir -p "$out"
		say "building the GDExtension library"
		$GO build -buildmode=c-shared -trimpath \
			-ldflags="-s -w -extldflags=-Wl,--version-script=$PWD/bridge/exports.map" \
		-o "$out/libdtls_server.linux.x86_64.so" ./bridge
		rm -f "$out/libdtls_server.linux.x86_64.h"
		cp dtls_server.gdextension godot_project/addons/dtls_server/
		mkdir -p godot_project/.godot
		echo "res://addons/dtls_server/dtls_server.gdextension" > godot_project/.godot/extension_list.cfg
	fi
}

run_demo() {
	local godot
	godot=$(find_godot || true)
	if [[ -z "$godot" ]]; then
		echo "(no Godot 4 binary: set GODOT or put godot on PATH to run the demo)"
		return 0
	fi
	say "running the demo headless with $godot"
	timeout 120 "$godot" --headless --path godot_project 2>&1 | grep -v "^$"
	return "${PIPESTATUS[0]}"
}

test_go() {
	say "go vet ./..."
	$GO vet ./...
	say "go test -race ./..."
	$GO test -race -count=1 -timeout 20m ./...
}

test_godot() {
	local godot
	godot=$(find_godot || true)
	if [[ ! -d godot_project/tests ]]; then
		echo "############################################################"
		echo "# SKIPPED: Godot engine suite: godot_project/tests does not"
		echo "# exist yet (the bridge issue adds it)."
		echo "############################################################"
		return 0
	fi
	if [[ -z "$godot" ]]; then
		echo "############################################################"
		echo "# SKIPPED: Godot engine suite: no Godot 4 binary (set GODOT"
		echo "# or put 'godot' on PATH). Only the Go tests ran."
		echo "############################################################"
		return 0
	fi
	build_addon
	say "Godot engine suite with $godot"
	godot_project/tests/run.sh "$godot"
}

case "${1:-build}" in
build)
	build
	run_demo
	;;
test)
	test_go
	test_godot
	;;
bench)
	say "benchmarks (engine vs raw pion, echo)"
	$GO test -run '^$' -bench 'Handshake|Echo' -benchtime=2s -count="${COUNT:-3}" ./extension/server
	say "memory per idle peer at 1,000 peers (one process per run: RSS never shrinks)"
	for _ in $(seq "${COUNT:-3}"); do
		$GO test -run '^$' -bench IdlePeers -benchtime=1x -count=1 ./extension/server | grep Benchmark
	done
	;;
*)
	echo "usage: $0 [build|test|bench]" >&2
	exit 2
	;;
esac
