package storetest

import (
	"slices"
	"testing"

	"github.com/authpool/authpool/store"
)

// Run checks that the stores newStore returns keep the store.Store contract,
// and the store.CallerStore contract when they implement it (its cases skip
// otherwise).
// It calls newStore once per case, from that case's subtest, and needs each
// store to start empty; the cases run in parallel. A failing case logs the
// clause of the contract it checks.
//
// Call it from a test of the implementation:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if t.Failed() {
					t.Logf("contract: %s", c.explanation)
				}
			}()
			c.check(t, newStore(t))
		})
	}
}

// A testCase checks one clause of the store.Store contract on a fresh store.
type testCase struct {
	name        string
	explanation string
	check       func(t *testing.T, s store.Store)
}

// cases is the contract, clause by clause.
var cases = slices.Concat(subscriptionCases, sessionCases, usageCases, holdCases, limitCases, storeCases, callerCases)
