package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// failingStore is a store that fails every call with store.ErrUnavailable
// while failing is set.
type failingStore struct {
	store.Store
	failing atomic.Bool
}

func (s *failingStore) fail() error {
	if s.failing.Load() {
		return fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return nil
}

func (s *failingStore) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	if err := s.fail(); err != nil {
		return store.Touched{}, err
	}
	return s.Store.Touch(ctx, clientID, now, holdUntil)
}

func (s *failingStore) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	if err := s.fail(); err != nil {
		return store.Added{}, err
	}
	return s.Store.AddUsage(ctx, clientID, u)
}

func (s *failingStore) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Subscriptions(ctx)
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	two := subs(sub("s-a", budgets(1000, 100)), sub("s-b", budgets(1000, 100)))
	tests := []struct {
		name string
		cfg  authpool.Config
		// run drives the pool through its public API.
		run  func(t *testing.T, p *authpool.Pool, clk *clock, st *failingStore)
		want authpool.Stats
	}{
		{
			name: "a new client, then sticky twice",
			cfg:  two,
			run: func(t *testing.T, p *authpool.Pool, _ *clock, _ *failingStore) {
				for range 3 {
					allocate(t, p, "alice")
				}
			},
			want: authpool.Stats{Allocations: allocs(2, 1, 0, 0)},
		},
		{
			name: "moved off a limited subscription",
			cfg:  two,
			run: func(t *testing.T, p *authpool.Pool, clk *clock, _ *failingStore) {
				a := allocate(t, p, "alice")
				if err := p.MarkLimited(ctx, a.SubscriptionID, clk.Now().Add(time.Hour), "test"); err != nil {
					t.Fatal(err)
				}
				if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeMoved {
					t.Fatalf("outcome %v, want moved", a.Outcome)
				}
			},
			want: authpool.Stats{Allocations: allocs(0, 1, 1, 0)},
		},
		{
			name: "the fallback, then exhausted",
			cfg: authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", maxClients(1))},
				Fallback: &authpool.Fallback{Credential: secret, DailyBudgetUSD: 1}},
			run: func(t *testing.T, p *authpool.Pool, clk *clock, _ *failingStore) {
				allocate(t, p, "alice")
				if a := allocate(t, p, "bob"); a.Outcome != authpool.OutcomeFallback {
					t.Fatalf("bob's outcome %v, want fallback", a.Outcome)
				}
				spend(t, p, clk, "bob", 2) // the fallback's day is spent
				_, err := p.Allocate(ctx, "carol")
				exhausted(t, err)
			},
			want: authpool.Stats{Allocations: allocs(0, 1, 0, 1), Exhausted: 1, Records: 1},
		},
		{
			name: "records, charges and duplicates",
			cfg:  two,
			run: func(t *testing.T, p *authpool.Pool, clk *clock, _ *failingStore) {
				a := allocate(t, p, "alice")
				u := authpool.Usage{ID: "msg_1", Time: clk.Now(), CostUSD: 1}
				for range 3 {
					if err := p.Record(ctx, "alice", u); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.Charge(ctx, a.SubscriptionID, authpool.Usage{ID: "msg_2", Time: clk.Now(), CostUSD: 1}); err != nil {
					t.Fatal(err)
				}
				if err := p.Charge(ctx, a.SubscriptionID, u); err != nil { // msg_1 again
					t.Fatal(err)
				}
				spend(t, p, clk, "alice", 1) // no ID: never a duplicate
				if err := p.Record(ctx, "nobody", u); !errors.Is(err, authpool.ErrUnknownClient) {
					t.Fatalf("Record for an unknown client: %v", err)
				}
			},
			want: authpool.Stats{Allocations: allocs(0, 1, 0, 0), Records: 3, DuplicateRecords: 3},
		},
		{
			name: "rebalance: moves, then stale releases",
			cfg:  authpool.Config{Subscriptions: two.Subscriptions, Block: authpool.BlockPolicy{Fixed: true}},
			run: func(t *testing.T, p *authpool.Pool, clk *clock, _ *failingStore) {
				pin(t, p, "s-a", "alice", "bob")
				spend(t, p, clk, "alice", 40)
				clk.Advance(10 * time.Minute) // idle, not stale
				r, err := p.Rebalance(ctx)
				if err != nil || len(r.Moves) != 2 || len(r.Released) != 0 {
					t.Fatalf("first Rebalance: %d moves, %d released, %v; want 2, 0", len(r.Moves), len(r.Released), err)
				}
				clk.Advance(time.Hour) // stale
				r, err = p.Rebalance(ctx)
				if err != nil || len(r.Moves) != 0 || len(r.Released) != 2 {
					t.Fatalf("second Rebalance: %d moves, %d released, %v; want 0, 2", len(r.Moves), len(r.Released), err)
				}
			},
			want: authpool.Stats{Allocations: allocs(0, 2, 0, 0), Records: 1, RebalanceMoves: 2, StaleReleases: 2},
		},
		{
			name: "store errors count, the store's answers and a cancelled context do not",
			cfg:  two,
			run: func(t *testing.T, p *authpool.Pool, clk *clock, st *failingStore) {
				allocate(t, p, "alice")
				st.failing.Store(true)
				if _, err := p.Allocate(ctx, "alice"); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Allocate on a failing store: %v", err)
				}
				if err := p.Record(ctx, "alice", authpool.Usage{Time: clk.Now(), CostUSD: 1}); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Record on a failing store: %v", err)
				}
				if _, err := p.Snapshot(ctx); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Snapshot on a failing store: %v", err)
				}
				st.failing.Store(false)
				if err := p.Release(ctx, "nobody"); err != nil { // store.ErrNotFound: an answer
					t.Fatal(err)
				}
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := p.Allocate(cancelled, "alice"); !errors.Is(err, context.Canceled) {
					t.Fatalf("Allocate with a cancelled context: %v", err)
				}
			},
			want: authpool.Stats{Allocations: allocs(0, 1, 0, 0), StoreErrors: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			st := &failingStore{Store: authpool.NewTestStore(t)}
			p := newPool(t, tt.cfg, clk, authpool.WithStore(st))
			tt.run(t, p, clk, st)
			if diff := cmp.Diff(tt.want, p.Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatsCountNotifications shows the notifications' counts in Stats, as
// in Snapshot.
func TestStatsCountNotifications(t *testing.T) {
	bubble(t, func(t *testing.T) {
		clk := newClock(t0)
		var got atomic.Int64
		n := authpool.NotifierFunc(func(context.Context, authpool.Event) error { got.Add(1); return nil })
		cfg := authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", maxClients(1))},
			Fallback: &authpool.Fallback{Credential: secret, DailyBudgetUSD: 10}}
		p := newPool(t, cfg, clk, authpool.WithNotifier(n))
		allocate(t, p, "alice")
		allocate(t, p, "bob") // onto the fallback: a failover event
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := authpool.NotificationStats{Emitted: 1, Delivered: 1}
		if diff := cmp.Diff(want, p.Stats().Notifications); diff != "" || got.Load() != 1 {
			t.Errorf("Stats().Notifications (-want +got):\n%s; the notifier got %d events, want 1", diff, got.Load())
		}
	})
}

// allocs is Stats.Allocations with sticky, new, moved and fallback placements.
func allocs(sticky, fresh, moved, fallback int64) map[authpool.Outcome]int64 {
	return map[authpool.Outcome]int64{authpool.OutcomeSticky: sticky, authpool.OutcomeNew: fresh,
		authpool.OutcomeMoved: moved, authpool.OutcomeFallback: fallback}
}
