// Package rebalancebench benchmarks Pool.Rebalance on any store: how its
// time, allocations and longest store call grow with the number of
// sessions it cannot move. The root package runs it on the in-memory
// store, redisstore on Redis.
package rebalancebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// start is the benchmarks' clock, which stands still.
var start = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Idle is how many clients the "FewIdle" cases leave idle.
const Idle = 16

// Run runs Rebalance on pools of 10 subscriptions holding 1,000, 10,000
// and 100,000 sessions (up to most), all active now ("NoneIdle") or all but
// Idle of them ("FewIdle": idle for 10 minutes, their holds ended, spread
// over subscriptions whose blocks cost $0 to $9, so the first calls move
// some). Beside time and allocations it reports max-store-call-ns, the
// longest single store call of the timed Rebalances (after a first one, untimed) (for the in-memory
// store, about the longest its mutex was held; for Redis, a bound on the
// longest script), and moves/op.
func Run(b *testing.B, most int, newStore func(b *testing.B) store.Store) {
	for _, n := range []int{1000, 10_000, 100_000} {
		if n > most {
			break
		}
		for _, idle := range []int{0, Idle} {
			name := "NoneIdle"
			if idle > 0 {
				name = "FewIdle"
			}
			b.Run(fmt.Sprintf("%s/sessions=%d", name, n), func(b *testing.B) {
				timed := &Timed{Store: newStore(b)}
				p := pool(b, timed, n, idle)
				ctx := context.Background()
				if _, err := p.Rebalance(ctx); err != nil { // once untimed: a store's first read may set up
					b.Fatal(err)
				}
				timed.Reset()
				moves := 0
				b.ReportAllocs()
				for b.Loop() {
					r, err := p.Rebalance(ctx)
					if err != nil {
						b.Fatal(err)
					}
					moves += len(r.Moves)
				}
				b.ReportMetric(float64(timed.Max().Nanoseconds()), "max-store-call-ns")
				b.ReportMetric(float64(moves)/float64(b.N), "moves/op")
			})
		}
	}
}

// pool returns a pool on st with n sessions, idle of them idle.
func pool(b *testing.B, st store.Store, n, idle int) *authpool.Pool {
	b.Helper()
	ctx := context.Background()
	now := start.Add(-10 * time.Minute)
	cfg := authpool.Config{MaxClients: n}
	for i := range 10 {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%02d", i), Kind: authpool.KindMax20x, Credential: "sk-bench",
			WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100,
		})
	}
	p, err := authpool.New(ctx, cfg, authpool.WithStore(st), authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	spender := make(map[string]string) // an active client of each subscription
	for i := range n {
		if i == idle {
			now = start
		}
		a, err := p.Allocate(ctx, fmt.Sprintf("client-%06d", i))
		if err != nil {
			b.Fatal(err)
		}
		if i >= idle && spender[a.SubscriptionID] == "" {
			spender[a.SubscriptionID] = a.ClientID
		}
	}
	for i := range 10 { // sub-0i's block costs $i
		client := spender[fmt.Sprintf("sub-%02d", i)]
		if client == "" {
			continue
		}
		if err := p.Record(ctx, client, authpool.Usage{Time: now, CostUSD: float64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// Timed is a store.Store that times the calls Rebalance makes.
type Timed struct {
	store.Store
	mu  sync.Mutex
	max time.Duration
}

// Max returns the longest call since Reset.
func (t *Timed) Max() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// Reset forgets the calls timed so far.
func (t *Timed) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max = 0
}

func (t *Timed) note(began time.Time) {
	d := time.Since(began)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max = max(t.max, d)
}

// Sessions implements store.Store.
func (t *Timed) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	defer t.note(time.Now())
	return t.Store.Sessions(ctx, q)
}

// Subscriptions implements store.Store.
func (t *Timed) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	defer t.note(time.Now())
	return t.Store.Subscriptions(ctx)
}

// Subscription implements store.Store.
func (t *Timed) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	defer t.note(time.Now())
	return t.Store.Subscription(ctx, id)
}

// Assign implements store.Store.
func (t *Timed) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	defer t.note(time.Now())
	return t.Store.Assign(ctx, a)
}

// Release implements store.Store.
func (t *Timed) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	defer t.note(time.Now())
	return t.Store.Release(ctx, clientID, idleSince)
}
