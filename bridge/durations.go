package main

import "time"

// seconds converts a GDScript duration in seconds. A negative one stays
// negative so that the engine's Validate refuses it with the reason; a huge
// one is capped below time.Duration's range.
func seconds(v float64) time.Duration {
	if v < 0 {
		return -1
	}
	return time.Duration(min(v, 1e6) * float64(time.Second))
}
