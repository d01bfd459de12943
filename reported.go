package authpool

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

// Observation is what the upstream reported of a subscription's windows in
// a response (for Claude: the anthropic-ratelimit-unified-5h-* and -7d-*
// headers): how much of each it has used, and when each resets.
type Observation struct {
	// Time is when the upstream said it; an older observation than the one
	// kept is ignored.
	Time time.Time
	// Block and Week are the 5-hour and 7-day windows; nil when not reported.
	Block, Week *WindowObservation
}

// WindowObservation is one window as the upstream reported it.
type WindowObservation struct {
	// Share is the share used, 0 to 1 (more when over).
	Share float64
	// Reset is when the window resets.
	Reset time.Time
}

// Observe tells the pool what the upstream reported of a subscription's
// windows, so that its estimate follows the truth: while a reported window
// lasts, the share the pool counts for it is the higher of its own count
// (cost over budget) and the reported share (for a subscription without a
// budget, the reported share). Eligibility, health, alerts and Rebalance
// then read that share. In anchored mode a reported block's reset anchors the
// pool's block: it starts at the hour of reset minus the block's length.
func (p *Pool) Observe(ctx context.Context, subscriptionID string, o Observation) error {
	if err := p.usable(); err != nil {
		return err
	}
	r := store.Reported{At: o.Time.UTC()}
	for _, w := range []struct {
		name  string
		o     *WindowObservation
		share *float64
		reset *time.Time
	}{{"Block", o.Block, &r.BlockShare, &r.BlockReset}, {"Week", o.Week, &r.WeekShare, &r.WeekReset}} {
		if w.o == nil {
			continue
		}
		if math.IsNaN(w.o.Share) || w.o.Share < 0 || w.o.Share > 100 || w.o.Reset.IsZero() {
			return fmt.Errorf("authpool: observe %q: %s share %v (reset %v) is not a share in 0..100 with a reset: %w",
				subscriptionID, w.name, w.o.Share, w.o.Reset, ErrInvalidArgument)
		}
		*w.share, *w.reset = w.o.Share, w.o.Reset.UTC()
	}
	if r.At.IsZero() {
		return fmt.Errorf("authpool: observe %q: the observation has no time: %w", subscriptionID, ErrInvalidArgument)
	}
	var blockStart time.Time
	if !p.cfg.Block.Fixed && !r.BlockReset.IsZero() {
		blockStart = r.BlockReset.Add(-time.Duration(p.cfg.Block.Hours) * time.Hour)
	}
	if err := p.again(ctx, subscriptionID, func() error { return p.store.SetReported(ctx, subscriptionID, r, blockStart) }); err != nil {
		return fmt.Errorf("authpool: observe %q: %w", subscriptionID, storeError(err))
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	sv := p.current().byID[subscriptionID]
	if sv == nil || r.At.Before(sv.rec.Reported.At) {
		return nil
	}
	sv.rec.Reported = r
	anchor := sv.m.anchor
	if !blockStart.IsZero() {
		anchor = store.HourOf(blockStart)
	}
	p.fold(sv)
	sv.m = measure(sv.ring, now, p.cfg.Block, anchor)
	p.judge(sv, now)
	p.watch(sv, now)
	return nil
}

// use is a subscription's spending of its block and its week at one
// instant: the pool's own count, raised to what the upstream reported when
// that is more, as a cost and as a share of the budget.
type use struct {
	block, week           store.Nanodollars // 0 without a budget
	blockShare, weekShare float64
	// blockReported and weekReported are the upstream's shares while their
	// windows last; 0 otherwise.
	blockReported, weekReported float64
}

// byCountOnly reports whether the upstream said neither window is spent:
// a window the pool counts as spent is spent by its own count against its
// budget alone.
func (u use) byCountOnly() bool { return u.blockReported < 1 && u.weekReported < 1 }

// use returns the subscription's use at now. mu must be held (or sv not
// yet shared).
func (sv *subView) use(now time.Time) use {
	r := &sv.rec.Reported
	u := use{block: sv.m.blockCost, week: sv.m.week}
	if r.BlockReset.After(now) {
		u.blockReported = r.BlockShare
	}
	if r.WeekReset.After(now) {
		u.weekReported = r.WeekShare
	}
	u.block, u.blockShare = raised(u.block, sv.rec.BlockBudget, u.blockReported)
	u.week, u.weekShare = raised(u.week, sv.rec.WeeklyBudget, u.weekReported)
	return u
}

// raised returns a window's cost raised to the reported share of its budget
// when that is more, and the share it makes; without a budget, the reported
// share alone.
func raised(cost, budget store.Nanodollars, reported float64) (store.Nanodollars, float64) {
	if budget <= 0 {
		return cost, reported
	}
	cost = max(cost, store.Nanodollars(math.Round(reported*float64(budget))))
	return cost, float64(cost) / float64(budget)
}
