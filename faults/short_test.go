package faults

import (
	"testing"
	"time"
)

// The short versions of the fault tests run in `make test`; `make faults`
// runs the long ones (build tag faults, long_test.go).

func TestKillMidLetterShort(t *testing.T) {
	killMidLetter(t, killOpts{N: 1200, FastLease: true, Timeout: 3 * time.Minute})
}
