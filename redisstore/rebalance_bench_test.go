package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/rebalancebench"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// BenchmarkRebalanceSessions rebalances 10 subscriptions holding 1,000 to
// 100,000 sessions on the test Redis, with none or a few idle (see package
// rebalancebench): its time, allocations and longest store call
// (max-store-call-ns, a bound on the longest script) should not grow with
// the sessions it cannot move.
//
//	go test -run '^$' -bench RebalanceSessions -benchmem -count 5 ./redisstore
func BenchmarkRebalanceSessions(b *testing.B) {
	rebalancebench.Run(b, 100_000, func(b *testing.B) store.Store {
		c := closing(b, redis.NewClient(redistest.Options(b)))
		return redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(b, redistest.Client(b))))
	})
}
