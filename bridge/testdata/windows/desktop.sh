#!/usr/bin/env bash
# Starts the Wine session's desktop process (explorer.exe /desktop) in
# WINEPREFIX and waits until it is up, before a Godot export runs there.
# The desktop is started by the session's first program that needs it. If
# that is the game, it joins the job of Godot's console wrapper, which
# waits for every process of its job to end: the game quits, and the
# wrapper waits for the desktop for good (5 of 6 runs of an exported game
# with --quit, with no addon loaded at all; docs/reliability.md). Started
# first, it is not the game's child. Real Windows has no such process.
# The session's own process list says when it is up (a desktop of the
# prefix's set-up may still be ending when this starts). wineserver -k
# ends it with the session. Usage: WINEPREFIX=... desktop.sh
set -uo pipefail
: "${WINEPREFIX:?desktop.sh: set WINEPREFIX}"
(wine explorer.exe /desktop >/dev/null 2>&1 &)
sleep 1
for _ in $(seq 1 30); do
	winedbg --command "info process" 2>/dev/null | grep -q "'explorer.exe'" && exit 0
	sleep 0.5
done
echo "desktop.sh: Wine's desktop process did not come up in $WINEPREFIX" >&2
exit 1
