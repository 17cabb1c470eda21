# What the benchmark scenes read of their own process from /proc (Linux).
# /proc files report a size of 0, so they are read line by line.
extends RefCounted


# User + system CPU time of every thread of this process, in ms (from
# /proc/self/stat, 10 ms ticks): the goroutines' work counts too.
static func cpu_ms() -> float:
	var f := FileAccess.open("/proc/self/stat", FileAccess.READ)
	if f == null:
		return 0.0
	var line := f.get_line()
	# the command name (field 2) is in parentheses and may hold spaces;
	# fields[0] is then field 3 (state), utime field 14, stime field 15
	var fields := line.substr(line.rfind(")") + 2).split(" ")
	return (int(fields[11]) + int(fields[12])) * 10.0


# Resident set size in KiB.
static func rss_kib() -> int:
	var f := FileAccess.open("/proc/self/status", FileAccess.READ)
	if f == null:
		return 0
	while not f.eof_reached():
		var line := f.get_line()
		if line.begins_with("VmRSS:"):
			return int(line.split(":")[1].strip_edges().split(" ")[0])
	return 0
