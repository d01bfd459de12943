package authpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

func TestModelLimitsMoveOnlyThatModelsClients(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	pin(t, p, "s-a", "alice", "bob")
	if err := p.MarkModelLimited(ctx, "s-a", "opus", t0.Add(time.Hour), "7d_opus rejected"); err != nil {
		t.Fatal(err)
	}
	opus := authpool.ForModel("claude-opus-4-5-20251101")
	steps := []struct {
		what       string
		client     string
		opts       []authpool.AllocateOption
		wantSub    string
		wantResult authpool.Outcome
		wantReason authpool.Reason
	}{
		{"a client without a model stays", "alice", nil, "s-a", authpool.OutcomeSticky, ""},
		{"a client of another model stays", "alice", []authpool.AllocateOption{authpool.ForModel("claude-sonnet-4-5")}, "s-a", authpool.OutcomeSticky, ""},
		{"a client of the limited model moves", "bob", []authpool.AllocateOption{opus}, "s-b", authpool.OutcomeMoved, authpool.ReasonModelLimited},
		{"a new client of the limited model goes elsewhere", "carol", []authpool.AllocateOption{opus}, "s-b", authpool.OutcomeNew, ""},
	}
	for _, st := range steps {
		a, err := p.Allocate(ctx, st.client, st.opts...)
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if a.SubscriptionID != st.wantSub || a.Outcome != st.wantResult || a.Reason != st.wantReason {
			t.Errorf("%s: got %s on %s (%s), want %s on %s (%s)", st.what, a.Outcome, a.SubscriptionID, a.Reason,
				st.wantResult, st.wantSub, st.wantReason)
		}
	}
	// With s-b out too, an opus client is refused, and told when s-a is back for it.
	if err := p.Disable(ctx, "s-b", "test"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Allocate(ctx, "dave", opus)
	e := exhausted(t, err)
	if e.Reasons[authpool.ReasonModelLimited] != 1 || !e.RetryAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("exhausted = %v, want one subscription limited for the model, back at %v", e, t0.Add(time.Hour))
	}
	// When the limit ends the model may use s-a again.
	clk.Set(t0.Add(time.Hour))
	if a, err := p.Allocate(ctx, "dave", opus); err != nil || a.SubscriptionID != "s-a" {
		t.Errorf("after the limit: Allocate = %+v, %v; want s-a", a, err)
	}
}

func TestMarkModelLimitedRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, subs(sub("s-a")), newClock(t0))
	for _, tc := range []struct {
		id, model string
		until     time.Time
		want      error
	}{
		{"s-a", "", t0.Add(time.Hour), authpool.ErrInvalidArgument},
		{"s-a", "opus", t0, authpool.ErrInvalidArgument},
		{"s-zzz", "opus", t0.Add(time.Hour), authpool.ErrNotFound},
	} {
		if err := p.MarkModelLimited(ctx, tc.id, tc.model, tc.until, "x"); !errors.Is(err, tc.want) {
			t.Errorf("MarkModelLimited(%q, %q, %v) = %v, want %v", tc.id, tc.model, tc.until, err, tc.want)
		}
	}
}

func TestObservedUseRaisesThePoolsEstimate(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(100, 10)), sub("s-b", budgets(100, 10))), clk)
	pin(t, p, "s-a", "alice")
	spend(t, p, clk, "alice", 1) // the pool counts 10 % of s-a's block
	obs := func(block, week float64, blockReset time.Time) authpool.Observation {
		return authpool.Observation{Time: clk.Now(),
			Block: &authpool.WindowObservation{Share: block, Reset: blockReset},
			Week:  &authpool.WindowObservation{Share: week, Reset: t0.Add(100 * time.Hour)}}
	}
	if err := p.Observe(ctx, "s-a", obs(0.6, 0.2, t0.Add(2*time.Hour+10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	st := status(t, snapshot(t, p), "s-a")
	if st.Block.Percent != 60 || st.Block.ReportedPercent != 60 || st.Block.CostUSD != 1 || st.Week.Percent != 20 {
		t.Errorf("after a report of 60 %%/20 %%: block %v%% (reported %v%%, $%v recorded), week %v%%; want 60, 60, $1, 20",
			st.Block.Percent, st.Block.ReportedPercent, st.Block.CostUSD, st.Week.Percent)
	}
	// The reported block resets at 14:40: the pool's block is anchored 5 hours earlier, at 09:00.
	if want := day(0, 9, 0); !st.Block.Start.Equal(want) {
		t.Errorf("block starts at %v, want the reported block's hour %v", st.Block.Start, want)
	}
	// A lower report does not lower what the pool counts.
	if err := p.Observe(ctx, "s-a", obs(0.05, 0.001, t0.Add(2*time.Hour+10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if st := status(t, snapshot(t, p), "s-a"); st.Block.Percent != 10 {
		t.Errorf("after a lower report the block is at %v%%, want the pool's own 10%%", st.Block.Percent)
	}
	// A report of a spent block takes the subscription out until the report's reset.
	if err := p.Observe(ctx, "s-a", obs(1, 0.3, t0.Add(2*time.Hour+10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-b" || a.Reason != authpool.ReasonBlockSpent {
		t.Errorf("after a report of a spent block alice got %s (%s), want s-b (block budget spent)", a.SubscriptionID, a.Reason)
	}
	// An older report than the one kept changes nothing.
	old := obs(0.1, 0.1, t0.Add(time.Hour))
	old.Time = t0.Add(-time.Minute)
	if err := p.Observe(ctx, "s-a", old); err != nil {
		t.Fatal(err)
	}
	if st := status(t, snapshot(t, p), "s-a"); st.Block.ReportedPercent != 100 {
		t.Errorf("an older report replaced the kept one: reported %v%%", st.Block.ReportedPercent)
	}
	// The report lasts until its window resets.
	clk.Set(t0.Add(2*time.Hour + 10*time.Minute))
	if st := status(t, snapshot(t, p), "s-a"); st.Block.ReportedPercent != 0 || !st.Eligible {
		t.Errorf("after the reported reset: reported %v%%, eligible %v; want 0, eligible", st.Block.ReportedPercent, st.Eligible)
	}
}

func TestObservedUseWithoutBudgets(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	err := p.Observe(ctx, "s-a", authpool.Observation{Time: t0,
		Week: &authpool.WindowObservation{Share: 0.9, Reset: t0.Add(48 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	st := status(t, snapshot(t, p), "s-a")
	if st.Week.Percent != 90 || st.Eligible || st.Ineligible != authpool.ReasonWeeklyThreshold {
		t.Errorf("a subscription without budgets reported at 90 %% of its week: %v%%, eligible %v (%s); want 90, over the threshold",
			st.Week.Percent, st.Eligible, st.Ineligible)
	}
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-b" {
		t.Errorf("a new client went to %s, want s-b", a.SubscriptionID)
	}
}

func TestObserveRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, subs(sub("s-a")), newClock(t0))
	for _, o := range []authpool.Observation{
		{},
		{Time: t0, Block: &authpool.WindowObservation{Share: -0.1, Reset: t0}},
		{Time: t0, Week: &authpool.WindowObservation{Share: 0.5}},
	} {
		if err := p.Observe(ctx, "s-a", o); !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Errorf("Observe(%+v) = %v, want ErrInvalidArgument", o, err)
		}
	}
	if err := p.Observe(ctx, "s-zzz", authpool.Observation{Time: t0}); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("Observe of an unknown subscription = %v, want ErrNotFound", err)
	}
}

func TestRepeatedThrottlesBackOff(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	steps := []struct {
		after      time.Duration // since the previous step
		retryAfter time.Duration
		want       time.Duration
	}{
		{0, 10 * time.Second, 10 * time.Second},
		{10 * time.Second, 10 * time.Second, 20 * time.Second},    // right after the pause: doubled
		{25 * time.Second, 10 * time.Second, 40 * time.Second},    // within the pause's length after it
		{40 * time.Second, 10 * time.Second, 80 * time.Second},    // again
		{80 * time.Second, time.Minute, 160 * time.Second},        // doubled from the last pause
		{160 * time.Second, time.Second, 5 * time.Minute},         // capped
		{5*time.Minute + 6*time.Minute, time.Second, time.Second}, // a quiet spell starts over
	}
	for i, st := range steps {
		clk.Advance(st.after)
		got, err := p.Throttled(ctx, "s-a", st.retryAfter, "429 throttled")
		if err != nil {
			t.Fatal(err)
		}
		if got != st.want {
			t.Errorf("throttle %d: pause %v, want %v", i+1, got, st.want)
		}
		if s := status(t, snapshot(t, p), "s-a"); s.Status.State != authpool.Limited || !s.Status.Until.Equal(clk.Now().Add(got)) {
			t.Errorf("throttle %d: status %+v, want limited until %v", i+1, s.Status, clk.Now().Add(got))
		}
	}
}
