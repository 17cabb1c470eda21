#!/usr/bin/env bash
# Loads the Windows build under wine with a MinGW host program (see host.c).
# Usage: run.sh path/to/dtls_server.windows.x86_64.dll
set -uo pipefail
dll=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
x86_64-w64-mingw32-gcc -O2 -o "$work/host.exe" "$here/host.c" || exit 1
cp "$dll" "$work/"
export WINEPREFIX="$work/prefix" WINEDEBUG=-all
cd "$work"
"$here/wineprefix.sh" "$WINEPREFIX" || exit 1
timeout 300 wine host.exe "$(basename "$dll")" > "$work/out" 2>&1
code=$?
cat "$work/out"
# A fault in any thread (a Go thread running unmapped code after FreeLibrary)
# shows up in wine's output even when host.exe's main thread got to "ok".
if grep -q "Unhandled page fault\|Unhandled exception\|Internal crash" "$work/out"; then
	echo "FAIL: the process faulted"
	exit 1
fi
grep -q "^ok:" "$work/out" && exit "$code"
exit 1
