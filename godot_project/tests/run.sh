#!/usr/bin/env bash
# Runs the GDScript suite in a headless Godot and fails on any failed test,
# SCRIPT ERROR, leaked object or crash. Usage: tests/run.sh /path/to/godot
# (or tests/wine_godot.sh, for a Windows engine under Wine)
set -uo pipefail
godot=${1:?usage: run.sh GODOT}
here=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

timeout 600 "$godot" --headless --path "$here" -s res://tests/run_tests.gd 2>&1 | tee "$log"
code=${PIPESTATUS[0]}

fail=0
if [[ $code -ne 0 ]]; then
	echo "run.sh: godot exited with $code"
	fail=1
fi
if grep -q "SCRIPT ERROR" "$log"; then
	echo "run.sh: SCRIPT ERROR in the output"
	fail=1
fi
if grep -q "ObjectDB instances leaked\|Leaked instance\|resources still in use at exit" "$log"; then
	echo "run.sh: objects leaked at exit"
	fail=1
fi
# The library asks the engine only for what this engine has (ARCHITECTURE.md,
# "Which interface functions, on which engine"): each refused ask prints one
# of these. The one that is stated: get_godot_version on a 4.5+ engine built
# with deprecated=no, asked for first.
if grep "Attempt to get non-existent interface function\|has changed and no compatibility fallback" "$log" |
	grep -vq "non-existent interface function: 'get_godot_version'\."; then
	echo "run.sh: the library asked the engine for a function or method it does not have"
	fail=1
fi
if grep -qi "Program crashed\|Segmentation fault\|panic:\|fatal error:" "$log"; then
	echo "run.sh: crash"
	fail=1
fi
# (a Windows engine ends its lines with \r\n)
summary=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
if [[ -z $summary ]]; then
	echo "run.sh: no summary line: the suite did not finish"
	fail=1
elif [[ $summary != *" 0 failed" ]]; then
	fail=1
fi
exit $fail
