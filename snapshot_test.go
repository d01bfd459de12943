package authpool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// snapshotPool is a pool of two subscriptions and a fallback on the fixed
// grid: at 12:30 alice joins s-a and spends $40 there, bob joins s-b.
func snapshotPool(t *testing.T) (*authpool.Pool, *clock) {
	clk := newClock(t0)
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			sub("s-a", budgets(1000, 100), maxClients(3), func(s *authpool.Subscription) { s.Name = "Max A"; s.Kind = authpool.KindMax20x }),
			sub("s-b", budgets(500, 50)),
		},
		Fallback: &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 20},
		Block:    authpool.BlockPolicy{Fixed: true},
	}
	p := newPool(t, cfg, clk)
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" {
		t.Fatalf("alice went to %s, want s-a", a.SubscriptionID)
	}
	if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
		t.Fatalf("bob went to %s, want s-b", a.SubscriptionID)
	}
	err := p.Record(context.Background(), "alice", authpool.Usage{ID: "msg_1", Time: t0, CostUSD: 40,
		Tokens: aliceTokens, Model: "claude-opus-4-1"})
	if err != nil {
		t.Fatal(err)
	}
	return p, clk
}

// aliceTokens are the tokens of the request alice makes in snapshotPool.
var aliceTokens = authpool.Tokens{Input: 1000, Output: 2000, CacheWrite: 300, CacheRead: 40000}

func TestSnapshot(t *testing.T) {
	p, clk := snapshotPool(t)
	now := clk.Advance(15 * time.Minute) // 12:45: both clients idle
	week := span{Start: day(-7, 13, 0), End: day(0, 13, 0)}
	block := span{Start: day(0, 10, 0), End: day(0, 15, 0)}
	want := authpool.Snapshot{
		Time: now,
		Subscriptions: []authpool.SubscriptionStatus{
			{
				ID: "s-a", Name: "Max A", Kind: authpool.KindMax20x, Eligible: true,
				// 100 - 50*4% - 30*40% - 10*(40/20 - 1) + 10: alice
				// holds no slot since 12:35, so no 5 a client
				Health:      86,
				HealthTerms: authpool.HealthTerms{Weekly: -2, Block: -12, Burn: -10, Idle: 10},
				Clients:     1, MaxClients: 3,
				// $60 left at $40 an hour: 1h30m, before the block ends.
				Block: authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 40, Requests: 1, Tokens: aliceTokens,
					BudgetUSD: 100, Percent: 40, ExhaustsAt: day(0, 14, 15)},
				// $960 left at $40 an hour: 24 hours, long before the $40
				// leaves the week.
				Week: authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 40, Requests: 1, Tokens: aliceTokens,
					BudgetUSD: 1000, Percent: 4, ExhaustsAt: day(1, 12, 45)},
				BurnRateUSDPerHour: 40,
				ExhaustsAt:         day(0, 14, 15),
				LastActive:         t0,
			},
			{
				ID: "s-b", Kind: authpool.KindMax5x, Eligible: true,
				Health:      100, // 100 + 10, clamped
				HealthTerms: authpool.HealthTerms{Idle: 10},
				Clients:     1, MaxClients: defaultMaxClients,
				Block:      authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, BudgetUSD: 50},
				Week:       authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, BudgetUSD: 500},
				LastActive: t0,
			},
		},
		Fallback: &authpool.SubscriptionStatus{
			ID: authpool.FallbackID, Name: "fallback", Kind: authpool.KindAPI, Eligible: true, Health: 100,
			HealthTerms: authpool.HealthTerms{Idle: 10},
			Block:       authpool.UsageWindow{Start: block.Start, End: block.End, Active: true},
			Week:        authpool.UsageWindow{Start: week.Start, End: week.End, Active: true},
			Day:         &authpool.UsageWindow{Start: day(0, 0, 0), End: day(1, 0, 0), Active: true, BudgetUSD: 20},
		},
		Sessions: []authpool.SessionStatus{
			{ClientID: "alice", SubscriptionID: "s-a", Idle: true, Created: t0, Assigned: t0, LastActive: t0,
				Requests: 1, CostUSD: 40, Tokens: aliceTokens,
				Model: "claude-opus-4-1", HoldUntil: t0.Add(defaultIdleAfter)},
			{ClientID: "bob", SubscriptionID: "s-b", Idle: true, Created: t0, Assigned: t0, LastActive: t0,
				HoldUntil: t0.Add(defaultIdleAfter)},
		},
	}
	got := snapshot(t, p)
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}

func TestSnapshotOfTheFallbacksDay(t *testing.T) {
	p, clk := snapshotPool(t)
	ctx := context.Background()
	for _, id := range []string{"s-a", "s-b"} {
		if err := p.Disable(ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if a := allocate(t, p, "carol"); a.Outcome != authpool.OutcomeFallback {
		t.Fatalf("Allocate(carol) = %+v, want the fallback", a)
	}
	spend(t, p, clk, "carol", 5)
	clk.Advance(30 * time.Minute) // 13:00: $5 an hour, $15 left
	fb := snapshot(t, p).Fallback
	want := &authpool.UsageWindow{Start: day(0, 0, 0), End: day(1, 0, 0), Active: true, CostUSD: 5, Requests: 1,
		BudgetUSD: 20, Percent: 25, ExhaustsAt: day(0, 16, 0)}
	if diff := cmp.Diff(want, fb.Day); diff != "" {
		t.Errorf("fallback's day (-want +got):\n%s", diff)
	}
	if fb.Clients != 1 || fb.ExhaustsAt != day(0, 16, 0) || fb.BurnRateUSDPerHour != 5 {
		t.Errorf("fallback = %+v, want 1 client, $5 an hour, exhausted at 16:00", fb)
	}
	clk.Set(day(1, 0, 0))
	if fb := snapshot(t, p).Fallback; fb.Day.CostUSD != 0 || fb.Day.Start != day(1, 0, 0) {
		t.Errorf("fallback's day at the next midnight = %+v, want a new, unused day", fb.Day)
	}
}

func TestSnapshotShowsALimitUntilItEnds(t *testing.T) {
	p, clk := snapshotPool(t)
	until := day(0, 14, 0)
	if err := p.MarkLimited(context.Background(), "s-b", until, "rate limited: 429"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now          time.Time
		wantStatus   authpool.Status
		wantEligible bool
		wantWhy      authpool.Reason
	}{
		{until.Add(-time.Nanosecond), authpool.Status{State: authpool.Limited, Until: until, Reason: "rate limited: 429"}, false, authpool.ReasonLimited},
		{until, authpool.Status{}, true, ""},
	}
	for _, tt := range tests {
		clk.Set(tt.now)
		st := status(t, snapshot(t, p), "s-b")
		got := []any{st.Status, st.Eligible, st.Ineligible}
		if diff := cmp.Diff([]any{tt.wantStatus, tt.wantEligible, tt.wantWhy}, got); diff != "" {
			t.Errorf("at %v (-want +got):\n%s", tt.now, diff)
		}
	}
}

func TestSnapshotShowsWhySubscriptionsTakeNoNewClient(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(
		sub("s-disabled"), sub("s-full", maxClients(1)), sub("s-block", budgets(0, 5)),
		sub("s-week", budgets(5, 0)), sub("s-over", budgets(100, 0)), sub("s-ok"),
	), clk)
	if err := p.Disable(ctx, "s-disabled", "test"); err != nil {
		t.Fatal(err)
	}
	pin(t, p, "s-full", "f")
	pin(t, p, "s-block", "b")
	spend(t, p, clk, "b", 5)
	pin(t, p, "s-week", "w")
	spend(t, p, clk, "w", 5)
	pin(t, p, "s-over", "o")
	spend(t, p, clk, "o", 90)
	got := map[string]authpool.Reason{}
	for _, st := range snapshot(t, p).Subscriptions {
		got[st.ID] = st.Ineligible
		if st.Eligible != (st.Ineligible == "") {
			t.Errorf("%s: Eligible %v but Ineligible %q", st.ID, st.Eligible, st.Ineligible)
		}
	}
	want := map[string]authpool.Reason{
		"s-disabled": authpool.ReasonDisabled, "s-full": authpool.ReasonFull, "s-block": authpool.ReasonBlockSpent,
		"s-week": authpool.ReasonWeekSpent, "s-over": authpool.ReasonWeeklyThreshold, "s-ok": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ineligible reasons (-want +got):\n%s", diff)
	}
}

func TestSnapshotOfAnAnchoredBlock(t *testing.T) {
	clk := newClock(day(0, 12, 40))
	p := newPool(t, subs(sub("s-a", budgets(0, 10))), clk)
	st := status(t, snapshot(t, p), "s-a")
	if diff := cmp.Diff(authpool.UsageWindow{BudgetUSD: 10}, st.Block); diff != "" {
		t.Errorf("block before any activity (-want +got):\n%s", diff)
	}
	allocate(t, p, "alice")
	spend(t, p, clk, "alice", 2)
	tests := []struct {
		now  time.Time
		want span
		cost float64
	}{
		{day(0, 12, 40), span{Start: day(0, 12, 0), End: day(0, 17, 0)}, 2},
		{day(0, 16, 59), span{Start: day(0, 12, 0), End: day(0, 17, 0)}, 2},
		{day(0, 17, 0), span{}, 0},
	}
	for _, tt := range tests {
		clk.Set(tt.now)
		st := status(t, snapshot(t, p), "s-a")
		if (span{st.Block.Start, st.Block.End}) != tt.want || st.Block.CostUSD != tt.cost || st.Block.Active != !tt.want.Start.IsZero() {
			t.Errorf("block at %v = %v ($%v, active %v), want %v ($%v)", tt.now, span{st.Block.Start, st.Block.End}, st.Block.CostUSD, st.Block.Active, tt.want, tt.cost)
		}
	}
	// Activity at the block's end starts the next block at that hour.
	spend(t, p, clk, "alice", 1)
	clk.Set(day(0, 18, 30))
	if st := status(t, snapshot(t, p), "s-a"); st.Block.Start != day(0, 17, 0) || st.Block.CostUSD != 1 {
		t.Errorf("block after activity at 17:00 = %+v, want the 17:00 block with $1", st.Block)
	}
}

// activity names a session's Idle and Stale as people say them.
func activity(s authpool.SessionStatus) string {
	switch {
	case s.Stale && s.Idle:
		return "stale"
	case s.Stale:
		return "stale but not idle"
	case s.Idle:
		return "idle"
	}
	return "active"
}

func TestSessionStates(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	tests := []struct {
		after time.Duration
		want  string
	}{
		{0, "active"},
		{5*time.Minute - time.Nanosecond, "active"},
		{5 * time.Minute, "idle"},
		{30*time.Minute - time.Nanosecond, "idle"},
		{30 * time.Minute, "stale"},
		{48 * time.Hour, "stale"},
	}
	for _, tt := range tests {
		clk.Set(t0.Add(tt.after))
		s, _ := session(snapshot(t, p), "alice")
		if got := activity(s); got != tt.want {
			t.Errorf("%v after its last activity the session is %s, want %s", tt.after, got, tt.want)
		}
	}
	// Activity makes it active again.
	allocate(t, p, "alice")
	if s, _ := session(snapshot(t, p), "alice"); activity(s) != "active" || !s.LastActive.Equal(clk.Now()) {
		t.Errorf("after Allocate the session is %s, last active %v; want active now", activity(s), s.LastActive)
	}
}

func TestSessionStatesFollowTheConfig(t *testing.T) {
	clk := newClock(t0)
	cfg := subs(sub("s-a"))
	cfg.Sessions = authpool.SessionPolicy{IdleAfter: authpool.Duration(time.Minute), StaleAfter: authpool.Duration(2 * time.Minute)}
	p := newPool(t, cfg, clk)
	allocate(t, p, "alice")
	for after, want := range map[time.Duration]string{
		59 * time.Second: "active", time.Minute: "idle", 2 * time.Minute: "stale",
	} {
		clk.Set(t0.Add(after))
		if s, _ := session(snapshot(t, p), "alice"); activity(s) != want {
			t.Errorf("%v after its last activity the session is %s, want %s", after, activity(s), want)
		}
	}
}

func TestSnapshotMarshalsToJSON(t *testing.T) {
	p, clk := snapshotPool(t)
	clk.Advance(15 * time.Minute)
	b, err := json.Marshal(snapshot(t, p))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"idle":true`, `"kind":"max20x"`, `"status":{"state":"active"}`, `"costUSD":40`,
		`"exhaustsAt":"2026-11-26T14:15:00Z"`, `"fallback":{"id":"fallback"`, `"sessions":[{"clientId":"alice"`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("Snapshot JSON lacks %s:\n%s", s, b)
		}
	}
}

// TestCredentialsNeverLeak looks for the credentials in everything the pool
// shows: JSON, fmt's verbs, slog, and errors.
func TestCredentialsNeverLeak(t *testing.T) {
	ctx := context.Background()
	p, clk := snapshotPool(t)
	a := allocate(t, p, "alice")
	if !strings.HasPrefix(a.Credential.Reveal(), secret) {
		t.Fatalf("Reveal() = %q, want the credential", a.Credential.Reveal())
	}
	list, err := p.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := authpool.Config{Subscriptions: list, Fallback: &authpool.Fallback{Credential: secret, DailyBudgetUSD: 1}}
	snap := snapshot(t, p)
	report := rebalance(t, p)

	var shown []string
	show := func(v any) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			shown = append(shown, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%T): %v", v, err)
		}
		shown = append(shown, string(b))
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		shown = append(shown, buf.String())
	}
	for _, v := range []any{a, &a, a.Credential, list, list[0], cfg, &cfg, snap, report} {
		show(v)
	}
	// Errors of every kind, made with the credential at hand.
	_, newErr := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{{ID: "bad id", Credential: secret}}})
	addErr := p.AddSubscription(ctx, authpool.Subscription{ID: "s-a", Kind: authpool.KindAPI, Credential: secret})
	badErr := p.AddSubscription(ctx, authpool.Subscription{ID: "x", Kind: "nope", Credential: secret, MaxClients: -1})
	updErr := p.UpdateSubscription(ctx, "s-zzz", authpool.SubscriptionUpdate{Credential: ptr(authpool.Credential(secret))})
	for _, id := range []string{"s-a", "s-b", authpool.FallbackID} {
		if err := p.Disable(ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
	}
	_, exhErr := p.Allocate(ctx, "carol")
	recErr := p.Record(ctx, "alice", authpool.Usage{Time: clk.Now(), CostUSD: -1})
	for _, err := range []error{newErr, addErr, badErr, updErr, exhErr, recErr} {
		if err == nil {
			t.Fatal("an error case succeeded")
		}
		shown = append(shown, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	if got := fmt.Sprint(cfg); !strings.Contains(got, "Credential:[REDACTED] DailyBudgetUSD:1") {
		t.Errorf("a Config prints as %s, want its fallback with the credential redacted", got)
	}
	for _, s := range shown {
		if strings.Contains(s, secret) || strings.Contains(s, "SECRET") {
			t.Errorf("the credential leaks in: %s", s)
		}
	}
	if !errors.Is(addErr, authpool.ErrExists) || !errors.Is(exhErr, authpool.ErrExhausted) {
		t.Errorf("unexpected errors: %v; %v", addErr, exhErr)
	}
}

// TestSnapshotBetweenAnchoredBlocks checks the block's forecast when no
// block is running: the next usage starts a block in this hour, so the
// budget runs out only if it does so before that block would end.
func TestSnapshotBetweenAnchoredBlocks(t *testing.T) {
	tests := []struct {
		name      string
		spent     float64 // at 15:50, in the block 11:00-16:00
		wantBlock authpool.UsageWindow
	}{
		{"slow spending: the next block would not run out",
			1, authpool.UsageWindow{BudgetUSD: 10}},
		{"fast spending: $3 in the last 60 minutes, the next block would run out 3h20m on, at 19:30",
			3, authpool.UsageWindow{BudgetUSD: 10, ExhaustsAt: day(0, 19, 30)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(day(0, 11, 10))
			p := newPool(t, subs(sub("s-a", budgets(0, 10))), clk)
			allocate(t, p, "alice")
			spend(t, p, clk, "alice", 0.01) // starts the block at 11:00
			clk.Set(day(0, 15, 50))
			spend(t, p, clk, "alice", tt.spent)
			clk.Set(day(0, 16, 10))
			st := status(t, snapshot(t, p), "s-a")
			if diff := cmp.Diff(tt.wantBlock, st.Block); diff != "" {
				t.Errorf("block between blocks (-want +got):\n%s", diff)
			}
			if !st.ExhaustsAt.Equal(tt.wantBlock.ExhaustsAt) {
				t.Errorf("ExhaustsAt = %v, want %v", st.ExhaustsAt, tt.wantBlock.ExhaustsAt)
			}
		})
	}
}

func TestSnapshotJSONReadsBack(t *testing.T) {
	p, clk := snapshotPool(t)
	clk.Advance(45 * time.Minute) // 13:15: alice and bob idle
	want := snapshot(t, p)
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got authpool.Snapshot
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal of a Snapshot's JSON: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snapshot after a JSON round trip (-want +got):\n%s", diff)
	}
	var a authpool.Allocation
	if err := json.Unmarshal([]byte(`{"outcome":"moved"}`), &a); err != nil || a.Outcome != authpool.OutcomeMoved {
		t.Errorf(`Unmarshal of {"outcome":"moved"} = %v, %v; want OutcomeMoved`, a.Outcome, err)
	}
	for _, bad := range []string{`{"outcome":"teleported"}`, `{"outcome":""}`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil || !strings.Contains(err.Error(), "sticky, new, moved, fallback") {
			t.Errorf("Unmarshal of %s = %v, want an error listing the outcomes", bad, err)
		}
	}
}

// TestSnapshotWeekForecast: a rolling week runs out only if the burn rate
// fills it before its older spending leaves; else it says "not at this
// rate" (an unbounded forecast said 58 days here).
func TestSnapshotWeekForecast(t *testing.T) {
	clk := newClock(day(-3, 12, 0))
	p := newPool(t, subs(sub("s-a", budgets(1000, 0))), clk)
	allocate(t, p, "alice")
	spend(t, p, clk, "alice", 300) // leaves the week in 4 days
	clk.Set(day(0, 12, 0))
	spend(t, p, clk, "alice", 0.5) // $0.50 an hour
	w := status(t, snapshot(t, p), "s-a").Week
	if !w.ExhaustsAt.IsZero() || w.CostUSD != 300.5 || w.Requests != 2 {
		t.Errorf("slow week = %+v, want $300.50 in 2 requests, not running out at this rate", w)
	}

	// $100 spent in the last hour: the $600 left takes 6 hours, long
	// before the $300 leaves.
	spend(t, p, clk, "alice", 99.5)
	w = status(t, snapshot(t, p), "s-a").Week
	if want := day(0, 18, 0); !w.ExhaustsAt.Equal(want) {
		t.Errorf("fast week runs out at %v, want %v", w.ExhaustsAt, want)
	}
}

// span is a window's bounds, as UsageWindow holds them.
type span struct{ Start, End time.Time }
