package main

import "math"

// What the process CPU samples of bench_server.gd (every 100 ms and
// whenever a peer joined: ms since start, process CPU ms of every thread,
// packets echoed, peers connected, peers joined so far) say. CPU is /proc/self/stat's user + system time in 10 ms ticks.

const (
	sampleT = iota
	sampleCPU
	sampleEchoed
	sampleConnected
	sampleJoined
)

// cpuPerHandshake is the process CPU of the joins, per peer: from the
// start until the last peer joined, less what the idle process spends in
// that time (idleRate), over the peers that joined. A game drops a peer
// that left before it was taken, so "joined" can fall a little short of
// the load generator's count; CPU and count then stop at the same point.
func cpuPerHandshake(g godotResult) float64 {
	idle := idleRate(g)
	if len(g.Samples) == 0 || math.IsNaN(idle) {
		return math.NaN()
	}
	last := g.Samples[len(g.Samples)-1]
	for _, s := range g.Samples {
		if s[sampleJoined] == last[sampleJoined] {
			if s[sampleJoined] == 0 {
				return math.NaN()
			}
			used := s[sampleCPU] - g.Samples[0][sampleCPU] - idle*s[sampleT]
			return math.Max(0, used) / s[sampleJoined]
		}
	}
	return math.NaN()
}

// idleRate is the process CPU per ms of the run's last 5 s, when nothing
// joined or was echoed in them (NaN otherwise): Godot's own frame loop and
// the idle library, to subtract from the joins' CPU.
func idleRate(g godotResult) float64 {
	n := len(g.Samples)
	if n < 2 {
		return math.NaN()
	}
	last := g.Samples[n-1]
	for i := n - 2; i >= 0; i-- {
		s := g.Samples[i]
		if s[sampleJoined] != last[sampleJoined] || s[sampleEchoed] != last[sampleEchoed] {
			return math.NaN()
		}
		if last[sampleT]-s[sampleT] >= 5000 {
			return (last[sampleCPU] - s[sampleCPU]) / (last[sampleT] - s[sampleT])
		}
	}
	return math.NaN()
}

// echoSpan is the samples from the first with packets echoed to the last
// at which the count still grew: the echo phase, without the joins before
// it and the idle frames after it.
func echoSpan(g godotResult) (first, last int, ok bool) {
	first, last = -1, -1
	for i, s := range g.Samples {
		if s[sampleEchoed] > 0 && first < 0 {
			first = i
		}
		if i > 0 && s[sampleEchoed] > g.Samples[i-1][sampleEchoed] {
			last = i
		}
	}
	return first, last, first >= 0 && last > first
}

// cpuPer1000Echoed is the process CPU per 1,000 packets echoed during the
// echo phase (receive, decrypt, hand to the script, encrypt, send).
func cpuPer1000Echoed(g godotResult) float64 {
	a, b, ok := echoSpan(g)
	if !ok {
		return math.NaN()
	}
	sa, sb := g.Samples[a], g.Samples[b]
	return (sb[sampleCPU] - sa[sampleCPU]) / (sb[sampleEchoed] - sa[sampleEchoed]) * 1000
}

// echoFrames is the frame times of the echo phase (all frames when there
// was none).
func echoFrames(g godotResult) []float64 {
	a, b, ok := echoSpan(g)
	if !ok {
		return g.FrameMs
	}
	from, to := g.Samples[a][sampleT], g.Samples[b][sampleT]
	var out []float64
	for i, t := range g.FrameAtMs {
		if t >= from && t <= to {
			out = append(out, g.FrameMs[i])
		}
	}
	return out
}

const cpuNote = `
*Process CPU* columns are user + system time of every thread of the Godot process (from /proc/self/stat, 10 ms ticks, sampled every 100 ms): the goroutines' work is in them, as a game server pays for it. Per handshake: from the start until the last client joined, less the idle process's CPU over that time (the rate of the run's idle last 5 s), over the clients. Per 1,000 echoed packets: over the echo phase (each packet received, decrypted, handed to the script, encrypted and sent back).
`
