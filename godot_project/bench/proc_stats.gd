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


# The calling thread's time on a CPU and time waiting in the run queue
# for one, in µs ([on_cpu, waiting]; [-1, -1] where the kernel does not
# keep these). Read around a step of the main thread, the difference says
# whether a slow step was work or waiting for a core that other threads
# (the goroutines, the GC) held.
static func thread_sched_us() -> Array[int]:
	var f := FileAccess.open("/proc/thread-self/schedstat", FileAccess.READ)
	if f == null:
		return [-1, -1]
	var fields := f.get_line().split(" ")
	if fields.size() < 2:
		return [-1, -1]
	return [int(fields[0]) / 1000, int(fields[1]) / 1000]
