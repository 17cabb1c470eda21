#!/usr/bin/env bash
# Starts the Wine session's desktop process (explorer.exe /desktop) in
# WINEPREFIX, keeps it for the session, and waits until it is up, before a
# Godot export or engine runs there.
# Without it, the desktop is started by the session's first program that
# needs it. If that is the game, it joins the job of Godot's console
# wrapper, which waits for every process of its job to end: the game
# quits, and the wrapper waits for the desktop for good (5 of 6 runs of an
# exported game with --quit, with no addon loaded at all;
# docs/reliability.md). And Wine ends a desktop about a second after its
# last Windows process leaves, so a desktop started once goes away between
# two tests, and the next game starts its own: desktop_keeper.exe, a
# program that stays a user of the desktop, starts it and keeps it until
# wineserver -k ends the session. Real Windows has no such process.
# Usage: WINEPREFIX=... desktop.sh
set -uo pipefail
: "${WINEPREFIX:?desktop.sh: set WINEPREFIX}"
here=$(cd "$(dirname "$0")" && pwd)
keeper="$WINEPREFIX/drive_c/desktop_keeper.exe"
if [[ ! -e "$keeper" ]]; then
	x86_64-w64-mingw32-gcc -O2 -o "$keeper" "$here/desktop_keeper.c" || exit 1
fi
(WINEDEBUG=-all wine "$keeper" </dev/null >/dev/null 2>&1 &)
sleep 1
for _ in $(seq 1 30); do
	WINEDEBUG=-all winedbg --command "info process" 2>/dev/null | grep -q "'explorer.exe'" && exit 0
	sleep 0.5
done
echo "desktop.sh: Wine's desktop process did not come up in $WINEPREFIX" >&2
exit 1
