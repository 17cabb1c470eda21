#!/usr/bin/env bash
# One entry point for building, testing and benchmarking the addon.
#   ./build.sh          build everything that exists (Go engine; the GDExtension
#                       library into godot_project/ once bridge/ exists)
#   ./build.sh test     vet, the Go tests with -race, then the Godot suite
#   ./build.sh bench    the Go benchmarks (engine vs raw pion, echo, memory), then
#                       with Godot the engine and multiplayer benchmarks (docs/)
#                       MP_ONLY=1: only the multiplayer one
#   ./build.sh all      the library for every target this machine can build
#   ./build.sh package  dist/dtls_server-<version>.zip with addons/dtls_server/
#   ./build.sh windows  the Windows DLL under wine: loaded by a stand-in host,
#                       its sockets, and the Godot suite, the multiplayer
#                       test and the dedicated-server test on a Windows
#                       template
#   ./build.sh arm64    the Linux arm64 library and every Go package's
#                       tests, run under qemu-aarch64 (also part of test)
#   ./build.sh export   export the demo with templates built from source
#                       (Linux; Windows run under wine; double precision;
#                       what a Web export does) and run the exported game
#   ./build.sh cgocheck the Godot suite against a library built with
#                       GOEXPERIMENT=cgocheck2, run with GODEBUG=cgocheck=1,invalidptr=1
#   ./build.sh soak [minutes]
#                       churn, lossy links, spoofed bursts, rogue players and a
#                       multiplayer game at once (default 20 minutes; not in test)
#   ./build.sh stress   the lossy multiplayer exchange 300 times, counting stalls
set -euo pipefail
cd "$(dirname "$0")"

export CGO_ENABLED=1
GO=${GO:-go}

say() { printf '\n==> %s\n' "$*"; }
# skipped: a check that could not run here, said loudly
skipped() {
	echo "############################################################"
	echo "# SKIPPED: $*"
	echo "############################################################"
}

find_godot() {
	if [[ -n "${GODOT:-}" && -x "${GODOT}" ]]; then
		echo "$GODOT"
	elif command -v godot >/dev/null 2>&1; then
		command -v godot
	fi
}

# find_sdk_server: Agones' SDK server (its cmd/sdk-server, built from the
# Agones repository: docs/dedicated-servers.md), through AGONES_SDK_SERVER or
# sdk-server on PATH.
find_sdk_server() {
	if [[ -n "${AGONES_SDK_SERVER:-}" && -x "${AGONES_SDK_SERVER}" ]]; then
		echo "$AGONES_SDK_SERVER"
	elif command -v sdk-server >/dev/null 2>&1; then
		command -v sdk-server
	fi
}

build() {
	say "go build ./..."
	$GO build ./...
	build_addon
}

ADDON=godot_project/addons/dtls_server
LINUX_EXPORTS="-extldflags=-Wl,--version-script=$PWD/bridge/exports.map"
# Go writes a .def of every //export unless --export-all-symbols is present;
# --exclude-all-symbols then leaves only our .def: the entry symbol.
WINDOWS_EXPORTS="'-extldflags=-Wl,--export-all-symbols -Wl,--exclude-all-symbols $PWD/bridge/exports.def'"

# lib GOOS GOARCH CC OUTPUT: one c-shared build of the bridge, stripped.
lib() {
	local goos=$1 goarch=$2 cc=$3 out=$4 exports
	case $goos in
	windows) exports=$WINDOWS_EXPORTS ;;
	darwin) exports="" ;;
	*) exports=$LINUX_EXPORTS ;;
	esac
	say "building $out ($goos/$goarch)"
	GOOS=$goos GOARCH=$goarch CC=$cc GOEXPERIMENT=${LIB_GOEXPERIMENT:-${GOEXPERIMENT:-}} $GO build -buildmode=c-shared -trimpath -tags netgo \
		-ldflags="-s -w $exports" -o "$ADDON/bin/$out" ./bridge
	rm -f "$ADDON/bin/${out%.*}.h"
}

install_addon_files() {
	cp dtls_server.gdextension "$ADDON/"
	mkdir -p godot_project/.godot
	echo "res://addons/dtls_server/dtls_server.gdextension" > godot_project/.godot/extension_list.cfg
}

build_addon() {
	mkdir -p "$ADDON/bin"
	lib "$(go env GOOS)" "$(go env GOARCH)" "${CC:-gcc}" "$(native_name)"
	install_addon_files
}

native_name() {
	case "$(go env GOOS)/$(go env GOARCH)" in
	linux/amd64) echo libdtls_server.linux.x86_64.so ;;
	linux/arm64) echo libdtls_server.linux.arm64.so ;;
	windows/amd64) echo dtls_server.windows.x86_64.dll ;;
	darwin/*) echo libdtls_server.macos.universal.dylib ;;
	*) echo "unsupported host $(go env GOOS)/$(go env GOARCH)" >&2; exit 1 ;;
	esac
}

build_all() {
	mkdir -p "$ADDON/bin"
	if [[ "$(go env GOOS)" == darwin ]]; then
		lib darwin arm64 clang libdtls_server.macos.arm64.dylib
		lib darwin amd64 clang libdtls_server.macos.amd64.dylib
		lipo -create "$ADDON/bin/libdtls_server.macos.arm64.dylib" "$ADDON/bin/libdtls_server.macos.amd64.dylib" \
			-output "$ADDON/bin/libdtls_server.macos.universal.dylib"
		rm -f "$ADDON/bin/libdtls_server.macos."{arm64,amd64}.dylib
		# ad-hoc signature: macOS refuses to load unsigned arm64 code
		codesign --force --sign - "$ADDON/bin/libdtls_server.macos.universal.dylib"
	else
		lib linux amd64 "${CC_LINUX_AMD64:-gcc}" libdtls_server.linux.x86_64.so
		if command -v aarch64-linux-gnu-gcc >/dev/null; then
			lib linux arm64 aarch64-linux-gnu-gcc libdtls_server.linux.arm64.so
		else
			echo "(skipping linux arm64: apt-get install gcc-aarch64-linux-gnu)"
		fi
		if command -v x86_64-w64-mingw32-gcc >/dev/null; then
			lib windows amd64 x86_64-w64-mingw32-gcc dtls_server.windows.x86_64.dll
		else
			echo "(skipping windows x86_64: apt-get install gcc-mingw-w64-x86-64)"
		fi
		echo "(macOS universal: run ./build.sh all on a Mac)"
	fi
	install_addon_files
	ls -la "$ADDON/bin"
}

# package: the zip users download; addons/dtls_server/ at its root.
package() {
	local version stage zip
	version=$(cat VERSION)
	stage=$(mktemp -d)
	zip="dist/dtls_server-$version.zip"
	ls "$ADDON"/bin/* >/dev/null 2>&1 || build_all
	mkdir -p "$stage/addons/dtls_server" dist
	cp -r "$ADDON/bin" "$ADDON/icons" bridge/doc_classes dtls_server.gdextension "$stage/addons/dtls_server/"
	cp LICENSE "$stage/addons/dtls_server/LICENSE"
	cp "$(go env GOROOT)/LICENSE" "$stage/addons/dtls_server/LICENSE.go"
	# one license per Go module compiled into the library
	local modcache mod path ver
	modcache=$(go env GOMODCACHE)
	while read -r mod path ver; do
		[[ $mod == dep ]] || continue
		local lic
		lic=$(ls "$modcache/$(echo "$path" | sed 's/[A-Z]/!\L&/g')@$ver"/LICENSE* 2>/dev/null | head -1)
		if [[ -z $lic ]]; then
			echo "no license file found for $path@$ver" >&2
			exit 1
		fi
		cp "$lic" "$stage/addons/dtls_server/LICENSE.$(echo "$path" | tr '/' '_')"
	done < <(go version -m "$ADDON/bin/$(native_name)" | awk '{print $1, $2, $3}')
	rm -f "$zip"
	(cd "$stage" && find addons -type f | sort | zip -q -X "$OLDPWD/$zip" -@)
	rm -rf "$stage"
	say "wrote $zip"
	unzip -l "$zip"
}

run_demo() {
	local godot
	godot=$(find_godot || true)
	if [[ -z "$godot" ]]; then
		echo "(no Godot 4 binary: set GODOT or put godot on PATH to run the demo)"
		return 0
	fi
	say "running the demo headless with $godot"
	timeout 120 "$godot" --headless --path godot_project 2>&1 | grep -v "^$"
	[[ ${PIPESTATUS[0]} -eq 0 ]] || return 1
	say "running the multiplayer demo headless with $godot"
	timeout 120 "$godot" --headless --path godot_project res://demo/multiplayer/mp_demo.tscn 2>&1 | grep -v "^$"
	return "${PIPESTATUS[0]}"
}

test_go() {
	say "go vet ./..."
	$GO vet ./...
	# The pure-Go packages, their tests included, must build for the other
	# desktops too: a game's developer on Windows or macOS runs them there.
	say "go vet ./extension/... for Windows and macOS"
	GOOS=windows $GO vet ./extension/...
	GOOS=darwin $GO vet ./extension/...
	say "go test -race ./..."
	# -json, so that testreport can name the tests that skipped: go test
	# without -v shows them nowhere. pipefail keeps go test's own status.
	$GO test -race -count=1 -timeout 20m -json ./... | $GO run ./extension/cmd/testreport
}

test_godot() {
	local godot
	godot=$(find_godot || true)
	if [[ ! -d godot_project/tests ]]; then
		skipped "Godot engine suite: godot_project/tests does not exist yet (the bridge issue adds it)."
		return 0
	fi
	if [[ -z "$godot" ]]; then
		skipped "Godot engine suite: no Godot 4 binary (set GODOT or put 'godot' on PATH). Only the Go tests ran."
		return 0
	fi
	build_addon
	say "Godot engine suite with $godot"
	godot_project/tests/run.sh "$godot"
	say "multiplayer across processes with $godot (SceneMultiplayer, simulated bad networks)"
	godot_project/tests/multiplayer_test.sh "$godot"
	# GODOT_COMPAT: more engines to run the same suite on (space-separated);
	# by default godot-compat, godot-nodep and godot-nodep44 on PATH, those
	# there are (on this project's machines: 4.6-dev builds, one with
	# precision=double, one with deprecated=no; and 4.4.1 with
	# deprecated=no, whose interface functions the library picks by a
	# branch of its own)
	local compat=${GODOT_COMPAT:-$(command -v godot-compat godot-nodep godot-nodep44 || true)}
	for extra in $compat; do
		say "Godot engine suite with $extra (compatibility)"
		godot_project/tests/run.sh "$extra"
		say "multiplayer across processes with $extra (compatibility)"
		godot_project/tests/multiplayer_test.sh "$extra"
	done
	local sdk
	sdk=$(find_sdk_server || true)
	if [[ -n "$sdk" ]]; then
		say "dedicated server on Agones: the example against the real SDK server ($sdk --local)"
		godot_project/tests/dedicated_test.sh "$godot" "$sdk"
		# the Fleet manifest against Agones' own Fleet schema, from the same
		# Agones tree the SDK server was built in
		local install
		install=$(dirname "$(readlink -f "$sdk")")/../install/yaml/install.yaml
		if [[ -f "$install" ]] && command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
			local tools
			tools=$(mktemp -d)
			say "the Fleet manifest against Agones' Fleet schema (kubeconform v0.8.0, from the Go module proxy)"
			GOBIN=$tools GOFLAGS= $GO install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
			godot_project/demo/dedicated/check_fleet.sh "$install" "$tools/kubeconform"
			rm -rf "$tools"
		else
			skipped "Fleet manifest check: needs Agones' install/yaml/install.yaml beside its SDK server ($install) and python3 with PyYAML"
		fi
	else
		skipped "dedicated-server test: no Agones SDK server (set AGONES_SDK_SERVER or put sdk-server on PATH; docs/dedicated-servers.md builds it)"
	fi
	say "class reference vs the registered API"
	godot_project/tests/docs_test.sh "$godot"
	say "package test: the zip in a fresh project"
	package >/dev/null
	godot_project/tests/package_test.sh "$godot" "dist/dtls_server-$(cat VERSION).zip"
}

# The engine suite, the multiplayer test and (with an Agones SDK server) the
# dedicated-server test on a Windows engine: a Windows
# template_release (found as export_game finds it) runs them under wine
# with the Windows DLL (tests/wine_godot.sh). Godot's own export templates
# can run a project folder and a script as the editor does.
test_godot_windows() {
	local godot windows
	godot=$(find_godot || true)
	windows=${GODOT_TEMPLATE_WINDOWS:-}
	if [[ -z "$windows" && -n "$godot" ]]; then
		windows=$(dirname "$(readlink -f "$godot")")/godot.windows.template_release.x86_64.exe
	fi
	if [[ -z "$windows" || ! -f "$windows" || ! -f "${windows%.exe}.console.exe" ]] ||
		! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
		skipped "Godot engine suite on Windows: needs a Windows template_release and its .console.exe (GODOT_TEMPLATE_WINDOWS, or beside the editor: ${windows:-no editor}), wine and MinGW"
		return 0
	fi
	build_addon
	lib windows amd64 x86_64-w64-mingw32-gcc dtls_server.windows.x86_64.dll
	# one Wine session for all three: the multiplayer test's server kills a client
	local session code=0 wine_godot=$PWD/godot_project/tests/wine_godot.sh
	session=$(mktemp -d)
	if ! bridge/testdata/windows/wineprefix.sh "$session" || ! WINEPREFIX=$session bridge/testdata/windows/desktop.sh; then
		echo "FAIL: no Wine session for the Windows engine in $session"
		code=1
	else
		say "Godot engine suite on Windows: ${windows%.exe}.console.exe under wine, with the Windows DLL"
		WINEPREFIX=$session GODOT_WINDOWS=${windows%.exe}.console.exe godot_project/tests/run.sh "$wine_godot" || code=1
		say "multiplayer across processes on Windows (every process under wine)"
		WINEPREFIX=$session GODOT_WINDOWS=${windows%.exe}.console.exe godot_project/tests/multiplayer_test.sh "$wine_godot" || code=1
		# the Linux SDK server on loopback, as an Agones sidecar beside a
		# Windows game server; the engine's processes under wine
		local sdk
		sdk=$(find_sdk_server || true)
		if [[ -n "$sdk" ]]; then
			say "dedicated server on Agones on Windows: the example under wine against the real SDK server ($sdk --local)"
			WINEPREFIX=$session GODOT_WINDOWS=${windows%.exe}.console.exe godot_project/tests/dedicated_test.sh "$wine_godot" "$sdk" || code=1
		else
			skipped "dedicated-server test on Windows: no Agones SDK server (set AGONES_SDK_SERVER or put sdk-server on PATH; docs/dedicated-servers.md builds it)"
		fi
	fi
	WINEPREFIX=$session wineserver -k 2>/dev/null || true
	rm -rf "$session"
	return "$code"
}

# The demo exported as a game developer exports it, then the exported game
# run as a server (tests/export_test.sh). Templates are found through
# GODOT_TEMPLATE_LINUX / _WINDOWS / _DOUBLE, or beside the editor binary
# (bin/ of the same source tree, as scons names them).
export_game() {
	local godot bin linux windows double pcklist
	godot=$(find_godot || true)
	# (the help text in a variable: grep -q closing the pipe early would
	# fail the pipeline under pipefail)
	if [[ -z "$godot" ]] || [[ "$("$godot" --headless --help 2>/dev/null)" != *--export-release* ]]; then
		skipped "export test: needs a Godot 4 editor binary (GODOT or godot on PATH; a template cannot export)"
		return 0
	fi
	bin=$(dirname "$(readlink -f "$godot")")
	linux=${GODOT_TEMPLATE_LINUX:-$bin/godot.linuxbsd.template_release.x86_64}
	windows=${GODOT_TEMPLATE_WINDOWS:-$bin/godot.windows.template_release.x86_64.exe}
	double=${GODOT_TEMPLATE_DOUBLE:-$bin/godot.linuxbsd.template_release.double.x86_64}
	if [[ ! -f "$linux" ]]; then
		skipped "export test: no Linux template_release (set GODOT_TEMPLATE_LINUX; looked for $linux)"
		return 0
	fi
	build_addon
	pcklist=$(mktemp -d)/pcklist
	$GO build -o "$pcklist" ./extension/cmd/pcklist
	say "export: Linux, with $linux"
	godot_project/tests/export_test.sh "$godot" "$pcklist" Linux "$linux" dist/export/linux
	say "export: what a Web export does with the addon"
	godot_project/tests/export_web_test.sh "$godot" "$pcklist"
	if [[ -f "$windows" ]] && command -v wine >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null; then
		lib windows amd64 x86_64-w64-mingw32-gcc dtls_server.windows.x86_64.dll
		say "export: Windows, with $windows, run under wine; a Linux player connects"
		godot_project/tests/export_test.sh "$godot" "$pcklist" Windows "$windows" dist/export/windows dist/export/linux/game.x86_64
	else
		skipped "Windows export: needs $windows (GODOT_TEMPLATE_WINDOWS), wine and MinGW"
	fi
	if [[ -f "$double" ]]; then
		say "export: Linux double precision, with $double"
		godot_project/tests/export_test.sh "$godot" "$pcklist" "Linux double precision" "$double" dist/export/linux-double
	else
		skipped "double-precision export: needs $double (GODOT_TEMPLATE_DOUBLE)"
	fi
	# An engine built with deprecated=no, as size-optimized templates are:
	# where a godot-nodep editor is on PATH, it exports with its own
	# template (GODOT_TEMPLATE_NODEP, or beside it as scons names it with
	# extra_suffix=nodep)
	local nodep nodep_template
	nodep=$(command -v godot-nodep || true)
	if [[ -n "$nodep" ]]; then
		nodep_template=${GODOT_TEMPLATE_NODEP:-$(dirname "$(readlink -f "$nodep")")/godot.linuxbsd.template_release.x86_64.nodep}
		if [[ -f "$nodep_template" ]]; then
			say "export: Linux, deprecated=no: $nodep with $nodep_template"
			godot_project/tests/export_test.sh "$nodep" "$pcklist" Linux "$nodep_template" dist/export/linux-nodep
		else
			skipped "deprecated=no export: needs $nodep_template (GODOT_TEMPLATE_NODEP)"
		fi
	fi
	rm -rf "$(dirname "$pcklist")"
}

# The library's entry symbol against the interface tables of Godot builds
# from 4.2 to 4.6, with and without deprecated=no (bridge/testdata/interface):
# it takes each build's functions and asks for none a build lacks.
test_interface() {
	if [[ "$(go env GOOS)" != linux ]]; then
		skipped "GDExtension interface test: it loads the Linux library"
		return 0
	fi
	build_addon
	say "the entry symbol against the interface of each Godot build (bridge/testdata/interface)"
	bridge/testdata/interface/run.sh "$ADDON/bin/$(native_name)"
}

# have_tools WHAT PACKAGES TOOL...: 0 when every TOOL is on PATH. When one
# is missing, in CI (which installs them: .ci/run) WHAT fails, status 1;
# elsewhere it is SKIPPED, status 2. A caller returns $(($? == 1)): the
# failure, or 0 for a skip.
have_tools() {
	local what=$1 packages=$2 tool
	shift 2
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		if [[ -n "${CI:-}" ]]; then
			echo "FAIL: the $what needs $tool (apt-get install $packages; .ci/run installs them)"
			return 1
		fi
		skipped "$what (apt-get install $packages)"
		return 2
	done
}

# The Linux arm64 build (ARM servers, boards and handhelds), run under
# qemu's user-mode emulation, since no arm64 Godot runs here: the library's
# entry symbol against each Godot build's interface table, as
# test_interface does for x86_64, and every Go package's tests built for
# arm64 (ARM64_PACKAGES narrows them). It catches what differs by
# architecture: x/crypto's arm64 assembly under the record layer, the
# syscalls of the Linux sockets, the cgo build of the library.
test_arm64() {
	have_tools "Linux arm64 test" "gcc-aarch64-linux-gnu qemu-user" aarch64-linux-gnu-gcc qemu-aarch64 || return $(($? == 1))
	mkdir -p "$ADDON/bin"
	lib linux arm64 aarch64-linux-gnu-gcc libdtls_server.linux.arm64.so
	say "the arm64 library under qemu-aarch64: the entry symbol against the interface of each Godot build"
	CC=aarch64-linux-gnu-gcc HOST_EXEC="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
		bridge/testdata/interface/run.sh "$ADDON/bin/libdtls_server.linux.arm64.so" || return 1
	local packages=${ARM64_PACKAGES:-./extension/...}
	say "Go tests built for arm64, under qemu-aarch64: $packages"
	# shellcheck disable=SC2086 # a list of packages
	GOARCH=arm64 CGO_ENABLED=0 $GO test -count=1 -timeout 1200s -exec qemu-aarch64 -json $packages |
		$GO run ./extension/cmd/testreport
}

# The Windows build loaded under wine by a MinGW host program: exports only
# the entry symbol, refuses a hostile get_proc_address cleanly, stays pinned.
test_windows() {
	have_tools "Windows DLL test" "gcc-mingw-w64-x86-64 wine64" x86_64-w64-mingw32-gcc wine || return $(($? == 1))
	mkdir -p "$ADDON/bin"
	lib windows amd64 x86_64-w64-mingw32-gcc dtls_server.windows.x86_64.dll
	say "Windows DLL under wine"
	bridge/testdata/windows/run.sh "$ADDON/bin/dtls_server.windows.x86_64.dll"
	say "a Go DLL with live sockets exits under wine (bridge/testdata/windows/exitprobe)"
	bridge/testdata/windows/exitprobe/exit.sh 3 || return 1
	# The Go packages with sockets, their tests opening every socket through
	# udpsock (internal/testsock): the engines over the Windows sockets, and
	# testtool's process CPU. What cannot run there skips, saying so (raw
	# sockets, 127.0.0.x source addresses, which wine sends from 127.0.0.1,
	# openssl and gnutls, the frame reads, which are Linux's). The churn
	# tests are left to the Linux run: their thousands of handshakes take
	# minutes under wine (the server's three) and test the engines' heap and
	# goroutines, which no socket code touches.
	say "Go tests under wine: extension/udpsock, internal/testtool, link, netsim, multiplayer, server, client"
	local w pkg code=0
	w=$(mktemp -d)
	bridge/testdata/windows/wineprefix.sh "$w/prefix"
	for pkg in udpsock internal/testtool link netsim multiplayer server client; do
		GOOS=windows GOARCH=amd64 $GO test -c -o "$w/test.exe" "./extension/$pkg" || code=1
		# through test2json to testreport, as the Linux run: a skipped test
		# is named; pipefail keeps the test's own status
		WINEPREFIX="$w/prefix" WINEDEBUG=-all timeout 900 $GO tool test2json -p "godtls/extension/$pkg" \
			wine "$w/test.exe" -test.v=test2json -test.timeout 800s -test.skip '^TestChurnLeaksNothing$' |
			$GO run ./extension/cmd/testreport || code=1
	done
	rm -rf "$w"
	return "$code"
}

case "${1:-build}" in
build)
	build
	run_demo
	;;
test)
	test_go
	test_interface
	test_arm64
	test_windows
	test_godot
	test_godot_windows
	export_game
	;;
export) export_game ;;
windows)
	test_windows
	test_godot_windows
	;;
arm64) test_arm64 ;;
all) build_all ;;
cgocheck)
	# Every pointer passed between Go and C is checked (cgocheck2: also
	# stores of Go pointers into C memory); a violation aborts the engine
	# with a Go traceback, so the suite fails.
	export LIB_GOEXPERIMENT=cgocheck2 GODEBUG=cgocheck=1,invalidptr=1
	test_godot
	;;
package) package ;;
soak)
	say "soak: ${2:-20} minutes (docs/reliability.md)"
	$GO run ./extension/cmd/soak -minutes "${2:-20}"
	;;
stress)
	say "stress: the lossy multiplayer exchange at 5, 20 and 30 % loss (docs/reliability.md)"
	$GO run ./extension/cmd/mpstress
	;;
bench)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	if [[ -z "${MP_ONLY:-}" ]]; then
		say "benchmarks (engine vs raw pion: handshakes, echo round trips, process CPU per echoed packet)"
		$GO test -run '^$' -bench 'Handshake|Echo' -benchtime=2s -count="${COUNT:-3}" ./extension/server
		say "the floor of an echoed 1 KiB packet: seal + open, batched send + receive"
		$GO test -run '^$' -bench 'Floor' -benchtime=2s -count="${COUNT:-3}" ./extension/record
		say "join storms vs raw pion, spoofed flood, cost of an unverified address (docs/benchmarks-engine.md)"
		$GO test -run '^$' -bench 'JoinStorm|SpoofedFlood|UnverifiedCost' -benchtime=1x -count="${COUNT:-3}" ./extension/server
		say "memory per idle peer at 1,000 peers (one process per run: RSS never shrinks)"
		for _ in $(seq "${COUNT:-3}"); do
			for mode in listen attach; do
				$GO test -run '^$' -bench "IdlePeers/$mode" -benchtime=1x -count=1 ./extension/server | grep Benchmark
			done
		done
		say "multiplayer: memory per idle client at 200 clients (one process per run)"
		for _ in $(seq "${COUNT:-3}"); do
			$GO test -run '^$' -bench IdleClients -benchtime=1x -count=1 ./extension/multiplayer | grep Benchmark
		done
		say "multiplayer: reliable latency under 5 % loss (Go, one client)"
		$GO test -run '^$' -bench ReliableLatencyUnderLoss -benchtime=1x -count="${COUNT:-3}" ./extension/multiplayer
	fi
	godot=$(find_godot || true)
	if [[ -z "$godot" ]]; then
		skipped "the Godot benchmarks need a Godot 4 binary (GODOT or godot on PATH)"
	else
		build_addon
		if [[ -z "${MP_ONLY:-}" ]]; then
			say "Godot benchmarks: DTLSServer vs GoDTLSServer vs raw pion (writes docs/benchmarks.md, docs/join_storm.svg, docs/scale.svg)"
			$GO build -o "$tmp/loadgen" ./extension/cmd/loadgen
			$GO run ./extension/cmd/benchrun -godot "$godot" -project godot_project -loadgen "$tmp/loadgen" -out docs -runs "${COUNT:-3}" ${QUICK:+-quick}
		fi
		say "multiplayer: GoDTLSMultiplayerPeer vs ENetMultiplayerPeer with DTLS (writes docs/benchmarks-multiplayer.md, docs/multiplayer.svg)"
		$GO build -o "$tmp/lossyrelay" ./extension/cmd/lossyrelay
		$GO run ./extension/cmd/benchrun -multiplayer -godot "$godot" -project godot_project -relay "$tmp/lossyrelay" -out docs -runs "${COUNT:-3}" ${QUICK:+-quick}
	fi
	;;
*)
	echo "usage: $0 [build|test|bench|all|package|export|cgocheck|soak [minutes]|stress]" >&2
	exit 2
	;;
esac
