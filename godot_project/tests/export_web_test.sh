#!/usr/bin/env bash
# What a Web export does with the addon (browsers have no UDP sockets, so
# there is no wasm32 build of it). The exporter's GDExtension step runs
# before any template file is read, so a template of empty files is enough
# to see it:
#  1. the committed "Web" preset (addon excluded) exports with no warning
#     and a pack that holds nothing of the addon;
#  2. the same preset without the exclusion is what a user who forgets it
#     gets: the exporter names the missing "wasm32" library.
#   export_web_test.sh GODOT_EDITOR PCKLIST
set -uo pipefail
godot=${1:?usage: export_web_test.sh GODOT PCKLIST}
pcklist=${2:?pcklist}
here=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
fail() {
	echo "FAIL: export_web_test: $*"
	exit 1
}

mkdir -p "$stage/tpl" "$stage/project" "$stage/out"
(cd "$stage/tpl" && for f in godot.html godot.js godot.wasm godot.audio.worklet.js \
	godot.audio.position.worklet.js godot.service.worker.js godot.offline.html; do : >"$f"; done &&
	zip -q ../web_template.zip ./*)
(cd "$here" && tar --exclude=./.godot -cf - .) | tar -C "$stage/project" -xf -
mkdir -p "$stage/project/.godot"
echo "res://addons/dtls_server/dtls_server.gdextension" >"$stage/project/.godot/extension_list.cfg"
presets=$stage/project/export_presets.cfg
sed -i -e "s|^custom_template/release=\"\"|custom_template/release=\"$stage/web_template.zip\"|" -e "s|^custom_template/debug=\"\"|custom_template/debug=\"$stage/web_template.zip\"|" "$presets"
timeout 300 "$godot" --headless --path "$stage/project" --import >/dev/null 2>&1

web_export() {
	rm -rf "$stage/out"/*
	timeout 300 "$godot" --headless --path "$stage/project" --export-release Web "$stage/out/index.html" >"$stage/export.log" 2>&1
}

web_export || { cat "$stage/export.log"; fail "the Web preset did not export"; }
"$pcklist" "$stage/out/index.pck" >"$stage/pack.txt" || fail "cannot read index.pck"
grep -q "^res://demo/demo.gd" "$stage/pack.txt" || fail "the Web pack has no demo: the check below would prove nothing"
if grep -E "^res://(addons/dtls_server|\.godot/extension_list)" "$stage/pack.txt"; then
	fail "the Web export holds the addon (above): the game would try to load a library that cannot exist there"
fi
if grep -q 'WARNING: GDExtension' "$stage/export.log"; then
	grep 'WARNING: GDExtension' "$stage/export.log"
	fail "the committed Web preset still makes the exporter warn about the addon"
fi
echo "  the committed Web preset: exported, nothing of the addon in the pack, no GDExtension warning"

sed -i 's|exclude_filter="tests/\*, bench/\*, addons/dtls_server/\*"|exclude_filter="tests/*, bench/*"|' "$presets"
web_export
msg=$(grep -m1 'No "wasm32" library found for GDExtension' "$stage/export.log")
[[ -n $msg ]] || { cat "$stage/export.log"; fail "without the exclusion the exporter did not name the missing wasm32 library"; }
echo "  without the exclusion the exporter says: ${msg#WARNING: }"
echo "PASS: export_web_test"
