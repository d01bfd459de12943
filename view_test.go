package authpool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestViewAgreesWithTheStore is a property test: after any sequence of
// allocations, usages and releases on one pool, the pool's picture of each
// subscription (kept current by its own changes, partly without the lock)
// equals the picture read afresh from the store.
func TestViewAgreesWithTheStore(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		t.Run(fmt.Sprintf("fixed=%v", fixed), func(t *testing.T) {
			ctx := context.Background()
			seed := uint64(0)
			if fixed {
				seed = 1
			}
			rng := rand.New(rand.NewPCG(7, seed))
			now := at(0, 9, 0, 0)
			cfg := Config{
				Subscriptions: []Subscription{
					{ID: "s-a", Kind: KindMax5x, Credential: "sk-a", WeeklyBudgetUSD: 300, BlockBudgetUSD: 60, MaxClients: 3},
					{ID: "s-b", Kind: KindMax5x, Credential: "sk-b", WeeklyBudgetUSD: 200, BlockBudgetUSD: 40, MaxClients: 3},
					{ID: "s-c", Kind: KindPro, Credential: "sk-c", WeeklyBudgetUSD: 100},
				},
				Fallback:        &Fallback{Credential: "sk-fb", DailyBudgetUSD: 30},
				Block:           BlockPolicy{Fixed: fixed},
				RefreshInterval: Duration(10000 * time.Hour), // never read the store again by itself
			}
			p, err := New(ctx, cfg, WithStore(NewTestStore(t)), WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			clients := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"}
			for step := range 1500 {
				c := clients[rng.IntN(len(clients))]
				switch r := rng.IntN(20); {
				case r == 0:
					now = now.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
				case r < 4:
					now = now.Add(time.Duration(rng.Int64N(int64(10 * time.Minute))))
				case r < 6:
					if err := p.Release(ctx, c); err != nil {
						t.Fatal(err)
					}
				case r < 10:
					if _, err := p.Allocate(ctx, c); err != nil && !errors.Is(err, ErrExhausted) {
						t.Fatal(err)
					}
				default:
					u := Usage{Time: now.Add(-time.Duration(rng.Int64N(int64(2 * time.Hour)))), CostUSD: float64(rng.IntN(400)) / 100}
					if rng.IntN(4) == 0 {
						u.CacheTTL = time.Hour // the client holds its slot for the hour
					}
					if err := p.Record(ctx, c, u); err != nil && !errors.Is(err, ErrUnknownClient) {
						t.Fatal(err)
					}
				}
				if step%10 == 0 {
					compareViewWithStore(t, p, now, fmt.Sprintf("step %d at %v", step, now))
				}
			}
		})
	}
}

func compareViewWithStore(t *testing.T, p *Pool, now time.Time, where string) {
	t.Helper()
	type picture struct {
		M       metrics
		Health  float64
		Hard    Reason
		Soft    bool
		Full    bool
		Clients int
		Holds   []int64 // those after now
		Burn    float64
	}
	after := func(holds []int64) []int64 {
		var out []int64
		for _, h := range holds {
			if h > now.UnixNano() {
				out = append(out, h)
			}
		}
		return out
	}
	recs, err := p.store.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rec := range recs {
		sv := p.current().byID[rec.ID]
		p.judge(sv, now)
		fresh := p.newSubView(rec, now, new(hourly), new(minutely))
		n := now.UnixNano()
		got := picture{sv.m, sv.health, sv.verdict().hard, sv.verdict().soft, sv.fullAt(n), sv.rec.Clients, after(sv.holds), sv.burnRate(now)}
		want := picture{fresh.m, fresh.health, fresh.verdict().hard, fresh.verdict().soft, fresh.fullAt(n), fresh.rec.Clients, after(fresh.holds), fresh.burnRate(now)}
		opts := []cmp.Option{cmp.AllowUnexported(metrics{}), cmpopts.IgnoreFields(metrics{}, "at"), cmpopts.EquateApprox(0, 1e-9)}
		if diff := cmp.Diff(want, got, opts...); diff != "" {
			t.Fatalf("%s: the view of %s differs from the store (-store +view):\n%s", where, rec.ID, diff)
		}
	}
}
