#!/usr/bin/env bash
# A Windows Godot under Wine, taking a Godot's arguments: run.sh takes this
# script as its Godot, so the engine suite runs on a Windows engine with
# the Windows build of the library. The engine is a template_release's
# console wrapper (it passes the game's output and exit code on); a Wine
# prefix of its own is made for each run and ended with it.
#   GODOT_WINDOWS=.../godot.windows.template_release.x86_64.console.exe wine_godot.sh ARGS...
# WINE_GODOT_SESSION=1 with WINEPREFIX set: run in that prefix's session,
# whose desktop is up, and leave it to the caller to end (wineserver -k):
# processes that must see each other (one kills another) share a session.
set -uo pipefail
exe=${GODOT_WINDOWS:?wine_godot.sh: set GODOT_WINDOWS to a Windows Godot .console.exe}
if [[ -n "${WINE_GODOT_SESSION:-}" ]]; then
	: "${WINEPREFIX:?wine_godot.sh: WINE_GODOT_SESSION needs WINEPREFIX}"
	export WINEDEBUG=-all
	exec wine "$exe" "$@"
fi
windows=$(cd "$(dirname "$0")/../../bridge/testdata/windows" && pwd)
prefix=$(mktemp -d)
export WINEPREFIX=$prefix WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null; rm -rf "$prefix"' EXIT
"$windows/wineprefix.sh" "$prefix" || { echo "wine_godot.sh: cannot make a wine prefix"; exit 1; }
"$windows/desktop.sh" || exit 1
wine "$exe" "$@"
