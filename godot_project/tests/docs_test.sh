#!/usr/bin/env bash
# The class reference must describe exactly what the library registers: asks
# Godot's --doctool for the extension's classes and compares every method,
# member, signal, constant, parameter and return type with bridge/doc_classes.
# Usage: docs_test.sh GODOT   (needs an editor build; a template build skips)
set -uo pipefail
godot=${1:?usage: docs_test.sh GODOT}
here=$(cd "$(dirname "$0")/.." && pwd)
docs=$(cd "$here/../bridge/doc_classes" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! timeout 120 "$godot" --headless --path "$here" --doctool "$out" --gdextension-docs >"$out/log" 2>&1 || [[ ! -d "$out/doc_classes" ]]; then
	echo "docs_test: SKIPPED: this Godot binary has no --doctool (not an editor build)"
	exit 0
fi
members() {
	grep -oE '<(method|member|signal|constant) name="[^"]+"|<param index="[0-9]" name="[^"]+" type="[^"]+"( enum="[^"]+")?( default="[^"]+")?|<return type="[^"]+"( enum="[^"]+")?' "$1" | sort
}
fail=0
for f in "$docs"/*.xml; do
	name=$(basename "$f")
	if [[ ! -f "$out/doc_classes/$name" ]]; then
		echo "docs_test: $name documents a class Godot does not know"
		fail=1
		continue
	fi
	if ! diff <(members "$out/doc_classes/$name") <(members "$f"); then
		echo "docs_test: $name differs from what the library registers (< Godot, > docs)"
		fail=1
	fi
done
for f in "$out"/doc_classes/*.xml; do
	[[ -f "$docs/$(basename "$f")" ]] || { echo "docs_test: no class reference for $(basename "$f")"; fail=1; }
done
[[ $fail == 0 ]] && echo "docs_test: class reference matches the registered API"
exit $fail
