package authpool_test

import (
	"testing"

	"github.com/authpool/authpool/internal/rebalancebench"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// BenchmarkRebalanceSessions rebalances 10 subscriptions holding 1,000 to
// 100,000 sessions on the in-memory store, with none or a few idle (see
// package rebalancebench): its time, allocations and longest store call
// (max-store-call-ns) should not grow with the sessions it cannot move.
//
//	go test -run '^$' -bench RebalanceSessions -benchmem -count 5 .
func BenchmarkRebalanceSessions(b *testing.B) {
	rebalancebench.Run(b, 100_000, func(*testing.B) store.Store { return memstore.New() })
}
