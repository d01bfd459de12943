package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// nanos converts dollars, as a Snapshot shows them, back to nanodollars.
func nanos(usd float64) store.Nanodollars { return store.Nanodollars(math.Round(usd * 1e9)) }

// billed returns what the snapshot's subscriptions and fallback hold in their
// weeks, and what its sessions hold, in nanodollars.
func billed(s authpool.Snapshot) (subscriptions, sessions store.Nanodollars) {
	for _, st := range s.Subscriptions {
		subscriptions += nanos(st.Week.CostUSD)
	}
	if s.Fallback != nil {
		subscriptions += nanos(s.Fallback.Week.CostUSD)
	}
	for _, ss := range s.Sessions {
		sessions += nanos(ss.CostUSD)
	}
	return subscriptions, sessions
}

// TestLifecycle runs a simulated working day of many clients through a pool:
// they arrive, work (allocate, record), pause and leave, while the host
// rebalances every few minutes. Throughout, every cent recorded is billed
// to exactly one subscription and one session, no subscription has more
// clients holding a slot than its maximum, and every allocation succeeds or
// says the pool is exhausted.
func TestLifecycle(t *testing.T) {
	t.Run("budgets are estimates", func(t *testing.T) { testLifecycle(t, false) })
	t.Run("budgets are caps", func(t *testing.T) { testLifecycle(t, true) })
}

// testLifecycle is TestLifecycle with budgets as estimates (the default:
// subscriptions past a budget serve before the fallback, some allocations
// say OverThreshold) or as caps (Config.StrictBudgets: the pool is
// exhausted now and then).
func testLifecycle(t *testing.T, strictBudgets bool) {
	ctx := context.Background()
	clk := newClock(day(0, 8, 0))
	p := newPool(t, authpool.Config{
		StrictBudgets: strictBudgets,
		Subscriptions: []authpool.Subscription{
			sub("max-a", budgets(1000, 20), maxClients(8)),
			sub("max-b", budgets(600, 15), maxClients(6)),
			sub("pro-c", budgets(150, 5), maxClients(3)),
		},
		Fallback: &authpool.Fallback{Credential: "sk-fallback", DailyBudgetUSD: 8},
	}, clk)
	rng := rand.New(rand.NewPCG(2026, 11))

	const nClients = 30
	type client struct {
		id      string
		working bool
		cost    store.Nanodollars // recorded in its current session
	}
	clients := make([]*client, nClients)
	for i := range clients {
		clients[i] = &client{id: fmt.Sprintf("client-%02d", i)}
	}
	var recorded, released store.Nanodollars
	outcomes := map[authpool.Outcome]int{}
	exhaustions, moves, staleReleases, over := 0, 0, 0, 0
	check := func(when string) {
		t.Helper()
		s := snapshot(t, p)
		subsTotal, sessTotal := billed(s)
		if subsTotal != recorded || sessTotal+released != recorded {
			t.Fatalf("%s: recorded %d, subscriptions hold %d, sessions %d + released %d", when, recorded, subsTotal, sessTotal, released)
		}
		on, holding := map[string]int{}, map[string]int{}
		for _, ss := range s.Sessions {
			on[ss.SubscriptionID]++
			if ss.HoldUntil.After(s.Time) {
				holding[ss.SubscriptionID]++
			}
		}
		for _, st := range s.Subscriptions {
			switch {
			case st.ActiveClients > st.MaxClients:
				t.Fatalf("%s: %d clients of %s hold a slot, more than %d", when, st.ActiveClients, st.ID, st.MaxClients)
			case on[st.ID] != st.Clients:
				t.Fatalf("%s: %s counts %d clients but %d sessions are on it", when, st.ID, st.Clients, on[st.ID])
			case holding[st.ID] != st.ActiveClients:
				t.Fatalf("%s: %s counts %d clients holding a slot but %d sessions hold one", when, st.ID, st.ActiveClients, holding[st.ID])
			}
		}
	}

	for minute := 0; minute < 10*60; minute++ {
		now := day(0, 8, 0).Add(time.Duration(minute) * time.Minute)
		clk.Set(now)
		for _, c := range clients {
			switch r := rng.IntN(100); {
			case !c.working && r < 8: // arrives
				c.working = true
			case c.working && r < 3: // leaves
				if err := p.Release(ctx, c.id); err != nil {
					t.Fatal(err)
				}
				released += c.cost
				c.working, c.cost = false, 0
			case c.working && r < 18: // works
				a, err := p.Allocate(ctx, c.id)
				if err != nil {
					if !errors.Is(err, authpool.ErrExhausted) {
						t.Fatalf("Allocate(%s) = %v, want success or ErrExhausted", c.id, err)
					}
					exhaustions++
					continue
				}
				outcomes[a.Outcome]++
				if a.OverThreshold {
					over++
				}
				cost, _ := store.FromUSD(float64(rng.IntN(12)) / 100)
				u := authpool.Usage{ID: fmt.Sprintf("msg-%d-%s", minute, c.id), SubscriptionID: a.SubscriptionID,
					Time: now, CostUSD: cost.USD(), Tokens: authpool.Tokens{Input: int64(rng.IntN(5000)), Output: int64(rng.IntN(2000))}}
				if err := p.Record(ctx, c.id, u); err != nil {
					t.Fatalf("Record(%s): %v", c.id, err)
				}
				if rng.IntN(10) == 0 { // a retry of the same request
					if err := p.Record(ctx, c.id, u); err != nil {
						t.Fatalf("Record(%s) again: %v", c.id, err)
					}
				}
				recorded += cost
				c.cost += cost
			}
		}
		if minute%5 == 0 {
			report := rebalance(t, p)
			moves += len(report.Moves)
			staleReleases += len(report.Released)
			for _, r := range report.Released {
				for _, c := range clients {
					if c.id == r.ClientID {
						released += c.cost
						c.cost = 0
					}
				}
			}
		}
		if minute%30 == 0 {
			check(fmt.Sprintf("minute %d", minute))
		}
	}
	check("the end of the day")
	for _, c := range clients {
		if err := p.Release(ctx, c.id); err != nil {
			t.Fatal(err)
		}
		released += c.cost
		c.cost = 0
	}
	check("after everyone left")
	s := snapshot(t, p)
	if len(s.Sessions) != 0 {
		t.Errorf("sessions left: %+v", s.Sessions)
	}
	for _, st := range s.Subscriptions {
		if st.Clients != 0 {
			t.Errorf("%s still counts %d clients", st.ID, st.Clients)
		}
	}
	// The day was busy enough to use every path.
	for _, o := range []authpool.Outcome{authpool.OutcomeNew, authpool.OutcomeSticky, authpool.OutcomeMoved, authpool.OutcomeFallback} {
		if outcomes[o] == 0 {
			t.Errorf("no allocation was %s: %v", o, outcomes)
		}
	}
	if p.Stats().DuplicateRecords == 0 {
		t.Errorf("%d duplicates, want some", p.Stats().DuplicateRecords)
	}
	if strictBudgets && (exhaustions == 0 || over > 0) {
		t.Errorf("with strict budgets %d exhaustions and %d allocations over the threshold, want some and none", exhaustions, over)
	}
	if !strictBudgets && over == 0 {
		t.Errorf("with budgets as estimates no allocation was over the threshold or past a budget, want some")
	}
	if moves == 0 || staleReleases == 0 {
		t.Errorf("Rebalance moved %d clients and released %d, want some of each", moves, staleReleases)
	}
	t.Logf("outcomes %v, %d over the threshold, %d exhausted, %d duplicates, %d rebalanced, %d released stale, $%.2f recorded",
		outcomes, over, exhaustions, p.Stats().DuplicateRecords, moves, staleReleases, recorded.USD())
}

func TestAClosedPoolRefusesEveryCall(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	for i := range 2 {
		if err := p.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	_, allocErr := p.Allocate(ctx, "alice")
	_, rebErr := p.Rebalance(ctx)
	_, snapErr := p.Snapshot(ctx)
	_, removeErr := p.RemoveSubscription(ctx, "s-a")
	_, listErr := p.Subscriptions(ctx)
	calls := map[string]error{
		"Allocate":           allocErr,
		"Record":             p.Record(ctx, "alice", authpool.Usage{Time: t0, CostUSD: 1}),
		"Release":            p.Release(ctx, "alice"),
		"Rebalance":          rebErr,
		"Snapshot":           snapErr,
		"AddSubscription":    p.AddSubscription(ctx, sub("s-b")),
		"UpdateSubscription": p.UpdateSubscription(ctx, "s-a", authpool.SubscriptionUpdate{MaxClients: ptr(2)}),
		"RemoveSubscription": removeErr,
		"Subscriptions":      listErr,
		"MarkLimited":        p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), "429"),
		"MarkLimited (past)": p.MarkLimited(ctx, "s-a", t0.Add(-time.Hour), "429"),
		"Disable":            p.Disable(ctx, "s-a", "x"),
		"Enable":             p.Enable(ctx, "s-a"),
	}
	for name, err := range calls {
		if !errors.Is(err, authpool.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestAnEmptyPool(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, authpool.Config{}, clk)
	_, err := p.Allocate(ctx, "alice")
	if e := exhausted(t, err); !e.RetryAt.IsZero() || len(e.Reasons) != 0 {
		t.Errorf("ExhaustedError = %+v, want no reason and no retry time", e)
	}
	s := snapshot(t, p)
	if len(s.Subscriptions) != 0 || len(s.Sessions) != 0 || s.Fallback != nil {
		t.Errorf("Snapshot of an empty pool = %+v", s)
	}
	if r := rebalance(t, p); len(r.Moves)+len(r.Released) != 0 {
		t.Errorf("Rebalance of an empty pool = %+v", r)
	}
	if err := p.AddSubscription(ctx, sub("s-a")); err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" {
		t.Errorf("Allocate after the first AddSubscription = %+v, want s-a", a)
	}
}
