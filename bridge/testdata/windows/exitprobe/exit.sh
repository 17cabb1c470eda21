#!/usr/bin/env bash
# Runs exit.exe under wine many times, in both shapes, and counts the
# processes that did not end by themselves within 20 s.
# Usage: exit.sh [runs per shape]   (not part of ./build.sh test)
set -uo pipefail
runs=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
	go build -buildmode=c-shared -o "$work/exitprobe.dll" ./bridge/testdata/windows/exitprobe) || exit 1
x86_64-w64-mingw32-gcc -O2 -o "$work/exit.exe" "$here/exit.c" || exit 1
export WINEPREFIX="$work/prefix" WINEDEBUG=-all
"$here/../wineprefix.sh" "$WINEPREFIX" >/dev/null || exit 1
cd "$work"
failed=0
for shape in stop live; do
	hung=0 faulted=0
	for i in $(seq "$runs"); do
		timeout -k 5 20 wine exit.exe exitprobe.dll "$shape" 8 > out 2>&1
		code=$?
		if [[ $code -eq 124 || $code -eq 137 ]]; then
			hung=$((hung + 1))
			echo "run $i ($shape): did not exit within 20 s"
		elif [[ $code -ne 0 ]] || ! grep -q '^exiting' out || grep -q "Unhandled\|Internal crash" out; then
			faulted=$((faulted + 1))
			echo "run $i ($shape): exit code $code"; cat out
		fi
		wineserver -k 2>/dev/null
	done
	echo "$shape: $runs runs, $hung did not exit, $faulted failed"
	[[ $hung -eq 0 && $faulted -eq 0 ]] || failed=1
done
exit $failed
