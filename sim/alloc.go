package sim

import (
	"context"
	"errors"
	"time"

	"github.com/authpool/authpool"
)

// Allocator is the policy a run measures: where each request goes. It is
// the seam between the run loop (the workload, the simulated upstream, the
// fallback's spending cap and every measurement) and what decides: a real
// authpool.Pool, or a model of a peer's policy (Peers). A run calls it from
// one goroutine, on the run's virtual clock.
//
// For each request the run calls Place; if the subscription placed answers
// with a 429, Limited, then Place again (a failover); once an account
// served it, Served. It calls Release when a session ends and Tick every
// Scenario.RebalanceEvery.
type Allocator interface {
	// Place returns the account that is to serve the client's next
	// request now.
	Place(ctx context.Context, client string) (Placement, error)
	// Limited says the upstream answered a request on subscription id with
	// a 429 whose anthropic-ratelimit-unified-reset is until.
	Limited(ctx context.Context, id string, until time.Time, reason string) error
	// Served says the account served the client's request, which cost usd.
	Served(ctx context.Context, client, account string, usd float64) error
	// Release says the client's session ended.
	Release(ctx context.Context, client string) error
	// Tick is the host's periodic call (the pool's Rebalance), and a sample
	// of the allocator's state just before it.
	Tick(ctx context.Context) (Sample, error)
	// Close frees what the allocator holds.
	Close(ctx context.Context) error
}

// Placement is where an Allocator placed a request.
type Placement struct {
	// Account is a subscription's ID, authpool.FallbackID for the fallback
	// API key, or "" when nothing takes the request: it is refused, and
	// its client gets a 429.
	Account string
	// Failover is set when the client left a subscription that could no
	// longer serve it (Result.Failovers).
	Failover bool
}

// Sample is an Allocator's state at a Tick, before it acts.
type Sample struct {
	// Health is the mean health of the subscriptions, when the allocator
	// scores them (HasHealth): the pool's Snapshot health.
	Health    float64
	HasHealth bool
	// Limited counts the subscriptions that take no clients: limited (a
	// 429's cool-down), or, for the pool, with their block or week spent.
	Limited int
}

// poolAllocator places requests with a real authpool.Pool: Allocate,
// Record, MarkLimited, Release, and Snapshot then Rebalance at each tick.
type poolAllocator struct {
	pool *authpool.Pool
	// cacheTTL is each Usage's CacheTTL, as authpool's proxy records it
	// (claude.Counts.CacheTTL): an hour when the workload's requests write
	// 1-hour caches, else 0 (the pool's idle time).
	cacheTTL time.Duration
}

// Place allocates the client; ErrExhausted refuses the request.
func (a *poolAllocator) Place(ctx context.Context, client string) (Placement, error) {
	al, err := a.pool.Allocate(ctx, client)
	if errors.Is(err, authpool.ErrExhausted) {
		return Placement{}, nil
	}
	if err != nil {
		return Placement{}, err
	}
	// Moved off a subscription that could no longer serve the client: not
	// back from the fallback, nor a place other clients took while it was
	// idle (its subscription could serve, and its cache had gone cold).
	failover := al.From != "" && al.From != authpool.FallbackID && al.Reason != authpool.ReasonFromFallback &&
		al.Reason != authpool.ReasonPlaceTaken
	return Placement{Account: al.SubscriptionID, Failover: failover}, nil
}

func (a *poolAllocator) Limited(ctx context.Context, id string, until time.Time, reason string) error {
	return a.pool.MarkLimited(ctx, id, until, reason)
}

func (a *poolAllocator) Served(ctx context.Context, client, account string, usd float64) error {
	return a.pool.Record(ctx, client, authpool.Usage{SubscriptionID: account, Time: a.pool.Now(), CostUSD: usd, CacheTTL: a.cacheTTL})
}

func (a *poolAllocator) Release(ctx context.Context, client string) error {
	return a.pool.Release(ctx, client)
}

// Tick takes a Snapshot (health, subscriptions ineligible), then calls
// Rebalance.
func (a *poolAllocator) Tick(ctx context.Context) (Sample, error) {
	snap, err := a.pool.Snapshot(ctx)
	if err != nil {
		return Sample{}, err
	}
	var s Sample
	for _, sub := range snap.Subscriptions {
		s.Health += sub.Health
		switch sub.Ineligible {
		case authpool.ReasonLimited, authpool.ReasonBlockSpent, authpool.ReasonWeekSpent:
			s.Limited++
		}
	}
	if n := len(snap.Subscriptions); n > 0 {
		s.Health /= float64(n)
		s.HasHealth = true
	}
	if _, err := a.pool.Rebalance(ctx); err != nil {
		return Sample{}, err
	}
	return s, nil
}

func (a *poolAllocator) Close(ctx context.Context) error { return a.pool.Close(ctx) }
