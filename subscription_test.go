package authpool_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
)

func TestAddSubscription(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", maxClients(1))), clk)
	allocate(t, p, "alice")
	if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) {
		t.Fatalf("Allocate on a full pool = %v, want ErrExhausted", err)
	}
	if err := p.AddSubscription(ctx, sub("s-b", budgets(100, 20))); err != nil {
		t.Fatalf("AddSubscription: %v", err)
	}
	if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
		t.Errorf("Allocate after AddSubscription = %+v, want s-b", a)
	}
	st := status(t, snapshot(t, p), "s-b")
	if st.MaxClients != defaultMaxClients || st.Week.BudgetUSD != 100 || st.Block.BudgetUSD != 20 {
		t.Errorf("added subscription = %+v, want the default maximum and its budgets", st)
	}
	err := p.AddSubscription(ctx, sub("s-b"))
	if !errors.Is(err, authpool.ErrExists) {
		t.Errorf("AddSubscription of a taken ID = %v, want ErrExists", err)
	}
}

func TestAddSubscriptionListsEveryProblem(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	before := snapshot(t, p)
	bad := authpool.Subscription{ID: "bad id!", Name: "x\x00", Kind: "ultra", Credential: secret, MaxClients: -1,
		WeeklyBudgetUSD: -5, BlockBudgetUSD: 2e6, Status: authpool.Status{State: authpool.Limited}}
	err := p.AddSubscription(ctx, bad)
	if !errors.Is(err, authpool.ErrInvalidConfig) {
		t.Fatalf("AddSubscription = %v, want ErrInvalidConfig", err)
	}
	var ce *authpool.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("AddSubscription = %v, want a *ConfigError", err)
	}
	var fields []string
	for _, p := range ce.Problems {
		f, _, _ := strings.Cut(p.Error(), ":")
		fields = append(fields, f)
	}
	want := []string{"/id", "/name", "/kind", "/maxClients", "/weeklyBudgetUSD", "/blockBudgetUSD", "/status/until"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("problems of %v (-want +got):\n%s", err, diff)
	}
	for _, s := range []string{`"bad id!"`, `"ultra"`, "-1", "-5", "2e+06"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name the value %s", err, s)
		}
	}
	if err := p.AddSubscription(ctx, authpool.Subscription{ID: authpool.FallbackID, Kind: authpool.KindAPI, Credential: "sk"}); !errors.Is(err, authpool.ErrInvalidConfig) {
		t.Errorf("AddSubscription(%q) = %v, want ErrInvalidConfig", authpool.FallbackID, err)
	}
	if diff := cmp.Diff(before, snapshot(t, p)); diff != "" {
		t.Errorf("refused AddSubscription changed the pool (-before +after):\n%s", diff)
	}
}

func TestRemoveSubscriptionRefusesTheFallback(t *testing.T) {
	cfg := subs(sub("s-a"))
	cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 5}
	p := newPool(t, cfg, newClock(t0))
	before := snapshot(t, p)
	if _, err := p.RemoveSubscription(context.Background(), authpool.FallbackID); !errors.Is(err, authpool.ErrInvalidArgument) {
		t.Errorf("RemoveSubscription(%q) = %v, want ErrInvalidArgument", authpool.FallbackID, err)
	}
	if diff := cmp.Diff(before, snapshot(t, p)); diff != "" {
		t.Errorf("a refused RemoveSubscription changed the pool (-before +after):\n%s", diff)
	}
}

func TestRemoveSubscriptionReleasesItsClients(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	pin(t, p, "s-a", "bob", "alice")
	pin(t, p, "s-b", "carol")
	spend(t, p, clk, "alice", 3)
	clk.Advance(time.Minute)
	released, err := p.RemoveSubscription(ctx, "s-a")
	if err != nil {
		t.Fatalf("RemoveSubscription: %v", err)
	}
	want := []authpool.SessionStatus{
		{ClientID: "alice", SubscriptionID: "s-a", Created: t0, Assigned: t0, LastActive: t0, Requests: 1, CostUSD: 3,
			HoldUntil: t0.Add(defaultIdleAfter)},
		{ClientID: "bob", SubscriptionID: "s-a", Created: t0, Assigned: t0, LastActive: t0,
			HoldUntil: t0.Add(defaultIdleAfter)},
	}
	if diff := cmp.Diff(want, released); diff != "" {
		t.Errorf("released sessions (-want +got):\n%s", diff)
	}
	s := snapshot(t, p)
	if len(s.Subscriptions) != 1 || s.Subscriptions[0].ID != "s-b" {
		t.Errorf("subscriptions after removal = %+v, want only s-b", s.Subscriptions)
	}
	for _, c := range []string{"alice", "bob"} {
		if err := p.Record(ctx, c, authpool.Usage{Time: clk.Now(), CostUSD: 1}); !errors.Is(err, authpool.ErrUnknownClient) {
			t.Errorf("Record(%s) after removal = %v, want ErrUnknownClient", c, err)
		}
		if a := allocate(t, p, c); a.Outcome != authpool.OutcomeNew || a.SubscriptionID != "s-b" || a.From != "" {
			t.Errorf("Allocate(%s) after removal = %+v, want new on s-b", c, a)
		}
	}
	if a := allocate(t, p, "carol"); a.Outcome != authpool.OutcomeSticky {
		t.Errorf("Allocate(carol) = %+v, want sticky: her subscription stays", a)
	}
	if _, err := p.RemoveSubscription(ctx, "s-a"); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("RemoveSubscription twice = %v, want ErrNotFound", err)
	}
	// A usage billed to the removed subscription is refused.
	if err := p.Record(ctx, "carol", authpool.Usage{SubscriptionID: "s-a", Time: clk.Now(), CostUSD: 1}); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("Record for the removed subscription = %v, want ErrNotFound", err)
	}
}

func TestSubscriptionsListsThemByIDWithoutTheFallback(t *testing.T) {
	ctx := context.Background()
	cfg := subs(sub("s-c", budgets(10, 2)), sub("s-a"), sub("s-b", maxClients(3)))
	cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 5}
	p := newPool(t, cfg, newClock(t0))
	if err := p.Disable(ctx, "s-b", "broken"); err != nil {
		t.Fatal(err)
	}
	got, err := p.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []authpool.Subscription{
		sub("s-a", maxClients(defaultMaxClients)),
		sub("s-b", maxClients(3), func(s *authpool.Subscription) { s.Status = authpool.Status{State: authpool.Disabled, Reason: "broken"} }),
		sub("s-c", budgets(10, 2), maxClients(defaultMaxClients)),
	}
	reveal := cmp.Transformer("reveal", func(c authpool.Credential) string { return c.Reveal() })
	if diff := cmp.Diff(want, got, reveal); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}
}

func TestMarkLimited(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	for _, until := range []time.Time{t0, t0.Add(-time.Second), {}} {
		err := p.MarkLimited(ctx, "s-a", until, "429")
		if !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Errorf("MarkLimited until %v = %v, want ErrInvalidArgument", until, err)
		}
	}
	if st := status(t, snapshot(t, p), "s-a"); !st.Eligible {
		t.Errorf("refused MarkLimited changed the status: %+v", st.Status)
	}
	if err := p.MarkLimited(ctx, "s-zzz", t0.Add(time.Hour), "429"); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("MarkLimited of an unknown ID = %v, want ErrNotFound", err)
	}
	if err := p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), strings.Repeat("r", bounds.MaxReasonLength+1)); err != nil {
		t.Errorf("MarkLimited with a long reason = %v, want it taken, the reason cut", err)
	}
	if r := status(t, snapshot(t, p), "s-a").Status.Reason; len(r) != bounds.MaxReasonLength || !strings.HasSuffix(r, "…") {
		t.Errorf("a long reason is kept as %d bytes ending %q, want %d ending in an ellipsis", len(r), r[max(0, len(r)-5):], bounds.MaxReasonLength)
	}
	if err := p.Enable(ctx, "s-a"); err != nil {
		t.Fatal(err)
	}
	if err := p.Disable(ctx, "s-zzz", ""); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("Disable of an unknown ID = %v, want ErrNotFound", err)
	}
	if err := p.Enable(ctx, "s-zzz"); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("Enable of an unknown ID = %v, want ErrNotFound", err)
	}
	// A limit set in another zone is kept in UTC.
	until := time.Date(2026, 11, 26, 23, 0, 0, 0, time.FixedZone("JST", 9*3600))
	if err := p.MarkLimited(ctx, "s-a", until, "429"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, snapshot(t, p), "s-a").Status; st.Until.Location() != time.UTC || !st.Until.Equal(until) {
		t.Errorf("status until = %v, want %v in UTC", st.Until, until.UTC())
	}
}

func TestNewOnAStoreThatHasThePoolKeepsItsState(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	st := authpool.NewTestStore(t)
	p1 := newPool(t, subs(sub("s-a", budgets(100, 20))), clk, authpool.WithStore(st))
	allocate(t, p1, "alice")
	spend(t, p1, clk, "alice", 7)
	if err := p1.Disable(ctx, "s-a", "maintenance"); err != nil {
		t.Fatal(err)
	}
	if err := p1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A restart with a new budget.
	p2 := newPool(t, subs(sub("s-a", budgets(300, 20)), sub("s-b")), clk, authpool.WithStore(st))
	s := snapshot(t, p2)
	a := status(t, s, "s-a")
	got := []any{a.Status.State, a.Clients, a.Week.CostUSD, a.Week.BudgetUSD, len(s.Subscriptions)}
	if diff := cmp.Diff([]any{authpool.Disabled, 1, 7.0, 300.0, 2}, got); diff != "" {
		t.Errorf("after the restart (-want +got):\n%s", diff)
	}
	if got := allocate(t, p2, "alice"); got.Outcome != authpool.OutcomeMoved || got.From != "s-a" {
		t.Errorf("Allocate(alice) after the restart = %+v, want moved off the disabled s-a", got)
	}
}
