//go:build faults

package faults

import (
	"testing"
	"time"
)

// The long fault tests, run by `make faults` (go test -tags faults -run Fault).

func TestFaultKillMidLetter(t *testing.T) {
	killMidLetter(t, killOpts{N: 10000, Timeout: 10 * time.Minute})
}
