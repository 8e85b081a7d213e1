//go:build faults

package faults

import (
	"testing"
	"time"

	"safetybot/wecomsim"
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

func TestFaultWeComAPI(t *testing.T) {
	apiFaults(t, apiFaultOpts{Principals: 5000, Chatters: 60, Expiries: 6, Timeout: 20 * time.Minute,
		FirstHits:    []wecomsim.Fault{fault500After, faultFrequency, faultDropAfter, faultBusy, faultTimeout, fault502, faultDrop, fault503JSON},
		LetterFaults: []wecomsim.Fault{faultFrequency, faultBusy, fault502, faultDrop, fault500After, faultTimeout, faultDropAfter, fault503JSON, faultConc},
		ChatFaults:   []wecomsim.Fault{faultFrequency, faultBusy, fault502, faultDrop, faultTimeout, fault503JSON, faultConc, faultSlow}})
}
