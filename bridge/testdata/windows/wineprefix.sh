#!/usr/bin/env bash
# Makes a wine prefix that can load a Go 1.26 DLL: wine 8.0 (Debian 12) lacks
# bcryptprimitives.dll, which Go's runtime loads from System32 only (for
# ProcessPrng); a stand-in goes there. For test prefixes only: a real
# Windows 10 or newer has the DLL. Usage: wineprefix.sh PREFIX_DIR
set -uo pipefail
prefix=${1:?usage: wineprefix.sh PREFIX_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export WINEPREFIX=$prefix WINEDEBUG=-all
timeout 300 wineboot --init >/dev/null 2>&1
sys32="$WINEPREFIX/drive_c/windows/system32"
if [[ ! -e "$sys32/bcryptprimitives.dll" ]]; then
	x86_64-w64-mingw32-gcc -O2 -shared -o "$sys32/bcryptprimitives.dll" "$here/bcryptprimitives.c" -ladvapi32 || exit 1
fi
