package faults

import (
	"testing"
	"time"

	"safetybot/wecomsim"
)

// The short versions of the fault tests run in `make test`; `make faults`
// runs the long ones (build tag faults, long_test.go).

func TestKillMidLetterShort(t *testing.T) {
	killMidLetter(t, killOpts{N: 1200, FastLease: true, Timeout: 3 * time.Minute})
}

func TestRedisOutageShort(t *testing.T) {
	outage(t, outageOpts{Target: "redis", Users: 15, Outage: 8 * time.Second, Every: 2500 * time.Millisecond, Timeout: 5 * time.Minute})
}

func TestPostgresOutageShort(t *testing.T) {
	outage(t, outageOpts{Target: "postgres", Users: 10, Outage: 5 * time.Second, Every: 2500 * time.Millisecond, Timeout: 5 * time.Minute})
}

func TestWeComAPIErrorsShort(t *testing.T) {
	apiFaults(t, apiFaultOpts{Principals: 1200, Chatters: 20, Expiries: 3, Timeout: 3 * time.Minute,
		FirstHits:    []wecomsim.Fault{fault500After, faultDropAfter},
		LetterFaults: []wecomsim.Fault{faultBusy, fault502, faultDrop, fault500After, faultDropAfter, fault503JSON, faultConc},
		ChatFaults:   []wecomsim.Fault{faultBusy, fault502, faultDrop, fault503JSON, faultConc, faultSlow}})
}
