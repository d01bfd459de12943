package authpool

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/store"
)

// Stats counts what a pool did since New: Allocate's answers by outcome,
// the usages it counted and refused, what Rebalance did, the store calls
// that failed, and what became of its events. The counts only grow; a
// monitoring system takes their rates (package metrics exports them to
// Prometheus). They are this Pool's own: pools sharing a store count apart.
type Stats struct {
	// Allocations counts Allocate's placements by Outcome (every outcome
	// is in the map), Exhausted its refusals with ErrExhausted. A call
	// that failed otherwise (bad input, a closed pool, a store error) is
	// not counted.
	Allocations map[Outcome]int64 `json:"allocations"`
	Exhausted   int64             `json:"exhausted"`
	// Records counts the usages Record and Charge counted.
	Records int64 `json:"records"`
	// DuplicateRecords counts the usages Record and Charge refused as
	// already recorded (see Config.RememberUsageIDs).
	DuplicateRecords int64 `json:"duplicateRecords"`
	// TooOldRecords counts the usages Record and Charge refused with
	// ErrUsageTooOld: their ID may have been counted and forgotten (see
	// Config.UsageIDMemoryMiB).
	TooOldRecords int64 `json:"tooOldRecords"`
	// EstimatedUsages counts the usages Record and Charge counted whose
	// cost was an estimate: their model had no price of its own
	// (Usage.PricedAs).
	EstimatedUsages int64 `json:"estimatedUsages"`
	// RebalanceMoves counts the idle clients Rebalance moved, StaleReleases
	// the stale sessions it released.
	RebalanceMoves int64 `json:"rebalanceMoves"`
	StaleReleases  int64 `json:"staleReleases"`
	// StoreErrors counts the store calls that failed: every error but the
	// store's answers (store.ErrNotFound, ErrExists, ErrFull, ErrInactive,
	// ErrConflict, ErrDuplicate, ErrForgotten) and a context cancelled by the caller.
	// store.ErrUnavailable and deadlines count.
	StoreErrors int64 `json:"storeErrors"`
	// StoreRestores counts the times the pool found its store holding no
	// subscription (a Redis that came back empty) and wrote the Config's
	// again.
	StoreRestores int64             `json:"storeRestores"`
	Notifications NotificationStats `json:"notifications"`
}

// counters are the pool's Stats as they grow: atomics, so counting costs
// the hot path no lock and no allocation.
type counters struct {
	allocations   [len(outcomeNames)]atomic.Int64 // by Outcome; index 0 unused
	exhausted     atomic.Int64
	records       atomic.Int64
	duplicates    atomic.Int64 // usages refused as already recorded
	tooOld        atomic.Int64 // usages refused with ErrUsageTooOld
	estimated     atomic.Int64 // usages counted at an estimated cost
	moves         atomic.Int64
	staleReleases atomic.Int64
	storeErrors   atomic.Int64
	restores      atomic.Int64
}

// allocated counts an Allocate answered with outcome o.
func (c *counters) allocated(o Outcome) { c.allocations[o].Add(1) }

// answered counts what Allocate answered, past its sticky path.
func (c *counters) answered(a Allocation, err error) {
	switch {
	case err == nil:
		c.allocated(a.Outcome)
	case errors.Is(err, ErrExhausted):
		c.exhausted.Add(1)
	}
}

// Stats returns what the pool counted since New. It reads no store and is
// cheap enough to call on every scrape; it works after Close too.
func (p *Pool) Stats() Stats {
	c := &p.counters
	return Stats{
		Allocations: map[Outcome]int64{
			OutcomeSticky: c.allocations[OutcomeSticky].Load(), OutcomeNew: c.allocations[OutcomeNew].Load(),
			OutcomeMoved: c.allocations[OutcomeMoved].Load(), OutcomeFallback: c.allocations[OutcomeFallback].Load(),
		},
		Exhausted:        c.exhausted.Load(),
		Records:          c.records.Load(),
		DuplicateRecords: c.duplicates.Load(),
		TooOldRecords:    c.tooOld.Load(),
		EstimatedUsages:  c.estimated.Load(),
		RebalanceMoves:   c.moves.Load(),
		StaleReleases:    c.staleReleases.Load(),
		StoreErrors:      c.storeErrors.Load(),
		StoreRestores:    c.restores.Load(),
		Notifications:    p.notes.stats(),
	}
}

// failed reports whether a store's error is its failure rather than its answer,
// as Stats.StoreErrors counts them.
func failed(err error) bool {
	return !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrExists) &&
		!errors.Is(err, store.ErrFull) && !errors.Is(err, store.ErrInactive) && !errors.Is(err, store.ErrConflict) &&
		!errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrForgotten) && !errors.Is(err, context.Canceled)
}

// counted counts err in Stats.StoreErrors when it is the store's failure,
// as countingStore does for the calls that go through it.
func (p *Pool) counted(err error) {
	if err != nil && failed(err) {
		p.counters.storeErrors.Add(1)
	}
}

// countingStore is the pool's store, counting the calls that fail in
// errs. A method the Store interface gains passes through uncounted until
// it is added here.
type countingStore struct {
	store.Store
	errs *atomic.Int64
}

// count adds err to the failures if it is one, and returns it.
func (s countingStore) count(err error) error {
	if err != nil && failed(err) {
		s.errs.Add(1)
	}
	return err
}

// The Store's methods, each counting its failure.

func (s countingStore) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.count(s.Store.CreateSubscription(ctx, sub))
}

func (s countingStore) UpdateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.count(s.Store.UpdateSubscription(ctx, sub))
}

func (s countingStore) SetStatus(ctx context.Context, id string, st store.Status) error {
	return s.count(s.Store.SetStatus(ctx, id, st))
}

func (s countingStore) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	return s.count(s.Store.SetModelLimit(ctx, id, l, now))
}

func (s countingStore) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	return s.count(s.Store.SetReported(ctx, id, r, blockStart))
}

func (s countingStore) DeleteSubscription(ctx context.Context, id string) ([]store.Session, error) {
	sessions, err := s.Store.DeleteSubscription(ctx, id)
	return sessions, s.count(err)
}

func (s countingStore) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	sub, err := s.Store.Subscription(ctx, id)
	return sub, s.count(err)
}

func (s countingStore) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	subs, err := s.Store.Subscriptions(ctx)
	return subs, s.count(err)
}

func (s countingStore) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	t, err := s.Store.Touch(ctx, clientID, now, holdUntil)
	return t, s.count(err)
}

func (s countingStore) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	sess, err := s.Store.Assign(ctx, a)
	return sess, s.count(err)
}

func (s countingStore) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	sess, err := s.Store.Release(ctx, clientID, idleSince)
	return sess, s.count(err)
}

func (s countingStore) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	sessions, err := s.Store.Sessions(ctx, q)
	return sessions, s.count(err)
}

func (s countingStore) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	a, err := s.Store.AddUsage(ctx, clientID, u)
	return a, s.count(err)
}

func (s countingStore) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	ok, err := s.Store.Claim(ctx, key, now, until)
	return ok, s.count(err)
}
