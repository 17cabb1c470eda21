package main

import (
	"sync"
	"time"

	"godtls/extension/netsim"
)

// simulate_network, for every class that owns a socket: the arguments as
// GDScript passes them, checked, onto the object's netsim.Link.

// simulateMethod declares simulate_network(loss, latency_ms, jitter_ms = 0,
// duplicate = 0.0, reorder = 0.0, bandwidth_kbps = 0) -> Error for a class
// whose link is found by linkOf.
func simulateMethod[T instance](class string, linkOf func(T) *netsim.Link) *methodDef {
	m := class + ".simulate_network"
	return method6("simulate_network", func(inst T, loss float64, latency, jitter int64, duplicate, reorder float64, bandwidth int64) result {
		s := netsim.Settings{
			Loss: loss, Duplicate: duplicate, Reorder: reorder,
			Latency:       time.Duration(min(max(latency, -1), 1<<40)) * time.Millisecond,
			Jitter:        time.Duration(min(max(jitter, -1), 1<<40)) * time.Millisecond,
			BandwidthKbps: int(min(max(bandwidth, -1), 1<<40)),
		}
		if err := linkOf(inst).Set(s); err != nil {
			return fail(m, err, errInvalidParameter)
		}
		return errOK
	}).arg("loss", tFloat).arg("latency_ms", tInt).
		arg("jitter_ms", tInt).or(int64(0)).arg("duplicate", tFloat).or(float64(0)).
		arg("reorder", tFloat).or(float64(0)).arg("bandwidth_kbps", tInt).or(int64(0)).returnsEnum("Error")
}

var simulationReported sync.Once

// reportProcessSimulation says once per process, at the first listen or
// connect, that GODTLS_SIMULATE is in force (or why it was refused): a game
// that ships with it set by mistake must not go unnoticed.
func reportProcessSimulation() {
	simulationReported.Do(func() {
		s, err := netsim.Process()
		switch {
		case err != nil:
			pushError("GoDTLS", netsim.EnvVar+" is refused, no network is simulated: "+err.Error())
		case !s.Off():
			pushWarning("GoDTLS", "simulating a bad network on every GoDTLS socket of this process ("+netsim.EnvVar+"="+s.String()+")")
		}
	})
}
