#!/usr/bin/env bash
# Prints what a Wine session holds when a Windows process there did not
# end: its process list, and where the threads of the processes whose
# executable matches PATTERN wait. For the tests' failure messages.
# Usage: WINEPREFIX=... hung.sh PATTERN [OUT]   (OUT keeps the list)
set -uo pipefail
: "${WINEPREFIX:?hung.sh: set WINEPREFIX}"
pattern=${1:?usage: hung.sh PATTERN [OUT]}
out=${2:-$(mktemp)}
command -v winedbg >/dev/null || { echo "hung.sh: no winedbg"; exit 0; }
echo "--- wine processes:"
WINEDEBUG=-all winedbg --command "info process" 2>&1 | tee "$out"
# "bt all" walks every process's threads; keep the blocks of the matches
for wpid in $(grep -i "'$pattern" "$out" | awk '{print $1}' | tr -d '='); do
	echo "--- threads of wine process $wpid:"
	WINEDEBUG=-all timeout 60 winedbg --command "bt all" 2>&1 |
		awk -v p="in process ${wpid#0000}" '/^Backtracing for thread/ { keep = index($0, p) > 0 } keep' | head -200
done
