package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
)

// A slot is for a working client: the tests of what a subscription's
// MaxClients caps (the clients holding a slot) and for how long a client
// holds one (IdleAfter after its latest activity, or the prompt cache's time
// to live its latest request wrote).

// threeSubscriptions is the default pool of the issue: three subscriptions
// of the default MaxClients (15), no budgets.
func threeSubscriptions() authpool.Config { return subs(sub("s-a"), sub("s-b"), sub("s-c")) }

// TestOneShotClientsDoNotFillThePool: 1,000 one-shot clients (each a new
// session that allocates, records one usage and never comes back, as
// `claude -p` runs are) spread over more than two hours, at most 38 within
// any 5 minutes, on 3 subscriptions of 15: none is refused, though nothing
// releases their sessions.
func TestOneShotClientsDoNotFillThePool(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, threeSubscriptions(), clk)
	const runs, every = 1000, 8 * time.Second // 300 s / 8 s: 37.5 runs within any 5 minutes
	for i := range runs {
		clk.Set(t0.Add(time.Duration(i) * every))
		client := fmt.Sprintf("claude-p-%04d", i)
		a, err := p.Allocate(ctx, client)
		if err != nil {
			t.Fatalf("one-shot run %d at +%v: Allocate = %v; want a place: no more than 38 clients worked within 5 minutes",
				i, clk.Now().Sub(t0), err)
		}
		if a.Outcome != authpool.OutcomeNew {
			t.Fatalf("one-shot run %d: Allocate = %+v, want a new client", i, a)
		}
		if err := p.Record(ctx, client, authpool.Usage{Time: clk.Now(), CostUSD: 0.01}); err != nil {
			t.Fatalf("Record for one-shot run %d: %v", i, err)
		}
	}
	s := snapshot(t, p)
	sessions, active := 0, 0
	for _, st := range s.Subscriptions {
		sessions += st.Clients
		active += st.ActiveClients
		if st.ActiveClients > st.MaxClients {
			t.Errorf("%d clients of %s hold a slot, more than its %d", st.ActiveClients, st.ID, st.MaxClients)
		}
	}
	// The last 38 runs began within IdleAfter of the last: they hold a slot.
	if sessions != runs || active != 38 {
		t.Errorf("after the runs the pool has %d sessions, %d holding a slot; want %d and 38", sessions, active, runs)
	}
}

// TestWorkingSessionsFillThePool: 46 Claude Code sessions working at once on
// 3 subscriptions of 15: 45 get a place and the 46th is refused, told when
// the first slot frees up (when the first hold ends, 5 minutes away at
// most); once one of the 45 stops working, IdleAfter later the 46th gets
// its place.
func TestWorkingSessionsFillThePool(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, threeSubscriptions(), clk)
	clients := make([]string, 46)
	for i := range clients {
		clients[i] = fmt.Sprintf("session-%02d", i)
	}

	// All 46 at once: the store lets exactly 45 in.
	var (
		mu      sync.Mutex
		placed  = map[string]string{}
		refused []*authpool.ExhaustedError
	)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			a, err := p.Allocate(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			var e *authpool.ExhaustedError
			switch {
			case err == nil:
				placed[c] = a.SubscriptionID
			case errors.As(err, &e):
				refused = append(refused, e)
			default:
				t.Errorf("Allocate(%s) = %v", c, err)
			}
		})
	}
	wg.Wait()
	if len(placed) != 45 || len(refused) != 1 {
		t.Fatalf("46 sessions at once: %d placed, %d refused; want 45 and 1", len(placed), len(refused))
	}
	e := refused[0]
	if want := t0.Add(defaultIdleAfter); !e.RetryAt.Equal(want) {
		t.Errorf("the 46th's RetryAt = %v, want %v: when the first hold ends", e.RetryAt, want)
	}
	if diff := cmp.Diff(map[authpool.Reason]int{authpool.ReasonFull: 3}, e.Reasons); diff != "" {
		t.Errorf("the 46th's Reasons (-want +got):\n%s", diff)
	}
	latecomer := e.ClientID
	var stopper string // the one of the 45 that stops working
	for c := range placed {
		if stopper == "" || c < stopper {
			stopper = c
		}
	}

	// The others work on, a request a minute: their holds move on, the
	// stopper's ends at t0+5m.
	for minute := 1; minute <= 4; minute++ {
		clk.Set(t0.Add(time.Duration(minute) * time.Minute))
		for c := range placed {
			if c == stopper {
				continue
			}
			if a := allocate(t, p, c); a.Outcome != authpool.OutcomeSticky {
				t.Fatalf("minute %d: Allocate(%s) = %+v, want sticky", minute, c, a)
			}
			spend(t, p, clk, c, 0.05)
		}
	}
	clk.Set(t0.Add(defaultIdleAfter - time.Nanosecond))
	_, err := p.Allocate(ctx, latecomer)
	if e := exhausted(t, err); !e.RetryAt.Equal(t0.Add(defaultIdleAfter)) {
		t.Errorf("a nanosecond before the stopper's hold ends: RetryAt = %v, want %v", e.RetryAt, t0.Add(defaultIdleAfter))
	}
	clk.Set(t0.Add(defaultIdleAfter))
	a := allocate(t, p, latecomer)
	if a.Outcome != authpool.OutcomeNew || a.SubscriptionID != placed[stopper] {
		t.Errorf("once the stopper idled past IdleAfter: Allocate(%s) = %+v, want new on %s, the stopper's", latecomer, a, placed[stopper])
	}
	for _, st := range snapshot(t, p).Subscriptions {
		if st.ActiveClients != 15 {
			t.Errorf("%s: %d clients hold a slot, want 15", st.ID, st.ActiveClients)
		}
	}
}

// TestOneHourCacheHoldsTheSlotForTheHour: a client whose latest request
// wrote 1-hour prompt cache holds its slot for the hour, however idle:
// another client gets in only when the hour is over, Rebalance neither
// releases nor moves it meanwhile, and it finds its place when it comes
// back.
func TestOneHourCacheHoldsTheSlotForTheHour(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", maxClients(1)), sub("s-b", maxClients(1))), clk)
	pin(t, p, "s-a", "alice")
	spend(t, p, clk, "alice", 40) // s-a's block is dearer: Rebalance would move an idle client off it
	if err := p.Record(ctx, "alice", authpool.Usage{Time: t0, CostUSD: 1, CacheTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pin(t, p, "s-b", "bob") // bob's slot is a 5-minute one
	hour := t0.Add(time.Hour)

	clk.Set(t0.Add(40 * time.Minute)) // alice and bob are stale: idle for more than 30 minutes
	r := rebalance(t, p)
	if len(r.Moves) != 0 || len(r.Released) != 1 || r.Released[0].ClientID != "bob" {
		t.Errorf("Rebalance at +40m = %+v; want bob released, alice neither moved nor released", r)
	}
	if ss, ok := session(snapshot(t, p), "alice"); !ok || ss.Idle || !ss.HoldUntil.Equal(hour) {
		t.Errorf("alice's session at +40m = %+v, %v; want it active, holding its slot until %v", ss, ok, hour)
	}
	if err := p.Disable(ctx, "s-b", "test"); err != nil {
		t.Fatal(err)
	}
	clk.Set(hour.Add(-time.Nanosecond))
	_, err := p.Allocate(ctx, "carol")
	if e := exhausted(t, err); !e.RetryAt.Equal(hour) {
		t.Errorf("carol a nanosecond before alice's hour ends: RetryAt = %v, want %v", e.RetryAt, hour)
	}
	if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeSticky || a.SubscriptionID != "s-a" {
		t.Errorf("alice back after 59 minutes: %+v, want sticky on s-a", a)
	}
	clk.Set(hour.Add(defaultIdleAfter))
	if a := allocate(t, p, "carol"); a.SubscriptionID != "s-a" || a.Outcome != authpool.OutcomeNew {
		t.Errorf("carol once alice's hold has ended: %+v, want new on s-a", a)
	}
}

// TestReturningIdleClient: a client whose hold on its slot has ended keeps
// its place when it comes back, if its subscription has room; if the
// subscription filled up meanwhile, it is placed like a new client and the
// Allocation says why (OutcomeMoved, ReasonPlaceTaken); and if nothing can
// take it, it is refused, its session left where it was.
func TestReturningIdleClient(t *testing.T) {
	ctx := context.Background()
	t.Run("keeps its place when there is room", func(t *testing.T) {
		clk := newClock(t0)
		p := newPool(t, subs(sub("s-a", maxClients(2)), sub("s-b", maxClients(2))), clk)
		pin(t, p, "s-a", "alice")
		clk.Advance(20 * time.Minute) // idle: its hold ended 15 minutes ago
		pin(t, p, "s-a", "bob")       // one slot of two
		want := authpool.Allocation{ClientID: "alice", SubscriptionID: "s-a", Kind: authpool.KindMax5x,
			Credential: authpool.Credential(secret + "-s-a"), Outcome: authpool.OutcomeSticky}
		if diff := cmp.Diff(want, allocate(t, p, "alice")); diff != "" {
			t.Errorf("Allocate of the returning client (-want +got):\n%s", diff)
		}
		if st := status(t, snapshot(t, p), "s-a"); st.ActiveClients != 2 {
			t.Errorf("s-a: %d clients hold a slot, want 2", st.ActiveClients)
		}
	})
	t.Run("is moved when its place was taken", func(t *testing.T) {
		clk := newClock(t0)
		p := newPool(t, subs(sub("s-a", maxClients(1)), sub("s-b", maxClients(1))), clk)
		pin(t, p, "s-a", "alice")
		clk.Advance(10 * time.Minute)
		pin(t, p, "s-a", "bob") // alice's slot, free since t0+5m
		clk.Advance(time.Minute)
		want := authpool.Allocation{ClientID: "alice", SubscriptionID: "s-b", Kind: authpool.KindMax5x,
			Credential: authpool.Credential(secret + "-s-b"), Outcome: authpool.OutcomeMoved, From: "s-a",
			Reason: authpool.ReasonPlaceTaken}
		if diff := cmp.Diff(want, allocate(t, p, "alice")); diff != "" {
			t.Errorf("Allocate of the returning client (-want +got):\n%s", diff)
		}
		s := snapshot(t, p)
		for id, want := range map[string][2]int{"s-a": {1, 1}, "s-b": {1, 1}} {
			if st := status(t, s, id); st.Clients != want[0] || st.ActiveClients != want[1] {
				t.Errorf("%s: %d sessions, %d holding a slot; want %v", id, st.Clients, st.ActiveClients, want)
			}
		}
	})
	t.Run("is refused when nothing can take it", func(t *testing.T) {
		clk := newClock(t0)
		p := newPool(t, subs(sub("s-a", maxClients(1))), clk)
		allocate(t, p, "alice")
		clk.Advance(10 * time.Minute)
		allocate(t, p, "bob") // alice's slot
		_, err := p.Allocate(ctx, "alice")
		if e := exhausted(t, err); !e.RetryAt.Equal(clk.Now().Add(defaultIdleAfter)) {
			t.Errorf("RetryAt = %v, want when bob's hold ends, %v", e.RetryAt, clk.Now().Add(defaultIdleAfter))
		}
		if ss, ok := session(snapshot(t, p), "alice"); !ok || ss.SubscriptionID != "s-a" || !ss.LastActive.Equal(t0) {
			t.Errorf("alice's session after the refusal = %+v, %v; want it left on s-a, last active at %v", ss, ok, t0)
		}
	})
}

// TestRecordExtendsTheHold: Record moves the client's hold to IdleAfter
// after it, so a request that took longer than IdleAfter keeps the client's
// place; it refuses a CacheTTL outside 0..MaxCacheTTL; and a client whose
// hold had ended gets it back only while its subscription has room.
func TestRecordExtendsTheHold(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", maxClients(1))), clk)
	allocate(t, p, "alice")
	clk.Advance(4 * time.Minute) // a long request
	spend(t, p, clk, "alice", 1)
	clk.Advance(4 * time.Minute)
	_, err := p.Allocate(ctx, "bob")
	if e := exhausted(t, err); !e.RetryAt.Equal(t0.Add(9 * time.Minute)) {
		t.Errorf("RetryAt = %v, want IdleAfter after alice's usage, %v", e.RetryAt, t0.Add(9*time.Minute))
	}
	for _, ttl := range []time.Duration{-time.Second, bounds.MaxCacheTTL + time.Nanosecond} {
		err := p.Record(ctx, "alice", authpool.Usage{Time: clk.Now(), CostUSD: 1, CacheTTL: ttl})
		if !errors.Is(err, authpool.ErrInvalidArgument) || !strings.Contains(err.Error(), "usage.cacheTTL: "+ttl.String()) {
			t.Errorf("Record with CacheTTL %v = %v, want ErrInvalidArgument naming usage.cacheTTL and its value", ttl, err)
		}
	}
	clk.Set(t0.Add(9 * time.Minute))
	allocate(t, p, "bob") // alice's slot
	spend(t, p, clk, "alice", 1)
	if ss, _ := session(snapshot(t, p), "alice"); !ss.HoldUntil.Equal(t0.Add(9 * time.Minute)) {
		t.Errorf("alice's hold after a usage while bob holds the only slot = %v, want it still ended at %v", ss.HoldUntil, t0.Add(9*time.Minute))
	}
	if st := status(t, snapshot(t, p), "s-a"); st.ActiveClients != 1 || st.Week.CostUSD != 2 {
		t.Errorf("s-a: %d clients holding a slot, $%v this week; want 1 and $2: the usage counts all the same", st.ActiveClients, st.Week.CostUSD)
	}
}

// TestHold: a client working outside the pool's sight (a CLI run on the
// subscription's credential) keeps its slot by calling Hold: it is never
// moved, it keeps others out while it holds, and a client whose place was
// taken meanwhile is told so and left where it is; a client without a
// session is ErrUnknownClient.
func TestHold(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", maxClients(1)), sub("s-b", maxClients(1))), clk)
	pin(t, p, "s-a", "alice")
	for range 6 { // half an hour of a run, held every 5 minutes
		clk.Advance(defaultIdleAfter)
		if held, err := p.Hold(ctx, "alice"); !held || err != nil {
			t.Fatalf("Hold(alice) at +%v = %v, %v; want held", clk.Now().Sub(t0), held, err)
		}
	}
	if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
		t.Errorf("bob went to %s while alice held s-a's only slot; want s-b", a.SubscriptionID)
	}
	_, err := p.Allocate(ctx, "carol")
	if e := exhausted(t, err); !e.RetryAt.Equal(clk.Now().Add(defaultIdleAfter)) {
		t.Errorf("RetryAt = %v, want when alice's and bob's holds end, %v", e.RetryAt, clk.Now().Add(defaultIdleAfter))
	}

	clk.Advance(2 * defaultIdleAfter) // alice stopped holding: carol takes her slot
	if a := allocate(t, p, "carol"); a.SubscriptionID != "s-a" {
		t.Fatalf("carol went to %s; want s-a, free since alice's hold ended", a.SubscriptionID)
	}
	if held, err := p.Hold(ctx, "alice"); held || err != nil {
		t.Errorf("Hold(alice) after carol took her slot = %v, %v; want not held, no error", held, err)
	}
	if ss, ok := session(snapshot(t, p), "alice"); !ok || ss.SubscriptionID != "s-a" {
		t.Errorf("alice's session after Hold = %+v, %v; want it left on s-a", ss, ok)
	}
	if _, err := p.Hold(ctx, "nobody"); !errors.Is(err, authpool.ErrUnknownClient) {
		t.Errorf("Hold(nobody) = %v, want ErrUnknownClient", err)
	}
	if _, err := p.Hold(ctx, ""); !errors.Is(err, authpool.ErrInvalidArgument) {
		t.Errorf("Hold(\"\") = %v, want ErrInvalidArgument", err)
	}
}
