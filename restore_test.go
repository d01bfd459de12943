package authpool_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// storedIDs returns the IDs of the subscriptions st holds, sorted.
func storedIDs(t *testing.T, st store.Store) []string {
	t.Helper()
	recs, err := st.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestPoolRestoresAnEmptiedStore empties the store under a running pool, as
// a Redis without persistence does when it restarts: at its next read of
// the store the pool writes its Config's subscriptions again, says so in
// its log and Stats, and serves clients; what the store lost (sessions,
// usage) starts anew.
func TestPoolRestoresAnEmptiedStore(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		fallback bool
	}{
		{"with a fallback", true},
		{"without a fallback", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			clk := newClock(t0)
			st := authpool.NewTestStore(t)
			cfg := subs(sub("s-a", budgets(100, 20)), sub("s-b", budgets(100, 20)))
			want := []string{"s-a", "s-b"}
			if tt.fallback {
				cfg.Fallback = &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 10}
				want = append([]string{authpool.FallbackID}, want...)
			}
			p := newPool(t, cfg, clk, authpool.WithStore(st),
				authpool.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			a := allocate(t, p, "alice")
			spend(t, p, clk, "alice", 3)

			for _, id := range storedIDs(t, st) { // the store comes back empty
				if _, err := st.DeleteSubscription(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(authpool.DefaultRefreshInterval)

			b, err := p.Allocate(ctx, "bob")
			if err != nil {
				t.Fatalf("Allocate after the store was emptied: %v", err)
			}
			if b.Outcome != authpool.OutcomeNew || !slices.Contains(want, b.SubscriptionID) {
				t.Errorf("Allocate after the store was emptied = %+v, want a new placement on one of %v", b, want)
			}
			if diff := cmp.Diff(want, storedIDs(t, st)); diff != "" {
				t.Errorf("the store after the restore (-want +got):\n%s", diff)
			}
			if got := p.Stats().StoreRestores; got != 1 {
				t.Errorf("Stats().StoreRestores = %d, want 1", got)
			}
			if !strings.Contains(logs.String(), "the store holds no subscription") {
				t.Errorf("no warning of the restore in the log:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log shows a credential:\n%s", logs.String())
			}
			snap, err := p.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range snap.Subscriptions {
				if s.Week.CostUSD != 0 {
					t.Errorf("%s: week cost $%v after the restore, want 0 (the store lost it)", s.ID, s.Week.CostUSD)
				}
			}
			// alice's session was lost with the store: she is placed anew.
			if again := allocate(t, p, "alice"); again.Outcome != authpool.OutcomeNew {
				t.Errorf("alice after the restore = %+v (before: %s), want a new placement", again, a.SubscriptionID)
			}
		})
	}
}

// TestPoolDoesNotRestoreARemovedSubscription removes one subscription at run
// time: the store still holds others, so the pool leaves it removed.
func TestPoolDoesNotRestoreARemovedSubscription(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	st := authpool.NewTestStore(t)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk, authpool.WithStore(st))
	if _, err := p.RemoveSubscription(ctx, "s-b"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.Advance(time.Minute)
		if _, err := p.Rebalance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"s-a"}, storedIDs(t, st)); diff != "" {
		t.Errorf("the store (-want +got):\n%s", diff)
	}
	if got := p.Stats().StoreRestores; got != 0 {
		t.Errorf("Stats().StoreRestores = %d, want 0", got)
	}
}
