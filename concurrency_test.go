package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// TestConcurrentUse has many goroutines allocate, record, release, limit
// and rebalance at once on a small pool while another watches it through
// Snapshot. Run it with -race. Afterwards every nanodollar recorded is in
// exactly one subscription and one session (or a released one), no
// subscription ever had more clients holding a slot than its maximum, and
// every Allocate either succeeded or said ErrExhausted.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, authpool.Config{
		Subscriptions: []authpool.Subscription{
			sub("s-a", budgets(60, 15), maxClients(3)),
			sub("s-b", budgets(60, 15), maxClients(3)),
			sub("s-c", budgets(30, 8), maxClients(2)),
		},
		Fallback: &authpool.Fallback{Credential: "sk-fallback", DailyBudgetUSD: 6},
		// Read the store often: the picture and the store disagree often.
		RefreshInterval: authpool.Duration(30 * time.Second),
	}, clk)

	const (
		workers    = 8
		perWorker  = 3
		iterations = 300
	)
	var (
		recorded, released atomic.Int64 // nanodollars
		allocs, exhausts   atomic.Int64
		done               = make(chan struct{})
		watchers, workersG sync.WaitGroup
		overMax            atomic.Value
	)
	// The watcher: no snapshot ever shows a subscription over its maximum.
	watchers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			s, err := p.Snapshot(ctx)
			if err != nil {
				t.Errorf("Snapshot: %v", err)
				return
			}
			for _, st := range s.Subscriptions {
				if st.ActiveClients > st.MaxClients {
					overMax.Store(fmt.Sprintf("%d clients of %s held a slot, more than %d", st.ActiveClients, st.ID, st.MaxClients))
				}
			}
		}
	})
	// The host: rebalances, limits and enables, and moves the clock (less
	// than StaleAfter in all, so only the workers release sessions).
	watchers.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			now := clk.Now()
			if now.Sub(t0) < 25*time.Minute {
				clk.Advance(5 * time.Second)
			}
			if _, err := p.Rebalance(ctx); err != nil {
				t.Errorf("Rebalance: %v", err)
			}
			switch i % 6 {
			case 0:
				if err := p.MarkLimited(ctx, "s-b", now.Add(time.Minute), "429"); err != nil {
					t.Errorf("MarkLimited: %v", err)
				}
			case 3:
				if err := p.Enable(ctx, "s-b"); err != nil {
					t.Errorf("Enable: %v", err)
				}
			}
		}
	})

	for w := range workers {
		workersG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			cost := make(map[string]int64) // what each client recorded in its current session
			for range iterations {
				c := fmt.Sprintf("w%d-c%d", w, rng.IntN(perWorker))
				if rng.IntN(8) == 0 {
					if err := p.Release(ctx, c); err != nil {
						t.Errorf("Release(%s): %v", c, err)
					}
					released.Add(cost[c])
					cost[c] = 0
					continue
				}
				a, err := p.Allocate(ctx, c)
				allocs.Add(1)
				if err != nil {
					if !errors.Is(err, authpool.ErrExhausted) {
						t.Errorf("Allocate(%s) = %v, want success or ErrExhausted", c, err)
					}
					exhausts.Add(1)
					continue
				}
				u := authpool.Usage{Time: clk.Now(), CostUSD: float64(1+rng.IntN(5)) / 100}
				if rng.IntN(2) == 0 {
					u.SubscriptionID = a.SubscriptionID
				}
				if err := p.Record(ctx, c, u); err != nil {
					t.Errorf("Record(%s) after Allocate: %v", c, err)
					continue
				}
				n, _ := store.FromUSD(u.CostUSD)
				recorded.Add(int64(n))
				cost[c] += int64(n)
			}
		})
	}
	workersG.Wait()
	close(done)
	watchers.Wait()
	if msg := overMax.Load(); msg != nil {
		t.Error(msg)
	}

	s := snapshot(t, p)
	subsTotal, sessTotal := billed(s)
	want := store.Nanodollars(recorded.Load())
	if subsTotal != want || sessTotal+store.Nanodollars(released.Load()) != want {
		t.Errorf("recorded %d nanodollars; subscriptions hold %d, sessions %d + released %d", want, subsTotal, sessTotal, released.Load())
	}
	on := map[string]int{}
	for _, ss := range s.Sessions {
		on[ss.SubscriptionID]++
	}
	for _, st := range s.Subscriptions {
		if on[st.ID] != st.Clients {
			t.Errorf("%s counts %d clients but %d sessions are on it", st.ID, st.Clients, on[st.ID])
		}
	}
	if allocs.Load() == exhausts.Load() {
		t.Errorf("every one of %d allocations was exhausted", allocs.Load())
	}
	t.Logf("%d allocations, %d exhausted", allocs.Load(), exhausts.Load())
}

// TestConcurrentRecordsOfOneRequestCountOnce has many clients report the
// same request at once: exactly one Record counts it.
func TestConcurrentRecordsOfOneRequestCountOnce(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	const n = 24
	for i := range n {
		allocate(t, p, fmt.Sprintf("c%02d", i))
	}
	var wg sync.WaitGroup
	for round := range 20 {
		for i := range n {
			wg.Go(func() {
				u := authpool.Usage{ID: fmt.Sprintf("msg-%d", round), Time: t0, CostUSD: 1}
				if err := p.Record(ctx, fmt.Sprintf("c%02d", i), u); err != nil {
					t.Errorf("Record: %v", err)
				}
			})
		}
	}
	wg.Wait()
	s := snapshot(t, p)
	subsTotal, sessTotal := billed(s)
	requests := int64(0)
	for _, ss := range s.Sessions {
		requests += ss.Requests
	}
	if subsTotal != 20e9 || sessTotal != 20e9 || requests != 20 {
		t.Errorf("subscriptions hold %d, sessions %d in %d requests; want $20 in 20 requests", subsTotal, sessTotal, requests)
	}
	if got := p.Stats().DuplicateRecords; got != 20*(n-1) {
		t.Errorf("DuplicateRecords = %d, want %d", got, 20*(n-1))
	}
}

// TestConcurrentAllocationsNeverExceedAMaximum has many new clients race
// for the last places of a pool.
func TestConcurrentAllocationsNeverExceedAMaximum(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", maxClients(4)), sub("s-b", maxClients(3)), sub("s-c", maxClients(3))), clk)
	var placed, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			_, err := p.Allocate(ctx, fmt.Sprintf("c%03d", i))
			switch {
			case err == nil:
				placed.Add(1)
			case errors.Is(err, authpool.ErrExhausted):
				refused.Add(1)
			default:
				t.Errorf("Allocate = %v, want success or ErrExhausted", err)
			}
		})
	}
	wg.Wait()
	if placed.Load() != 10 || refused.Load() != 90 {
		t.Errorf("%d placed and %d refused, want 10 and 90", placed.Load(), refused.Load())
	}
	for _, st := range snapshot(t, p).Subscriptions {
		if st.Clients != st.MaxClients {
			t.Errorf("%s holds %d clients, want its maximum %d", st.ID, st.Clients, st.MaxClients)
		}
	}
}
