package memstore

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
		if len(u.keys) > 100 || u.order.len() != len(u.keys) {
			t.Fatalf("after %d IDs the set holds %d, the heap %d; want at most 100, the same", i+1, len(u.keys), u.order.len())
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
		t.Errorf("the heap keeps %d blocks for 100 IDs; want 1", got)
	}
}

// TestUsageIDsForgetEarliestTimeFirst adds IDs in a random order of their
// times to a full budget and checks that the ones forgotten are those of
// the earliest times: the horizon is below every ID remembered (but the
// last, which may be below it) and every ID after it is a duplicate.
func TestUsageIDsForgetEarliestTimeFirst(t *testing.T) {
	tests := []struct {
		name      string
		ids, held int
	}{
		{"one held", 50, 1},
		{"a few", 1000, 7},
		{"blocks", 5 * heapChunk, heapChunk + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUsageIDs()
			rng := rand.New(rand.NewPCG(1, 2))
			budget := int64(tt.held) * idBytes
			const now = int64(1) << 40
			added := map[string]int64{}
			for i := range tt.ids {
				id, at := strconv.Itoa(i), 1+rng.Int64N(now/2)
				h := u.horizon // the horizon a new usage is judged against
				v, _ := u.add(id, at, now, week, budget)
				switch {
				case at <= h && v != idForgotten:
					t.Fatalf("ID %d at %d, at or before the horizon %d: %v; want forgotten", i, at, h, v)
				case at > h && v != idNew:
					t.Fatalf("ID %d at %d, after the horizon %d: %v; want new", i, at, h, v)
				case v == idNew:
					added[id] = at
				}
				if u.order.len() > tt.held || u.order.len() != len(u.keys) {
					t.Fatalf("after %d IDs the heap holds %d, the set %d; want at most %d, the same", i+1, u.order.len(), len(u.keys), tt.held)
				}
			}
			if len(added) <= tt.held {
				t.Fatalf("%d IDs added; the test wants more than the %d held", len(added), tt.held)
			}
			var after int
			for id, at := range added {
				v, _ := u.add(id, at, now, week, budget)
				if at > u.horizon {
					after++
					if v != idDuplicate {
						t.Errorf("ID %s at %d, after the horizon %d: %v; want a duplicate", id, at, u.horizon, v)
					}
				} else if v == idNew {
					t.Errorf("ID %s at %d, at or before the horizon %d, counted again", id, at, u.horizon)
				}
			}
			if after < tt.held-1 {
				t.Errorf("%d IDs after the horizon; want at least %d: the earliest were not the ones forgotten", after, tt.held-1)
			}
		})
	}
}

// TestIDHeapPopsInTimeOrder pushes and pops entries of random times across
// blocks and checks that they come out earliest first.
func TestIDHeapPopsInTimeOrder(t *testing.T) {
	tests := []struct {
		name       string
		push, pops int // pushes, and a pop after every pops of them (0: none)
	}{
		{"empty", 0, 0},
		{"one", 1, 0},
		{"in a block", 1000, 3},
		{"across blocks", 3*heapChunk + 5, 0},
		{"across blocks, popping", 4*heapChunk + 7, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h idHeap
			rng := rand.New(rand.NewPCG(3, 4))
			var in []int64
			for i := range tt.push {
				at := rng.Int64N(1000)
				h.push(idEntry{t: at, k: idKey{byte(i), byte(i >> 8)}})
				in = append(in, at)
				if tt.pops > 0 && i%tt.pops == 0 {
					j := slices.Index(in, slices.Min(in))
					if got := h.top().t; got != in[j] {
						t.Fatalf("after %d pushes the top is at %d; want the earliest, %d", i+1, got, in[j])
					}
					h.pop()
					in = slices.Delete(in, j, j+1)
				}
			}
			var got []int64
			for h.len() > 0 {
				got = append(got, h.top().t)
				h.pop()
			}
			slices.Sort(in)
			if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the heap emptied (-want +got):\n%s", diff)
			}
			if len(h.blocks) > 1 {
				t.Errorf("the empty heap keeps %d blocks; want at most 1", len(h.blocks))
			}
		})
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
		b.ReportMetric(float64(after-before)/float64(len(u.keys)), "B/ID")
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
		if len(s.seen.keys) < full {
			b.Fatalf("the store remembers %d IDs, want at least %d", len(s.seen.keys), full)
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
