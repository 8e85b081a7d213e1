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

func TestFaultRedisOutage(t *testing.T) {
	outage(t, outageOpts{Target: "redis", Users: 40, Outage: 60 * time.Second, Every: 4 * time.Second, Timeout: 10 * time.Minute})
}

func TestFaultPostgresRestart(t *testing.T) {
	outage(t, outageOpts{Target: "postgres", Users: 40, Outage: 10 * time.Second, Every: 4 * time.Second, Timeout: 10 * time.Minute})
}
