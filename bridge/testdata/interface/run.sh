#!/usr/bin/env bash
# Loads the Linux library with a stand-in for the GDExtension loader of
# several Godot builds (see host.c). Usage: run.sh path/to/libdtls_server.linux.x86_64.so
# Another architecture's library: CC its cross compiler, HOST_EXEC what runs
# the host (qemu-aarch64 -L /usr/aarch64-linux-gnu for arm64).
set -uo pipefail
lib=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${CC:-gcc}" -O2 -Wall -o "$work/host" "$here/host.c" -ldl || exit 1
# shellcheck disable=SC2086 # HOST_EXEC is a command and its arguments
timeout 120 ${HOST_EXEC:-} "$work/host" "$lib"
