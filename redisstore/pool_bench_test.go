package redisstore_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
)

// BenchmarkPool times the Pool's calls on a Store on the test Redis, like
// the root package's benchmarks on the in-memory store:
//
//	go test -run '^$' -bench Pool -benchmem -count 5 ./redisstore
//
// The pool has 10 subscriptions holding 1,000 sessions, a clock that
// stands still (so the pool never reads its picture of the subscriptions
// again: each call makes the round trips TestPoolRoundTrips counts), and a
// client of its own with go-redis's defaults (a pool of 10 connections per
// GOMAXPROCS). Parallel64 runs 64 goroutines at once and reports the
// latency of their calls: its median (p50-ns) and 99th percentile (p99-ns).
func BenchmarkPool(b *testing.B) {
	b.Run("AllocateSticky", func(b *testing.B) {
		p, ids, _ := benchRedisPool(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("AllocateNew", func(b *testing.B) {
		// Every 4,096 allocations the new clients are released with the
		// timer stopped.
		p, _, _ := benchRedisPool(b)
		ctx := context.Background()
		fresh := benchRedisIDs("new", 4096)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i > 0 && i%len(fresh) == 0 {
				b.StopTimer()
				for _, id := range fresh {
					if err := p.Release(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			if a, err := p.Allocate(ctx, fresh[i%len(fresh)]); err != nil || a.Outcome != authpool.OutcomeNew {
				b.Fatal(a, err)
			}
			i++
		}
	})
	b.Run("Record", func(b *testing.B) {
		p, ids, clk := benchRedisPool(b)
		ctx := context.Background()
		u := benchRedisUsage(clk.Now())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("RecordWithID", func(b *testing.B) {
		// Each usage carries a new message ID; when the prepared IDs are
		// used up the clock moves two days on, past their remembrance.
		p, ids, clk := benchRedisPool(b)
		ctx := context.Background()
		msgIDs := benchRedisIDs("msg_01ABCDEFGHJKMNPQRSTVWXYZ", 1<<16)
		u := benchRedisUsage(clk.Now())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i > 0 && i%len(msgIDs) == 0 {
				clk.Set(clk.Now().Add(49 * time.Hour))
				u.Time = clk.Now()
			}
			u.ID = msgIDs[i%len(msgIDs)]
			if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Release", func(b *testing.B) {
		// Every 1,000 releases the clients are allocated again with the
		// timer stopped.
		p, ids, _ := benchRedisPool(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i > 0 && i%len(ids) == 0 {
				b.StopTimer()
				for _, id := range ids {
					if _, err := p.Allocate(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			if err := p.Release(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel64", func(b *testing.B) {
		b.Run("AllocateSticky", func(b *testing.B) {
			p, ids, _ := benchRedisPool(b)
			ctx := context.Background()
			parallel64(b, ids, func(id string) error { _, err := p.Allocate(ctx, id); return err })
		})
		b.Run("Record", func(b *testing.B) {
			p, ids, clk := benchRedisPool(b)
			ctx := context.Background()
			u := benchRedisUsage(clk.Now())
			parallel64(b, ids, func(id string) error { return p.Record(ctx, id, u) })
		})
	})
}

// benchRedisSessions is how many sessions the benchmarks' pools hold.
const benchRedisSessions = 1000

// benchRedisPool returns a pool of 10 subscriptions holding 1,000 sessions,
// the sessions' client IDs, and the pool's clock, which stands still.
func benchRedisPool(b *testing.B) (*authpool.Pool, []string, *poolClock) {
	b.Helper()
	ctx := context.Background()
	c := closing(b, redis.NewClient(redistest.Options(b)))
	clk := newPoolClock(poolT0)
	cfg := authpool.Config{MaxClients: 1000}
	for i := range 10 {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%02d", i), Kind: authpool.KindMax20x, Credential: "sk-bench",
			WeeklyBudgetUSD: 1e5, BlockBudgetUSD: 1e4,
		})
	}
	p := newRedisPool(b, c, redistest.Prefix(b, redistest.Client(b)), cfg, authpool.WithClock(clk.Now))
	ids := benchRedisIDs("client", benchRedisSessions)
	for _, id := range ids {
		if _, err := p.Allocate(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	return p, ids, clk
}

// benchRedisIDs returns n distinct IDs.
func benchRedisIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	return ids
}

// benchRedisUsage is a typical request: a Sonnet turn with a warm cache.
func benchRedisUsage(t time.Time) authpool.Usage {
	return authpool.Usage{
		Time: t, CostUSD: 0.0123, Model: "claude-sonnet-4-5",
		Tokens: authpool.Tokens{Input: 12, Output: 640, CacheWrite: 1200, CacheRead: 18300},
	}
}

// parallel64 runs call from 64 goroutines (RunParallel with a parallelism
// of 64 / GOMAXPROCS), each on clients of its own turn, and reports the
// calls' latency: p50-ns and p99-ns.
func parallel64(b *testing.B, ids []string, call func(id string) error) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs)
	var (
		next atomic.Int64
		mu   sync.Mutex
		lat  []time.Duration
	)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i++
			start := time.Now()
			if err := call(ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
