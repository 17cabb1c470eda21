#!/usr/bin/env bash
# A Windows Godot under Wine, taking a Godot's arguments: run.sh and
# multiplayer_test.sh take this script as their Godot, so the engine suite
# runs on a Windows engine with the Windows build of the library. The
# engine is a template_release's console wrapper (it passes the game's
# output and exit code on). It runs in the caller's Wine session, whose
# prefix (bridge/testdata/windows/wineprefix.sh) and desktop (desktop.sh)
# are up, and which the caller ends (wineserver -k): processes that must
# see each other (the multiplayer test's server kills a client) share it.
#   WINEPREFIX=... GODOT_WINDOWS=.../godot.windows.template_release.x86_64.console.exe wine_godot.sh ARGS...
set -uo pipefail
exe=${GODOT_WINDOWS:?wine_godot.sh: set GODOT_WINDOWS to a Windows Godot .console.exe}
: "${WINEPREFIX:?wine_godot.sh: set WINEPREFIX to a Wine session whose desktop is up}"
export WINEDEBUG=-all
exec wine "$exe" "$@"
