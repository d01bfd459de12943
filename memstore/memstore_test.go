package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
	"github.com/authpool/authpool/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) store.Store { return memstore.New() })
}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// heapAfterGC returns the bytes of live heap objects.
func heapAfterGC() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestUsageMemoryIsBounded checks that a subscription keeps its usage in a
// fixed ring of hourly buckets: recording 100,000 more usages, spread over
// 20 weeks, does not grow the heap.
func TestUsageMemoryIsBounded(t *testing.T) {
	const usages = 100_000
	ctx := context.Background()
	s := memstore.New()
	if err := s.CreateSubscription(ctx, store.Subscription{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, store.Assignment{ClientID: "c", SubscriptionID: "a", Now: t0}); err != nil {
		t.Fatal(err)
	}
	add := func(i int) {
		when := t0.Add(time.Duration(i) * 2 * time.Minute) // 30 an hour: 100,000 span 20 weeks
		u := store.UsageRecord{Time: when, Now: when, Cost: 1000, Tokens: store.Tokens{Input: 10, Output: 100}, Model: "claude-test"}
		if _, err := s.AddUsage(ctx, "c", u); err != nil {
			t.Fatal(err)
		}
	}
	for i := range store.WeekHours * 30 { // fill every bucket of the ring once
		add(i)
	}

	before := heapAfterGC()
	for i := range usages {
		add(store.WeekHours*30 + i)
	}
	grown := heapAfterGC() - before

	const tolerance = 16 << 10 // the runtime's own noise
	if grown > tolerance {
		t.Errorf("heap grew by %d bytes over %d usages without IDs (%.2f bytes each), want at most %d in all",
			grown, usages, float64(grown)/usages, tolerance)
	}
	sub, err := s.Subscription(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Usage) != store.WeekHours {
		t.Errorf("subscription keeps %d buckets, want %d", len(sub.Usage), store.WeekHours)
	}
	runtime.KeepAlive(s)
}

// TestUsageIDMemoryIsBounded checks that the store forgets usage IDs: 100,000
// usages with IDs remembered for a minute, one every two minutes, leave no
// more than a small table behind.
func TestUsageIDMemoryIsBounded(t *testing.T) {
	const usages = 100_000
	ctx := context.Background()
	s := memstore.New()
	if err := s.CreateSubscription(ctx, store.Subscription{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, store.Assignment{ClientID: "c", SubscriptionID: "a", Now: t0}); err != nil {
		t.Fatal(err)
	}
	add := func(i int) {
		when := t0.Add(time.Duration(i) * 2 * time.Minute)
		u := store.UsageRecord{ID: fmt.Sprintf("msg-%08d", i), Remember: time.Minute, Time: when, Now: when, Cost: 1000, Model: "claude-test"}
		if _, err := s.AddUsage(ctx, "c", u); err != nil {
			t.Fatal(err)
		}
	}
	for i := range store.WeekHours * 30 {
		add(i)
	}

	before := heapAfterGC()
	for i := range usages {
		add(store.WeekHours*30 + i)
	}
	grown := heapAfterGC() - before

	const tolerance = 64 << 10 // one sweep's table, and the runtime's noise
	if grown > tolerance {
		t.Errorf("heap grew by %d bytes over %d usages with IDs remembered a minute (%.2f bytes each), want at most %d in all",
			grown, usages, float64(grown)/usages, tolerance)
	}
	runtime.KeepAlive(s)
}

// bytesPerSession returns how many heap bytes a store holding n sessions on
// 10 subscriptions takes per session.
func bytesPerSession(tb testing.TB, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	s := memstore.New()
	for i := range 10 {
		if err := s.CreateSubscription(ctx, store.Subscription{ID: fmt.Sprintf("s%d", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	before := heapAfterGC()
	for i := range n {
		a := store.Assignment{ClientID: fmt.Sprintf("client-%08d", i), SubscriptionID: fmt.Sprintf("s%d", i%10), Now: t0.Add(time.Duration(i))}
		if _, err := s.Assign(ctx, a); err != nil {
			tb.Fatal(err)
		}
	}
	after := heapAfterGC()
	runtime.KeepAlive(s)
	return float64(after-before) / float64(n)
}

// maxBytesPerSession is the memory budget of one session, with its client
// ID, in the store's maps.
const maxBytesPerSession = 300

// TestSessionMemory checks the memory a session takes.
func TestSessionMemory(t *testing.T) {
	const n = 100_000
	if got := bytesPerSession(t, n); got > maxBytesPerSession {
		t.Errorf("a store holding %d sessions takes %.0f bytes per session, want at most %d", n, got, maxBytesPerSession)
	} else {
		t.Logf("%.0f bytes per session", got)
	}
}

// BenchmarkSessionMemory reports the memory a session takes as B/session,
// measured once on a store of 100,000 sessions.
func BenchmarkSessionMemory(b *testing.B) {
	perSession := bytesPerSession(b, 100_000)
	for b.Loop() {
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perSession, "B/session")
}
