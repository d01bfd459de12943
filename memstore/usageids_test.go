package memstore

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// week is the pool's default Remember.
const week = 168 * time.Hour

// heapInUse returns the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestUsageIDsStayWithinTheirBound adds far more IDs than the budget holds
// and checks that the map and the queue hold the bound, and that every ID
// after the horizon is still remembered.
func TestUsageIDsStayWithinTheirBound(t *testing.T) {
	u := newUsageIDs()
	const budget, n = 100 * idBytes, 10_000
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixNano()
	for i := range n {
		if v, _ := u.add(strconv.Itoa(i), t0+int64(i), t0+n, week, budget); v != idNew {
			t.Fatalf("add of ID %d = %v, want new", i, v)
		}
		if len(u.times) > 100 || u.order.len() != len(u.times) {
			t.Fatalf("after %d IDs the map holds %d, the queue %d; want at most 100, the same", i+1, len(u.times), u.order.len())
		}
	}
	for i := range n {
		v, h := u.add(strconv.Itoa(i), t0+int64(i), t0+n, week, budget)
		if want := idForgotten; t0+int64(i) > h {
			want = idDuplicate
			if v != want {
				t.Fatalf("ID %d, after the horizon, again = %v; want a duplicate", i, v)
			}
		} else if v != want && v != idDuplicate {
			t.Fatalf("ID %d, at or before the horizon, again = %v; want forgotten or a duplicate", i, v)
		}
	}
	if got := len(u.order.blocks); got != 1 {
		t.Errorf("the queue keeps %d blocks for 100 IDs; want 1", got)
	}
}

// BenchmarkUsageIDsHeap measures idBytes: the heap one remembered ID costs
// when the budget is full and IDs come and go (the map grows under the
// churn of deletes and inserts until its tombstones are pruned, to about
// twice the size a map filled once takes). Run it with -benchtime 1x: each
// iteration fills 2^19 IDs and turns them over 16 times.
func BenchmarkUsageIDsHeap(b *testing.B) {
	const ids = 1 << 19
	for range b.N {
		before := heapInUse()
		u := newUsageIDs()
		for i := range 17 * ids {
			u.add(strconv.Itoa(i), int64(i+1), int64(i+1), week, ids*idBytes)
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/float64(len(u.times)), "B/ID")
		runtime.KeepAlive(&u)
	}
}

// BenchmarkAddUsageSlowestAt2M records 2M usages with IDs in a budget that
// holds them, then reports the slowest of the next 100,000 AddUsage calls,
// each timed alone with the store's lock held: nothing may stall.
func BenchmarkAddUsageSlowestAt2M(b *testing.B) {
	const full, timed = 2_000_000, 100_000
	ctx := b.Context()
	for range b.N {
		s := New()
		addSub(b, s)
		t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		rec := func(i int) error {
			_, err := s.AddUsage(ctx, "", usageWithID(t0, i))
			return err
		}
		for i := range full {
			if err := rec(i); err != nil {
				b.Fatal(err)
			}
		}
		var slowest time.Duration
		for i := full; i < full+timed; i++ {
			start := time.Now()
			if err := rec(i); err != nil {
				b.Fatal(err)
			}
			slowest = max(slowest, time.Since(start))
		}
		if len(s.seen.times) < full {
			b.Fatalf("the store remembers %d IDs, want at least %d", len(s.seen.times), full)
		}
		b.ReportMetric(float64(slowest.Microseconds()), "µs-slowest")
	}
}

// addSub creates the subscription "a" the benchmarks bill.
func addSub(b *testing.B, s *Store) {
	b.Helper()
	if err := s.CreateSubscription(b.Context(), store.Subscription{ID: "a"}); err != nil {
		b.Fatal(err)
	}
}

// usageWithID is the i-th usage of a benchmark: a millisecond after the
// one before, with its own ID, remembered for the week in 512 MiB (about
// 3.7M IDs).
func usageWithID(t0 time.Time, i int) store.UsageRecord {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return store.UsageRecord{ID: "msg_" + strconv.Itoa(i), SubscriptionID: "a", Time: at, Now: at, Cost: 1,
		Remember: week, RememberBytes: 512 << 20}
}
