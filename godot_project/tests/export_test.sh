#!/usr/bin/env bash
# Exports the demo the way a game developer does (godot --export-release with
# a preset of godot_project/export_presets.cfg and an export template), checks
# what the exporter wrote, then runs the EXPORTED game as a chat server and
# connects to it: the exported game itself as a PacketPeerDTLS player (a
# second process) and openssl s_client. The server quits by itself once both
# players have left; its exit code must be 0.
#
#   export_test.sh GODOT_EDITOR PCKLIST PRESET TEMPLATE OUT_DIR [PLAYER_CMD]
#
# PCKLIST is extension/cmd/pcklist, built; PRESET is a preset name ("Linux", "Windows", "Linux double precision");
# TEMPLATE a template_release binary; OUT_DIR where the export goes
# (replaced). A Windows export runs under wine. PLAYER_CMD runs the
# player (default: the exported game itself; a Windows export needs a
# Linux one, e.g. the Linux export's game.x86_64).
set -uo pipefail
godot=${1:?usage: export_test.sh GODOT PCKLIST PRESET TEMPLATE OUT [PLAYER]}
pcklist=${2:?pcklist}
preset=${3:?preset}
template=$(realpath "${4:?template}")
out=$(realpath -m "${5:?out dir}")
player=${6:-}
here=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [[ -d "$stage/wine" ]]; then # the wine session's own processes
		WINEPREFIX="$stage/wine" wineserver -k 2>/dev/null
	fi
	rm -rf "$stage"
}
trap cleanup EXIT
fail() {
	echo "FAIL: export_test ($preset): $*"
	exit 1
}

case $preset in
Windows) exe=game.exe lib=dtls_server.windows.x86_64.dll ;;
*) exe=game.x86_64 lib=libdtls_server.linux.x86_64.so ;;
esac

# A copy of the project whose preset names the template: the committed
# presets leave the template empty (the editor's installed templates).
(cd "$here" && tar --exclude=./.godot -cf - .) | tar -C "$stage" -xf -
mkdir -p "$stage/.godot"
cp "$here/.godot/extension_list.cfg" "$stage/.godot/" 2>/dev/null ||
	echo "res://addons/dtls_server/dtls_server.gdextension" >"$stage/.godot/extension_list.cfg"
awk -v name="$preset" -v tpl="$template" '
	/^\[preset\.[0-9]+\]$/ { section = $0; sub(/\]$/, ".options]", section); mine = 0 }
	/^name=/ && $0 == "name=\"" name "\"" { options = section; mine = 1 }
	$0 == options { in_options = 1; print; next }
	/^\[/ { in_options = 0 }
	in_options && /^custom_template\/(release|debug)=/ { sub(/=.*/, "=\"" tpl "\"") }
	{ print }
' "$here/export_presets.cfg" >"$stage/export_presets.cfg"
grep -qF "custom_template/release=\"$template\"" "$stage/export_presets.cfg" || fail "no preset named \"$preset\" in export_presets.cfg"

rm -rf "$out"
mkdir -p "$out"
echo "exporting preset \"$preset\" with $template"
# The first run imports the project (a fresh copy has no .godot cache).
timeout 300 "$godot" --headless --path "$stage" --import >"$stage/import.log" 2>&1
timeout 300 "$godot" --headless --path "$stage" --export-release "$preset" "$out/$exe" >"$stage/export.log" 2>&1
code=$?
# The exporter's warnings and errors (a missing library is a GDExtension
# warning), without the headless editor's own (no fontconfig, no renderer).
grep -E "^(WARNING|ERROR)" "$stage/export.log" | grep -vE "fontconfig|locales|renderers" | sed 's/^/  exporter: /'
[[ $code -eq 0 ]] || { cat "$stage/export.log"; fail "godot --export-release exited $code"; }

# What the exporter wrote: the executable, its pack, and the library beside
# them, once.
echo "exported files:"
(cd "$out" && find . -type f -printf '  %p %s bytes\n' | sort)
[[ -f "$out/$exe" ]] || fail "no $exe"
[[ -f "$out/game.pck" ]] || fail "no game.pck beside $exe"
[[ -f "$out/$lib" ]] || fail "$lib is not beside $exe"
copies=$(find "$out" -name 'libdtls_server*' -o -name 'dtls_server*.dll' -o -name '*.dylib' | wc -l)
[[ $copies -eq 1 ]] || fail "$copies copies of the library in the export, want 1"
# What the pack holds (pcklist reads its directory).
"$pcklist" "$out/game.pck" >"$stage/pack.txt" || fail "cannot read game.pck's directory"
echo "the pack holds $(wc -l <"$stage/pack.txt") files"
grep -q "^res://demo/demo.gd" "$stage/pack.txt" || fail "the pack has no res://demo/demo.gd: the checks below would prove nothing"
grep -q "^res://addons/dtls_server/dtls_server.gdextension" "$stage/pack.txt" || fail "the pack has no .gdextension: the game could not load the addon"
if grep -E "^res://(tests|bench)/" "$stage/pack.txt"; then
	fail "the pack holds the test suite or the benchmarks (above)"
fi
if grep -E "^res://addons/dtls_server/bin/" "$stage/pack.txt"; then
	fail "the pack holds a second copy of the library (above); it must sit beside the executable only"
fi

if [[ $preset == Windows ]]; then
	export WINEPREFIX="$stage/wine" WINEDEBUG=-all
	"$here/../bridge/testdata/windows/wineprefix.sh" "$WINEPREFIX" || fail "cannot make a wine prefix"
	# Wine's desktop first, or the console wrapper may never exit (desktop.sh)
	"$here/../bridge/testdata/windows/desktop.sh" || fail "no Wine desktop"
fi
run() { # how the exported game is started
	if [[ $preset == Windows ]]; then
		wine "$out/${exe%.exe}.console.exe" "$@"
	else
		"$out/$exe" "$@"
	fi
}
player=${player:-$out/$exe}

# The exported game as a server; port 0: any free port, printed.
run --headless -- --serve=0 --clients=2 --seconds=90 >"$stage/server.log" 2>&1 &
pids+=($!)
server=$!
for _ in $(seq 1 300); do grep -q '^SERVING ' "$stage/server.log" && break; sleep 0.1; done
port=$(grep -m1 '^SERVING ' "$stage/server.log" | tr -d '\r' | cut -d' ' -f2)
[[ -n $port ]] || { cat "$stage/server.log"; fail "the exported server never printed SERVING"; }
echo "exported game serving on UDP $port ($(grep -m1 '^ENGINE ' "$stage/server.log" | tr -d '\r'))"
if [[ $preset == *double* ]] && ! grep -q '^ENGINE .* double' "$stage/server.log"; then
	fail "the exported game does not run on a double-precision engine: wrong template?"
fi

# Player 1: PacketPeerDTLS in a second Godot process.
timeout 60 $player --headless -- --connect="127.0.0.1:$port" --name=exported-player >"$stage/player.log" 2>&1
code=$?
grep -E '^(CLIENT|connect)' "$stage/player.log" | sed 's/^/  player: /'
[[ $code -eq 0 ]] && grep -q "connect: my line came back" "$stage/player.log" ||
	{ cat "$stage/player.log"; fail "the PacketPeerDTLS player did not get its chat line back (exit $code)"; }

# Player 2: openssl, speaking the demo's protocol: var_to_bytes of
# {"type": "hello", "name": "openssl"} in one record. The server answers
# with a "welcome" Dictionary.
hello() {
	printf '\x1b\x00\x00\x00\x02\x00\x00\x00'
	printf '\x04\x00\x00\x00\x04\x00\x00\x00type\x04\x00\x00\x00\x05\x00\x00\x00hello\x00\x00\x00'
	printf '\x04\x00\x00\x00\x04\x00\x00\x00name\x04\x00\x00\x00\x07\x00\x00\x00openssl\x00'
}
(
	hello
	sleep 2
) | timeout 30 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" -brief >"$stage/openssl.log" 2>&1
grep -q "CONNECTION ESTABLISHED" "$stage/openssl.log" || { cat "$stage/openssl.log"; fail "openssl did not complete the handshake"; }
grep -aq welcome "$stage/openssl.log" || { cat -v "$stage/openssl.log"; fail "openssl got no welcome"; }
echo "  openssl: $(grep -a Ciphersuite "$stage/openssl.log"), welcomed"

# Both left: the server quits on its own, cleanly.
for _ in $(seq 1 300); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then
	cat "$stage/server.log"
	if [[ $preset == Windows ]]; then
		# Which Windows processes are left, and where their threads wait.
		"$here/../bridge/testdata/windows/hung.sh" game "$stage/wine-processes.txt"
	fi
	fail "the exported server did not quit after both players left"
fi
wait "$server"
code=$?
tr -d '\r' <"$stage/server.log" | grep -E '^\[server\]|^SERVED|^serve' | sed 's/^/  server: /'
if grep -E "SCRIPT ERROR|ERROR: .*(GoDTLS|dtls_server|GDExtension)" "$stage/server.log" "$stage/player.log"; then
	cat "$stage/server.log" # the whole message (a stop that hung prints every goroutine)
	fail "errors in the exported game's output"
fi
[[ $code -eq 0 ]] || { cat "$stage/server.log"; fail "the exported server exited $code"; }
grep -q "serve: 2 players joined and left" "$stage/server.log" || fail "the server did not see both players leave"
echo "PASS: export_test ($preset): the exported game served a PacketPeerDTLS player and openssl, and quit cleanly"
