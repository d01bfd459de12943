package authpool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
			clk.Advance(defaultRefreshInterval)

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

// TestNoFalseExhaustionWhenTheStoreEmpties empties the store under a
// running pool whose view is fresh (its clock does not move, so no
// periodic refresh comes to the rescue) and allocates from many goroutines
// at once, old clients and new: every call is placed, none is refused as
// exhausted (which says "none is expected back by itself", and a 429 that
// tells Claude Code not to retry behind the proxy), and no exhausted event
// fires. The pool restores the store once.
func TestNoFalseExhaustionWhenTheStoreEmpties(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	st, flush := authpool.NewFlushableTestStore(t)
	var mu sync.Mutex
	var events []authpool.Event
	notifier := authpool.NotifierFunc(func(_ context.Context, e authpool.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		return nil
	})
	p := newPool(t, subs(sub("s-a", budgets(100, 20), maxClients(40)), sub("s-b", budgets(100, 20), maxClients(40)),
		sub("s-c", budgets(100, 20), maxClients(40))), clk, authpool.WithStore(st), authpool.WithNotifier(notifier))
	for i := range 6 {
		allocate(t, p, fmt.Sprintf("old-%d", i))
	}
	flush()

	const goroutines, calls = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls)
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				client := fmt.Sprintf("new-%d-%d", g, i)
				if i%2 == 0 {
					client = fmt.Sprintf("old-%d", (g+i)%6)
				}
				if _, err := p.Allocate(ctx, client); err != nil {
					errs <- fmt.Errorf("Allocate(%s): %w", client, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := p.Stats().StoreRestores; got != 1 {
		t.Errorf("Stats().StoreRestores = %d after the store emptied once, want 1", got)
	}
	if diff := cmp.Diff([]string{"s-a", "s-b", "s-c"}, storedIDs(t, st)); diff != "" {
		t.Errorf("the store after the restore (-want +got):\n%s", diff)
	}

	// What the upstream says of a subscription lands, though the store lost
	// it meanwhile.
	flush()
	if err := p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), "429"); err != nil {
		t.Errorf("MarkLimited after the store emptied: %v", err)
	}
	if st := status(t, snapshot(t, p), "s-a"); st.Status.State != authpool.Limited {
		t.Errorf("s-a after MarkLimited = %+v, want limited", st.Status)
	}
	flush()
	if err := p.MarkModelLimited(ctx, "s-b", "opus", t0.Add(time.Hour), "7d_opus"); err != nil {
		t.Errorf("MarkModelLimited after the store emptied: %v", err)
	}
	for i := range 3 {
		if a, err := p.Allocate(ctx, fmt.Sprintf("opus-%d", i), authpool.ForModel("claude-opus-4-5")); err != nil || a.SubscriptionID == "s-b" {
			t.Errorf("Allocate for opus = %+v, %v; want a subscription other than s-b", a, err)
		}
	}
	flush()
	if err := p.Observe(ctx, "s-c", authpool.Observation{Time: t0, Week: &authpool.WindowObservation{Share: 0.5, Reset: t0.Add(48 * time.Hour)}}); err != nil {
		t.Errorf("Observe after the store emptied: %v", err)
	}
	if st := status(t, snapshot(t, p), "s-c"); st.Week.ReportedPercent != 50 {
		t.Errorf("s-c's week after Observe = %+v, want 50 %% reported", st.Week)
	}
	// A subscription removed for good is not restored.
	if _, err := p.RemoveSubscription(ctx, "s-c"); err != nil {
		t.Fatal(err)
	}
	if err := p.Disable(ctx, "s-c", "gone"); !errors.Is(err, authpool.ErrNotFound) {
		t.Errorf("Disable of a removed subscription = %v, want ErrNotFound", err)
	}

	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		if e.Type == authpool.EventExhausted {
			t.Errorf("a false exhausted event: %+v", e.Exhausted)
		}
	}
}
