package limits

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var errBad = errors.New("bad")

func TestDefaultFillsOnlyZero(t *testing.T) {
	a, b := 0, 7
	Default(&a, 5)
	Default(&b, 5)
	d := time.Duration(0)
	Default(&d, time.Second)
	if a != 5 || b != 7 || d != time.Second {
		t.Fatalf("Default: got %d, %d, %v", a, b, d)
	}
}

func TestRangeNamesTheSetting(t *testing.T) {
	if err := Range(errBad, "mtu", 100, 256, 8192); !errors.Is(err, errBad) || !strings.Contains(err.Error(), "mtu must be between 256 and 8192, got 100") {
		t.Fatalf("Range below: %v", err)
	}
	if err := Range(errBad, "mtu", 9000, 256, 8192); err == nil {
		t.Fatal("Range accepted a value above the range")
	}
	if err := Range(errBad, "mtu", 256, 256, 8192); err != nil {
		t.Fatalf("Range refused its lower bound: %v", err)
	}
	if err := AtLeast(errBad, "max_peers", -1, 0); err == nil || !strings.Contains(err.Error(), "max_peers must be at least 0, got -1") {
		t.Fatalf("AtLeast: %v", err)
	}
}

func TestFirstKeepsOrder(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	if First(nil, a, b) != a || First(nil, nil) != nil {
		t.Fatal("First does not return the first error")
	}
}

func TestOrZeroAndOrNoLimit(t *testing.T) {
	refused := errors.New("out of range")
	for _, c := range []struct {
		v              int
		orZero, orNone error
	}{
		{0, nil, nil},
		{NoLimit, refused, nil},
		{5, refused, refused},
	} {
		if got := OrZero(c.v, refused); got != c.orZero {
			t.Errorf("OrZero(%d): %v, want %v", c.v, got, c.orZero)
		}
		if got := OrNoLimit(c.v, refused); got != c.orNone {
			t.Errorf("OrNoLimit(%d): %v, want %v", c.v, got, c.orNone)
		}
	}
}
