package authpool

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBlockSpentAfterAPickFoldedItsUsage: usage noted without the lock and
// folded in by a choice that went elsewhere still counts against the room
// left before the verdict changes, so the usage that spends the block takes
// the client off.
func TestBlockSpentAfterAPickFoldedItsUsage(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cfg := Config{MaxClients: 10, Subscriptions: []Subscription{
		{ID: "a", Kind: KindMax20x, Credential: "sk-a", BlockBudgetUSD: 10, WeeklyBudgetUSD: 1000},
		{ID: "b", Kind: KindMax20x, Credential: "sk-b", BlockBudgetUSD: 10, WeeklyBudgetUSD: 1000},
	}}
	p, err := New(ctx, cfg, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	allocate := func(client string) Allocation {
		t.Helper()
		a, err := p.Allocate(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	record := func(usd float64) {
		t.Helper()
		if err := p.Record(ctx, "c1", Usage{Time: now, CostUSD: usd, Model: "claude-sonnet-4-5"}); err != nil {
			t.Fatal(err)
		}
	}
	if a := allocate("c1"); a.SubscriptionID != "a" {
		t.Fatalf("c1 on %s, want a", a.SubscriptionID)
	}
	record(1) // starts a's block
	record(6) // noted without the lock
	if a := allocate("c2"); a.SubscriptionID != "b" {
		t.Fatalf("c2 on %s, want b", a.SubscriptionID) // the choice folded a's $6
	}
	record(6) // a's block at $13 of $10
	got := allocate("c1")
	want := Allocation{ClientID: "c1", SubscriptionID: "b", Kind: KindMax20x, Credential: got.Credential,
		Outcome: OutcomeMoved, From: "a", Reason: ReasonBlockSpent}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("c1 after a's block was spent (-want +got):\n%s", diff)
	}
}
