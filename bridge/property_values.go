package main

import (
	"fmt"
	"time"
)

// How GDScript property values become the engines' own, for more than one
// class.

// seconds converts a GDScript duration in seconds. A negative one stays
// negative so that the engine's Validate refuses it with the reason; a huge
// one is capped below time.Duration's range.
func seconds(v float64) time.Duration {
	if v < 0 {
		return -1
	}
	return time.Duration(min(v, 1e6) * float64(time.Second))
}

// refuseNegative reports (and says why) that v is not a value of a limit
// GDScript turns off with 0 and whose least value otherwise is least.
func refuseNegative(class, prop string, least, v int64) bool {
	if v < 0 {
		pushError(class+".set_"+prop, fmt.Sprintf("%s must be at least %d, or 0 for no limit; got %d; the value is unchanged", prop, least, v))
	}
	return v < 0
}
