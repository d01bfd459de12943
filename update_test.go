package authpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/seal"
)

// ptr returns a pointer to v: a field of a SubscriptionUpdate.
func ptr[T any](v T) *T { return &v }

// full is a subscription with every field UpdateSubscription may change
// set to something other than its default.
func full() authpool.Subscription {
	return authpool.Subscription{ID: "s-a", Name: "Max A", Kind: authpool.KindMax20x, Credential: secret + "-s-a",
		CredentialExpiresAt: t0.Add(8 * time.Hour), MaxClients: 4, WeeklyBudgetUSD: 900, BlockBudgetUSD: 140}
}

// TestUpdateSubscriptionChangesOnlyWhatItSets updates one field at a time:
// the field changes and every other keeps its value (an update that took a
// whole Subscription blanked the name, budgets and expiry a caller left
// out).
func TestUpdateSubscriptionChangesOnlyWhatItSets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		update authpool.SubscriptionUpdate
		want   func(*authpool.Subscription)
	}{
		{"name", authpool.SubscriptionUpdate{Name: ptr("Renamed")}, func(s *authpool.Subscription) { s.Name = "Renamed" }},
		{"name cleared", authpool.SubscriptionUpdate{Name: ptr("")}, func(s *authpool.Subscription) { s.Name = "" }},
		{"kind", authpool.SubscriptionUpdate{Kind: ptr(authpool.KindPro)}, func(s *authpool.Subscription) { s.Kind = authpool.KindPro }},
		{"credential: its expiry goes with it",
			authpool.SubscriptionUpdate{Credential: ptr(authpool.Credential("sk-rotated"))},
			func(s *authpool.Subscription) { s.Credential, s.CredentialExpiresAt = "sk-rotated", time.Time{} }},
		{"credential with its expiry",
			authpool.SubscriptionUpdate{Credential: ptr(authpool.Credential("sk-rotated")), CredentialExpiresAt: ptr(t0.Add(time.Hour))},
			func(s *authpool.Subscription) { s.Credential, s.CredentialExpiresAt = "sk-rotated", t0.Add(time.Hour) }},
		{"expiry of the current credential", authpool.SubscriptionUpdate{CredentialExpiresAt: ptr(t0.Add(24 * time.Hour))},
			func(s *authpool.Subscription) { s.CredentialExpiresAt = t0.Add(24 * time.Hour) }},
		{"expiry cleared", authpool.SubscriptionUpdate{CredentialExpiresAt: ptr(time.Time{})},
			func(s *authpool.Subscription) { s.CredentialExpiresAt = time.Time{} }},
		{"max clients", authpool.SubscriptionUpdate{MaxClients: ptr(9)}, func(s *authpool.Subscription) { s.MaxClients = 9 }},
		{"max clients back to the pool's default", authpool.SubscriptionUpdate{MaxClients: ptr(0)},
			func(s *authpool.Subscription) { s.MaxClients = defaultMaxClients }},
		{"weekly budget", authpool.SubscriptionUpdate{WeeklyBudgetUSD: ptr(1200.5)}, func(s *authpool.Subscription) { s.WeeklyBudgetUSD = 1200.5 }},
		{"weekly budget removed", authpool.SubscriptionUpdate{WeeklyBudgetUSD: ptr(0.0)}, func(s *authpool.Subscription) { s.WeeklyBudgetUSD = 0 }},
		{"block budget", authpool.SubscriptionUpdate{BlockBudgetUSD: ptr(60.0)}, func(s *authpool.Subscription) { s.BlockBudgetUSD = 60 }},
		{"every field",
			authpool.SubscriptionUpdate{Name: ptr("B"), Kind: ptr(authpool.KindAPI), Credential: ptr(authpool.Credential("sk-b")),
				CredentialExpiresAt: ptr(t0.Add(time.Minute)), MaxClients: ptr(1), WeeklyBudgetUSD: ptr(1.0), BlockBudgetUSD: ptr(2.0)},
			func(s *authpool.Subscription) {
				*s = authpool.Subscription{ID: "s-a", Name: "B", Kind: authpool.KindAPI, Credential: "sk-b",
					CredentialExpiresAt: t0.Add(time.Minute), MaxClients: 1, WeeklyBudgetUSD: 1, BlockBudgetUSD: 2}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := newPool(t, subs(full()), newClock(t0))
			if err := p.UpdateSubscription(ctx, "s-a", tt.update); err != nil {
				t.Fatalf("UpdateSubscription: %v", err)
			}
			want := full()
			tt.want(&want)
			list, err := p.Subscriptions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Fatalf("Subscriptions = %v, want s-a alone", list)
			}
			reveal := cmp.Transformer("reveal", authpool.Credential.Reveal)
			if diff := cmp.Diff(want, list[0], reveal); diff != "" {
				t.Errorf("after UpdateSubscription (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateSubscriptionKeepsStatusClientsAndUsage(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(100, 50), maxClients(4))), clk)
	allocate(t, p, "alice")
	allocate(t, p, "bob")
	spend(t, p, clk, "alice", 12)
	until := t0.Add(2 * time.Hour)
	if err := p.MarkLimited(ctx, "s-a", until, "429"); err != nil {
		t.Fatal(err)
	}
	err := p.UpdateSubscription(ctx, "s-a", authpool.SubscriptionUpdate{Name: ptr("Renamed"), Kind: ptr(authpool.KindMax20x),
		Credential: ptr(authpool.Credential("sk-rotated")), MaxClients: ptr(1), WeeklyBudgetUSD: ptr(200.0), BlockBudgetUSD: ptr(60.0)})
	if err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	st := status(t, snapshot(t, p), "s-a")
	got := []any{st.Name, st.Kind, st.Status, st.Clients, st.ActiveClients, st.MaxClients, st.Week.CostUSD, st.Week.BudgetUSD, st.Block.BudgetUSD}
	want := []any{"Renamed", authpool.KindMax20x, authpool.Status{State: authpool.Limited, Until: until, Reason: "429"}, 2, 2, 1, 12.0, 200.0, 60.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after UpdateSubscription (-want +got):\n%s", diff)
	}
	// Over its new maximum, it kept both clients holding a slot (above). Once
	// the limit is over both are idle: the first back takes the one slot the
	// new maximum leaves; nobody else gets in while it works.
	clk.Set(until)
	if a := allocate(t, p, "bob"); a.Outcome != authpool.OutcomeSticky || a.Credential.Reveal() != "sk-rotated" {
		t.Errorf("Allocate(bob) = %+v (credential %q), want sticky with the rotated credential", a, a.Credential.Reveal())
	}
	if a, err := p.Allocate(ctx, "carol"); !errors.Is(err, authpool.ErrExhausted) {
		t.Errorf("Allocate(carol) = %+v, %v; want ErrExhausted: s-a's one slot is held", a, err)
	}
	if a, err := p.Allocate(ctx, "alice"); !errors.Is(err, authpool.ErrExhausted) {
		t.Errorf("Allocate(alice) = %+v, %v; want ErrExhausted: its place was taken while it was idle", a, err)
	}
}

// TestUpdateSubscriptionKeepsASealedCredential: an update that leaves the
// credential alone writes it back sealed, as it was; one that replaces it
// seals the new one.
func TestUpdateSubscriptionKeepsASealedCredential(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	inner := authpool.NewTestStore(t)
	p := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(sealKeyring(t, "k1")))
	sealed := func() string {
		t.Helper()
		rec, err := inner.Subscription(ctx, "max-a")
		if err != nil {
			t.Fatal(err)
		}
		if kid, err := seal.KeyID(rec.Credential.Reveal()); err != nil || kid != "k1" {
			t.Fatalf("the store holds the credential as %q (%v), want it sealed with k1", rec.Credential.Reveal(), err)
		}
		return rec.Credential.Reveal()
	}
	before := sealed()
	if err := p.UpdateSubscription(ctx, "max-a", authpool.SubscriptionUpdate{MaxClients: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	if after := sealed(); after != before {
		t.Errorf("the sealed credential changed: %q, want %q as it was", after, before)
	}
	if a := allocate(t, p, "alice"); a.Credential.Reveal() != secret+"-max-a" {
		t.Errorf("Allocate gave credential %q, want the plain one", a.Credential.Reveal())
	}
	if err := p.UpdateSubscription(ctx, "max-a", authpool.SubscriptionUpdate{Credential: ptr(authpool.Credential("sk-new"))}); err != nil {
		t.Fatal(err)
	}
	sealed()
	list, err := p.Subscriptions(ctx)
	if err != nil || list[0].Credential.Reveal() != "sk-new" || list[0].MaxClients != 3 {
		t.Errorf("Subscriptions = %+v, %v; want the new credential, and MaxClients 3", list, err)
	}
}
