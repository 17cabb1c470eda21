#!/usr/bin/env bash
# Loads the Linux library with a stand-in for the GDExtension loader of
# several Godot builds (see host.c). Usage: run.sh path/to/libdtls_server.linux.x86_64.so
set -uo pipefail
lib=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${CC:-gcc}" -O2 -Wall -o "$work/host" "$here/host.c" -ldl || exit 1
timeout 120 "$work/host" "$lib"
