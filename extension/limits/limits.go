// Package limits holds the two rules every configuration of the engines
// follows (server.Config, client.Config, multiplayer.Options): a zero value
// means the default, and a value out of range is refused with the name the
// game developer sets it by and the range it must be in.
package limits

import (
	"cmp"
	"fmt"
)

// Default sets *v to def when *v is zero.
func Default[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Range refuses v outside [lo, hi]: an error wrapping bad that names the
// setting, the range and the value.
func Range[T cmp.Ordered](bad error, name string, v, lo, hi T) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s must be between %v and %v, got %v", bad, name, lo, hi, v)
	}
	return nil
}

// AtLeast refuses v below lo.
func AtLeast[T cmp.Ordered](bad error, name string, v, lo T) error {
	if v < lo {
		return fmt.Errorf("%w: %s must be at least %v, got %v", bad, name, lo, v)
	}
	return nil
}

// First is the first error that is not nil: the rules of a Validate in
// order.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// NoLimit is the value that turns a cap off, where a cap has one.
const NoLimit = -1

// OrZero lets 0 (the default) through a range check.
func OrZero(v int, err error) error {
	if v == 0 {
		return nil
	}
	return err
}

// OrNoLimit lets 0 (the default) and NoLimit through a range check.
func OrNoLimit(v int, err error) error {
	if v == NoLimit {
		return nil
	}
	return OrZero(v, err)
}
