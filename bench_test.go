package authpool_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/webhook"
)

// The benchmarks of the speed targets, on the in-memory store:
//
//	go test -run '^$' -bench . -benchmem -count 5 .
//
// Most run on 100 subscriptions holding 10,000 sessions; Rebalance on 1,000
// subscriptions holding 100,000.

// benchStart is the benchmarks' clock: it stands still unless a benchmark
// moves it.
var benchStart = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// benchClock is a clock a benchmark may move, safe for concurrent reads.
type benchClock struct{ ns atomic.Int64 }

func newBenchClock() *benchClock {
	c := &benchClock{}
	c.ns.Store(benchStart.UnixNano())
	return c
}

func (c *benchClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *benchClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *benchClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// benchIDs returns n distinct IDs.
func benchIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	return ids
}

// benchConfig returns a config of subs Max 20x subscriptions with budgets
// and room for twice the sessions.
func benchConfig(subs, sessions int) authpool.Config {
	cfg := authpool.Config{MaxClients: 2*sessions/subs + 10}
	for i := range subs {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%04d", i), Kind: authpool.KindMax20x, Credential: "sk-bench",
			WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140,
		})
	}
	return cfg
}

// benchPool returns a pool of subs subscriptions holding the given number
// of sessions.
func benchPool(b *testing.B, subs, sessions int, clock *benchClock) (*authpool.Pool, []string) {
	b.Helper()
	ctx := context.Background()
	p, err := authpool.New(ctx, benchConfig(subs, sessions), authpool.WithClock(clock.now))
	if err != nil {
		b.Fatal(err)
	}
	ids := benchIDs("client", sessions)
	for _, id := range ids {
		if _, err := p.Allocate(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	return p, ids
}

// BenchmarkAllocateSticky allocates clients that already have a session.
func BenchmarkAllocateSticky(b *testing.B) {
	p, ids := benchPool(b, 100, 10_000, newBenchClock())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocateStickyParallel is BenchmarkAllocateSticky from
// GOMAXPROCS goroutines at once.
func BenchmarkAllocateStickyParallel(b *testing.B) {
	p, ids := benchPool(b, 100, 10_000, newBenchClock())
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAllocateStickyMovingClock is BenchmarkAllocateStickyParallel
// with a clock that moves a microsecond a call: every call moves its
// client's hold on its slot, in the store and in the pool's view (under its
// lock), as it does in production. (With the clock standing still the hold
// does not move, and neither is touched.)
func BenchmarkAllocateStickyMovingClock(b *testing.B) {
	clock := newBenchClock()
	p, ids := benchPool(b, 100, 10_000, clock)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			clock.add(time.Microsecond)
			if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAllocateNew allocates clients without a session, among 100
// subscriptions; every 4,096 allocations the new clients are released with
// the timer stopped.
func BenchmarkAllocateNew(b *testing.B) {
	p, _ := benchPool(b, 100, 10_000, newBenchClock())
	allocateNew(b, p, 0)
}

// allocateNew times b.N allocations of clients without a session, each of
// outcome want (0: any); every 4,096 it releases them with the timer stopped.
func allocateNew(b *testing.B, p *authpool.Pool, want authpool.Outcome) {
	ctx := context.Background()
	fresh := benchIDs("new", 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(fresh) == 0 {
			b.StopTimer()
			for _, id := range fresh {
				if err := p.Release(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		if a, err := p.Allocate(ctx, fresh[i%len(fresh)]); err != nil || want != 0 && a.Outcome != want {
			b.Fatal(a, err)
		}
	}
	b.StopTimer()
}

// benchUsage is a typical request: a Sonnet turn with a warm cache.
func benchUsage(t time.Time) authpool.Usage {
	return authpool.Usage{
		Time: t, CostUSD: 0.0123, Model: "claude-sonnet-4-5",
		Tokens: authpool.Tokens{Input: 12, Output: 640, CacheWrite: 1200, CacheRead: 18300},
	}
}

// BenchmarkRecord records a usage without an ID for clients with a session.
func BenchmarkRecord(b *testing.B) {
	clock := newBenchClock()
	p, ids := benchPool(b, 100, 10_000, clock)
	ctx := context.Background()
	u := benchUsage(clock.now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines.
func BenchmarkRecordParallel(b *testing.B) {
	clock := newBenchClock()
	p, ids := benchPool(b, 100, 10_000, clock)
	ctx := context.Background()
	u := benchUsage(clock.now())
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRecordMovingClock is BenchmarkRecordParallel with a clock that
// moves a microsecond a call: every usage moves its client's hold.
func BenchmarkRecordMovingClock(b *testing.B) {
	clock := newBenchClock()
	p, ids := benchPool(b, 100, 10_000, clock)
	ctx := context.Background()
	u := benchUsage(clock.now())
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			clock.add(time.Microsecond)
			if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRecordWithID records usages that carry a message ID, each new
// and a microsecond after the one before: the store remembers them as it
// would under real traffic, and forgets the oldest once its memory
// (UsageIDMemoryMiB) is full. (Were every usage at one instant, a full
// memory would refuse them all: it cannot tell a new one from one it
// forgot at that instant.)
func BenchmarkRecordWithID(b *testing.B) {
	clock := newBenchClock()
	p, ids := benchPool(b, 100, 10_000, clock)
	ctx := context.Background()
	start := clock.now().Add(-time.Hour)
	u := benchUsage(start)
	msgIDs := benchIDs("msg_01ABCDEFGHJKMNPQRSTVWXYZ-0", 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(msgIDs) == 0 {
			b.StopTimer() // the prepared IDs are used up: make new ones
			msgIDs = benchIDs(fmt.Sprintf("msg_01ABCDEFGHJKMNPQRSTVWXYZ-%d", i), 1<<16)
			b.StartTimer()
		}
		u.ID, u.Time = msgIDs[i%len(msgIDs)], start.Add(time.Duration(i)*time.Microsecond)
		if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordUniqueIDsHeap records b.N usages, each with a new ID, a
// millisecond apart, through a pool whose store remembers usage IDs in
// 16 MiB, and reports the heap in use at the end (after a collection): it
// is the same at 1M records as at 10M, whatever the rate, once the IDs fill
// their memory. Run it with -benchtime 1000000x and 10000000x.
func BenchmarkRecordUniqueIDsHeap(b *testing.B) {
	clock := newBenchClock()
	ctx := context.Background()
	cfg := benchConfig(1, 1)
	cfg.UsageIDMemoryMiB = 16
	p, err := authpool.New(ctx, cfg, authpool.WithClock(clock.now))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Allocate(ctx, "client"); err != nil {
		b.Fatal(err)
	}
	msgIDs := benchIDs("msg_01ABCDEFGHJKMNPQRSTVWXYZ-0", 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(msgIDs) == 0 {
			b.StopTimer()
			msgIDs = benchIDs(fmt.Sprintf("msg_01ABCDEFGHJKMNPQRSTVWXYZ-%d", i), 1<<16)
			b.StartTimer()
		}
		clock.add(time.Millisecond)
		u := benchUsage(clock.now())
		u.ID = msgIDs[i%len(msgIDs)]
		if err := p.Record(ctx, "client", u); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	msgIDs = nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "MiB-heap")
	if st := p.Stats(); st.Records != int64(b.N) {
		b.Fatalf("counted %d of %d usages", st.Records, b.N)
	}
}

// BenchmarkRelease releases clients; every 4,096 releases they are allocated
// again with the timer stopped.
func BenchmarkRelease(b *testing.B) {
	p, ids := benchPool(b, 100, 10_000, newBenchClock())
	ctx := context.Background()
	batch := ids[:4096]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(batch) == 0 {
			b.StopTimer()
			for _, id := range batch {
				if _, err := p.Allocate(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		if err := p.Release(ctx, batch[i%len(batch)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebalance rebalances 1,000 subscriptions holding 100,000
// sessions, one call per simulated second: sessions' last activity is spread
// evenly over the 30 minutes before the first call, so each call finds about
// 55 newly stale sessions to release, and moves idle clients across a
// block-cost gap.
func BenchmarkRebalance(b *testing.B) {
	const subs, sessions = 1000, 100_000
	clock := newBenchClock()
	ctx := context.Background()
	p, err := authpool.New(ctx, benchConfig(subs, sessions), authpool.WithClock(clock.now))
	if err != nil {
		b.Fatal(err)
	}
	start := benchStart.Add(-30 * time.Minute)
	for i, id := range benchIDs("client", sessions) {
		clock.set(start.Add(time.Duration(i) * 30 * time.Minute / sessions))
		a, err := p.Allocate(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		// Spend unevenly: every 50th subscription's block grows dear.
		if a.SubscriptionID[len(a.SubscriptionID)-1] == '0' {
			if err := p.Record(ctx, id, authpool.Usage{Time: clock.now(), CostUSD: 0.5}); err != nil {
				b.Fatal(err)
			}
		}
	}
	clock.set(benchStart)
	b.ReportAllocs()
	b.ResetTimer()
	moves, released := 0, 0
	for range b.N {
		clock.add(time.Second)
		r, err := p.Rebalance(ctx)
		if err != nil {
			b.Fatal(err)
		}
		moves += len(r.Moves)
		released += len(r.Released)
	}
	b.ReportMetric(float64(moves)/float64(b.N), "moves/op")
	b.ReportMetric(float64(released)/float64(b.N), "released/op")
}

// BenchmarkSnapshot takes the snapshot of a realistic pool: 8 subscriptions
// with a week of hourly usage each, holding 200 sessions.
func BenchmarkSnapshot(b *testing.B) {
	const subs, sessions = 8, 200
	clock := newBenchClock()
	ctx := context.Background()
	clock.set(benchStart.Add(-7 * 24 * time.Hour))
	p, ids := benchPool(b, subs, sessions, clock)
	// One request per session every hour of the week, all hours filled.
	for h := range 7 * 24 {
		clock.set(benchStart.Add(time.Duration(h-7*24) * time.Hour))
		for _, id := range ids[:subs*4] {
			if err := p.Record(ctx, id, authpool.Usage{Time: clock.now(), CostUSD: 0.01}); err != nil {
				b.Fatal(err)
			}
		}
	}
	clock.set(benchStart)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clock.add(time.Second)
		snap, err := p.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Subscriptions) != subs || len(snap.Sessions) != sessions {
			b.Fatalf("snapshot of %d subscriptions, %d sessions; want %d, %d", len(snap.Subscriptions), len(snap.Sessions), subs, sessions)
		}
	}
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory reports what a subscription and a session cost in memory
// (pool and memstore together): bytes per subscription before and after
// 1,000,000 usages spread over two weeks, and bytes per session. Each
// iteration builds the pool anew; the figures are the last iteration's.
func BenchmarkMemory(b *testing.B) {
	const subs, sessions, usages = 100, 10_000, 1_000_000
	ctx := context.Background()
	var perSubBefore, perSubAfter, perSession float64
	for range b.N {
		clock := newBenchClock()
		cfg := benchConfig(subs, sessions)
		ids := benchIDs("client", sessions)
		st := memstore.New()
		base := heapBytes()
		p, err := authpool.New(ctx, cfg, authpool.WithClock(clock.now), authpool.WithStore(st))
		if err != nil {
			b.Fatal(err)
		}
		withSubs := heapBytes()
		perSubBefore = float64(withSubs-base) / subs
		for _, id := range ids {
			if _, err := p.Allocate(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		perSession = float64(heapBytes()-withSubs) / sessions
		withSessions := heapBytes()
		u := benchUsage(clock.now())
		for i := range usages {
			if i%(usages/(14*24)) == 0 { // two weeks, hour by hour
				clock.add(time.Hour)
				u.Time = clock.now()
			}
			if err := p.Record(ctx, ids[i%sessions], u); err != nil {
				b.Fatal(err)
			}
		}
		after := heapBytes()
		perSubAfter = perSubBefore + (float64(after)-float64(withSessions))/subs
		runtime.KeepAlive(p)
		runtime.KeepAlive(st)
	}
	b.ReportMetric(perSubBefore, "B/sub-before")
	b.ReportMetric(perSubAfter, "B/sub-after")
	b.ReportMetric(perSession, "B/session")
}

// BenchmarkAllocateFallback allocates new clients in a pool whose only
// place is the fallback, so that every call emits a failover event: with no
// notifier (no event is made), with a notifier that takes each event at once,
// and with a webhook that never answers or cannot be reached. The queues
// absorb or drop what the webhook cannot take; Allocate does not wait for
// it. Every 4,096 allocations the clients are released with the timer
// stopped.
func BenchmarkAllocateFallback(b *testing.B) {
	hung := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hung }))
	b.Cleanup(func() { close(hung); slow.Close() })
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there any more
	discard := authpool.NotifierFunc(func(context.Context, authpool.Event) error { return nil })
	for _, tc := range []struct {
		name     string
		url      string
		notifier authpool.Notifier
	}{{"no-notifier", "", nil}, {"discard-notifier", "", discard}, {"slow-webhook", slow.URL, nil}, {"dead-webhook", dead.URL, nil}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			clock := newBenchClock()
			cfg := authpool.Config{Fallback: &authpool.Fallback{Credential: "sk-bench", DailyBudgetUSD: 1e6}}
			opts := []authpool.Option{authpool.WithClock(clock.now)}
			if tc.url != "" {
				hook, err := webhook.New(webhook.Config{URL: tc.url, Secret: "bench-webhook-secret",
					Timeout: authpool.Duration(time.Minute), MaxAttempts: 3}, nil)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, authpool.WithNotifier(hook))
			}
			if tc.notifier != nil {
				opts = append(opts, authpool.WithNotifier(tc.notifier))
			}
			p, err := authpool.New(ctx, cfg, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				stop, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
				defer cancel()
				_ = p.Close(stop) // abandons what the webhook did not take
			}()
			allocateNew(b, p, authpool.OutcomeFallback)
			b.ReportMetric(float64(p.Stats().Notifications.Dropped)/float64(b.N), "dropped/op")
		})
	}
}

// BenchmarkBaselineMutexMapLookup is the yardstick of the hot paths' speed
// targets: a lookup of one of 10,000 client IDs in a map guarded by a
// mutex, the least a pool could do per call. Sticky Allocate and Record
// should cost at most 10 of these, AllocateNew among 100 subscriptions at
// most 150 (issue 15).
func BenchmarkBaselineMutexMapLookup(b *testing.B) {
	ids := benchIDs("client", 10_000)
	var mu sync.Mutex
	sessions := make(map[string]string, len(ids))
	for i, id := range ids {
		sessions[id] = fmt.Sprintf("sub-%04d", i%100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var hits int
	for i := range b.N {
		mu.Lock()
		if _, ok := sessions[ids[i%len(ids)]]; ok {
			hits++
		}
		mu.Unlock()
	}
	if hits != b.N {
		b.Fatalf("%d hits of %d lookups", hits, b.N)
	}
}
