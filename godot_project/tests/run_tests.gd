# The headless engine suite, one file per area under tests/suite/ (each
# extends suite/case.gd and lists its cases). Run by tests/run.sh:
#   godot --headless --path godot_project -s res://tests/run_tests.gd
# Prints one line per case, "PASS  <file>: <case>" or "FAIL  <file>: <case>"
# with the failed checks above it, and closes with "N passed, N failed".
extends SceneTree

const GoReadableCert = preload("res://demo/go_readable_cert.gd")

# The areas, in order; quit_test.gd last: it leaves live connections for the
# engine's exit.
const AREAS := [
	"server_test.gd",
	"server_lifecycle_test.gd",
	"dropin_test.gd",
	"client_test.gd",
	"multiplayer_test.gd",
	"monitors_test.gd",
	"arguments_test.gd",
	"threads_test.gd",
	"quit_test.gd",
]

var tests_passed := 0
var tests_failed := 0
var tests_skipped := 0
var test_name := ""
var test_ok := true
var test_skipped := ""

# Every area object lives until the engine quits (quit_test.gd's
# connections must).
var areas: Array = []


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	var crypto := Crypto.new()
	var rsa_key := crypto.generate_rsa(2048)
	var fixtures := {
		"rsa_key": rsa_key,
		# GoDTLSClient cases trust it (demo/go_readable_cert.gd)
		"rsa_cert": GoReadableCert.make(crypto, rsa_key, "CN=localhost,O=GoDTLS tests,C=US"),
		"ec_key_pem": FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_key.pem"),
		"ec_cert_pem": FileAccess.get_file_as_string("res://tests/fixtures/ecdsa_cert.pem"),
	}
	var only := OS.get_environment("GODTLS_SUITE_ONLY") # one area file, to rerun it alone
	for file in AREAS:
		if only != "" and file != only:
			continue
		var script: GDScript = load("res://tests/suite/" + file)
		if script == null or not script.can_instantiate():
			# a release template goes on past a script that does not parse:
			# count it, or the run would end "0 failed"
			begin(file + ": the area loads")
			check(false, "res://tests/suite/%s does not load (its error is above)" % file)
			end()
			continue
		var area = script.new()
		area.setup(self, fixtures)
		areas.append(area)
		for c in area.cases():
			begin(file + ": " + c[0])
			await c[1].call()
			end()
	if tests_passed + tests_failed + tests_skipped == 0:
		begin("the suite")
		check(false, "no case ran (GODTLS_SUITE_ONLY=%s names no area?)" % only)
		end()
	if tests_skipped > 0:
		print("########## %d SKIPPED (not counted as passed) ##########" % tests_skipped)
	print("%d passed, %d failed" % [tests_passed, tests_failed])
	quit(0 if tests_failed == 0 else 1)


func begin(name: String) -> void:
	test_name = name
	test_ok = true
	test_skipped = ""


func skip(why: String, ci_can_provide := true) -> void:
	if ci_can_provide and OS.get_environment("CI") != "":
		check(false, "CI must provide this: " + why)
	else:
		test_skipped = why


func end() -> void:
	if test_skipped != "" and test_ok:
		tests_skipped += 1
		print("SKIPPED  ", test_name, ": ", test_skipped)
	elif test_ok:
		tests_passed += 1
		print("PASS  ", test_name)
	else:
		tests_failed += 1
		print("FAIL  ", test_name)


func check(cond: bool, what: String) -> void:
	if not cond:
		test_ok = false
		print("  check failed in '%s': %s" % [test_name, what])
