package authpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// TestTheThresholdRelaxesAsTheWeekLapses checks the weekly forecast in a
// pool: s-a used $90 of its $100 week two days ago (over the 85 %
// threshold), s-b nothing. Over the threshold s-a takes a newcomer as if
// under it while its week would lapse with capacity unused, and first when
// that is within a day.
func TestTheThresholdRelaxesAsTheWeekLapses(t *testing.T) {
	ctx := context.Background()
	observe := func(share float64, reset time.Duration) func(*testing.T, *authpool.Pool, *clock) {
		return func(t *testing.T, p *authpool.Pool, clk *clock) {
			o := authpool.Observation{Time: clk.Now(), Week: &authpool.WindowObservation{Share: share, Reset: clk.Now().Add(reset)}}
			if err := p.Observe(ctx, "s-a", o); err != nil {
				t.Fatal(err)
			}
		}
	}
	burn := func(t *testing.T, p *authpool.Pool, clk *clock) { spend(t, p, clk, "alice", 1) } // $1 in the last hour
	tests := []struct {
		name   string
		margin float64 // Config.ForecastMargin
		then   []func(*testing.T, *authpool.Pool, *clock)
		want   string
		over   bool // s-a over the threshold in the snapshot (not eligible)
	}{
		{"idle, the $10 left lapses in five days: the threshold relaxes, the healthier s-b", 0, nil, "s-b", false},
		{"burning $1 an hour for the rest of the rolling week: s-a runs out, s-b", 0,
			[]func(*testing.T, *authpool.Pool, *clock){burn}, "s-b", true},
		{"burning, but the upstream's week resets in an hour: $8 lapses today, s-a first", 0,
			[]func(*testing.T, *authpool.Pool, *clock){burn, observe(0.91, time.Hour)}, "s-a", false},
		{"burning, the upstream's week resets in 7.5 hours: $1.50 lapses, under the 2 % margin, s-b", 0,
			[]func(*testing.T, *authpool.Pool, *clock){burn, observe(0.91, 450*time.Minute)}, "s-b", true},
		{"the same with a margin of 1 %: lapsing today, s-a first", 0.01,
			[]func(*testing.T, *authpool.Pool, *clock){burn, observe(0.91, 450*time.Minute)}, "s-a", false},
		{"idle, the forecast off: the threshold is fixed, s-b", -1, nil, "s-b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := subs(sub("s-a", budgets(100, 0)), sub("s-b", budgets(100, 0)))
			cfg.ForecastMargin = tt.margin
			p := newPool(t, cfg, clk)
			pin(t, p, "s-a", "alice")
			spend(t, p, clk, "alice", 90)
			clk.Advance(48 * time.Hour) // the burn rate is the last hour's: none; the $90 leaves the week in 120 hours
			for _, f := range tt.then {
				f(t, p, clk)
			}
			if st := status(t, snapshot(t, p), "s-a"); st.Eligible == tt.over || (tt.over && st.Ineligible != authpool.ReasonWeeklyThreshold) {
				t.Errorf("s-a eligible %v (%q), want over the threshold %v", st.Eligible, st.Ineligible, tt.over)
			}
			a := allocate(t, p, "bob")
			if a.SubscriptionID != tt.want || a.Outcome != authpool.OutcomeNew || a.OverThreshold {
				t.Errorf("Allocate(bob) = %+v, want new on %s", a, tt.want)
			}
		})
	}
}

// TestPastABudgetBeforeTheFallback checks budgets as estimates: s-a's
// weekly budget is spent by the pool's count, but the upstream said
// nothing of it.
func TestPastABudgetBeforeTheFallback(t *testing.T) {
	ctx := context.Background()
	type want struct {
		Sub      string
		Outcome  authpool.Outcome
		Over     bool
		AliceOn  string
		AliceWhy authpool.Reason
	}
	tests := []struct {
		name   string
		strict bool
		then   func(t *testing.T, p *authpool.Pool, clk *clock)
		want   want
	}{
		{"a newcomer gets s-a before the fallback; alice stays", false, nil,
			want{"s-a", authpool.OutcomeNew, true, "s-a", ""}},
		{"the upstream refused s-a: the fallback", false, func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.MarkLimited(ctx, "s-a", clk.Now().Add(24*time.Hour), "weekly limit reached"); err != nil {
				t.Fatal(err)
			}
		}, want{authpool.FallbackID, authpool.OutcomeFallback, false, authpool.FallbackID, authpool.ReasonLimited}},
		{"the upstream reported s-a's week at its limit: the fallback", false, func(t *testing.T, p *authpool.Pool, clk *clock) {
			o := authpool.Observation{Time: clk.Now(), Week: &authpool.WindowObservation{Share: 1, Reset: clk.Now().Add(24 * time.Hour)}}
			if err := p.Observe(ctx, "s-a", o); err != nil {
				t.Fatal(err)
			}
		}, want{authpool.FallbackID, authpool.OutcomeFallback, false, authpool.FallbackID, authpool.ReasonWeekSpent}},
		{"the upstream reported s-a's week under its limit: s-a", false, func(t *testing.T, p *authpool.Pool, clk *clock) {
			o := authpool.Observation{Time: clk.Now(), Week: &authpool.WindowObservation{Share: 0.95, Reset: clk.Now().Add(24 * time.Hour)}}
			if err := p.Observe(ctx, "s-a", o); err != nil {
				t.Fatal(err)
			}
		}, want{"s-a", authpool.OutcomeNew, true, "s-a", ""}},
		{"s-b has room again: both go there", false, func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.Enable(ctx, "s-b"); err != nil {
				t.Fatal(err)
			}
		}, want{"s-b", authpool.OutcomeNew, false, "s-b", authpool.ReasonWeekSpent}},
		{"strict budgets: the fallback", true, nil,
			want{authpool.FallbackID, authpool.OutcomeFallback, false, authpool.FallbackID, authpool.ReasonWeekSpent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := subs(sub("s-a", budgets(100, 0)), sub("s-b", budgets(100, 0)))
			cfg.Fallback = &authpool.Fallback{Credential: "sk-fallback", DailyBudgetUSD: 10}
			cfg.StrictBudgets = tt.strict
			p := newPool(t, cfg, clk)
			pin(t, p, "s-a", "alice")
			spend(t, p, clk, "alice", 100)
			if err := p.Disable(ctx, "s-b", "test"); err != nil {
				t.Fatal(err)
			}
			if tt.then != nil {
				tt.then(t, p, clk)
			}
			a := allocate(t, p, "bob")
			alice := allocate(t, p, "alice")
			got := want{a.SubscriptionID, a.Outcome, a.OverThreshold, alice.SubscriptionID, alice.Reason}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bob, then alice (-want +got):\n%s", diff)
			}
			if st := status(t, snapshot(t, p), "s-a"); st.Eligible {
				t.Errorf("s-a eligible, want ineligible: %q", st.Ineligible)
			}
		})
	}
}

// TestRebalanceMovesAWarmClientOnlyOffASubscriptionRunningOut checks that
// Rebalance leaves an idle client whose prompt cache is warm in place,
// unless its subscription's block is forecast to be spent before the
// cache expires: it would have to move then, rewriting its cache anyway.
// Alice spends on s-a and goes idle, her cache warm for the hour; Bob, on
// s-a too, spends $1 ten minutes later.
func TestRebalanceMovesAWarmClientOnlyOffASubscriptionRunningOut(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		spent float64 // by alice on s-a
		bob   bool    // bob works on s-a ten minutes later
		moved bool
	}{
		{"$29 left at $71 an hour: spent in 25 minutes, before the cache expires: moved", 70, true, true},
		{"$69 left at $31 an hour: the block outlasts the cache: left in place", 30, true, false},
		{"$30 left, no client working: not burning, left in place", 70, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := subs(sub("s-a", budgets(0, 100)), sub("s-b", budgets(0, 100)))
			p := newPool(t, cfg, clk)
			pin(t, p, "s-a", "alice", "bob")
			u := authpool.Usage{Time: clk.Now(), CostUSD: tt.spent, CacheTTL: time.Hour}
			if err := p.Record(ctx, "alice", u); err != nil {
				t.Fatal(err)
			}
			clk.Advance(10 * time.Minute) // alice idle, her cache warm for 50 minutes more
			if tt.bob {
				allocate(t, p, "bob")
				spend(t, p, clk, "bob", 1)
			}
			r := rebalance(t, p)
			if got := len(r.Moves) == 1 && r.Moves[0].ClientID == "alice" && r.Moves[0].To == "s-b"; got != tt.moved {
				t.Errorf("Rebalance moved %+v, want alice moved to s-b: %v", r.Moves, tt.moved)
			}
		})
	}
}
