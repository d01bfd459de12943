package authpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/store"
)

// view is the pool's picture of its subscriptions: what selection reads. It
// is read from the store every Config.RefreshInterval and kept current in
// between by this pool's own changes, so it may lag other processes' changes
// by up to an interval. Limits do not depend on it: the store checks
// capacity and status itself. A view's maps and slices never change once it
// is published; a refresh publishes a new one.
type view struct {
	subs     []*subView
	byID     map[string]*subView      // subs and the fallback
	fallback *subView                 // nil without a fallback in the Config
	scrub    atomic.Pointer[scrubber] // the pool's secrets as the view knows them; built on first use
}

// subView is one subscription in the view. Its configuration (rec's ID,
// Kind, Credential and its expiry, MaxClients and budgets) never changes;
// the Pool's mu guards the rest but for the atomics, which the sticky path
// of Allocate and Record read without the lock.
type subView struct {
	unscored bool // health is behind the numbers: score before reading it
	// scoredIdle and scoredHolding are the idleness and the clients
	// holding a slot health was scored with: time alone changes both.
	scoredIdle    bool
	health        float64
	scoredHolding int
	scoredWeek    float64 // the share of its weekly budget used, at the score: a tie-break of better
	scoredMinute  int64   // the minute health was scored in: the burn rate moves on with the minutes
	lapses        int64   // sight.lapses(), at the score: what the choice among candidates compares first
	m             metrics
	rec           store.Subscription // without Usage, which is in ring, Minutes, in mins, and Holds, in holds; LastActive is in active
	ring          *hourly            // apart, so that a scan of the view stays in few cache lines
	mins          *minutely          // the last hour's spending by minute: the burn rate; written without the lock
	holds         []int64            // its clients' holds on its slots, ascending, Unix nanoseconds (see holds.go)

	// judged is what classify last made of it: an immutable value,
	// replaced whole when it changes, which the sticky path reads without
	// the lock.
	judged       atomic.Pointer[judgement]
	active       atomic.Int64 // latest activity of its clients, Unix nanoseconds
	modelLimited atomic.Bool  // it has (or had) model limits: Allocate ForModel checks them

	// Usage noted without the lock (see noteUsage): pending is the cost of
	// the judgement's hour not yet folded into ring and m; room is how much
	// may pend before a budget could be crossed, which needs the lock.
	pending atomic.Int64
	room    atomic.Int64

	// sight is what selection makes of its weekly forecast (see
	// Pool.sight), made from the numbers score read: scoredBurn is the
	// burn rate then, and unsighted says whether score ran since.
	sight      foresight
	scoredBurn float64
	unsighted  bool
}

// judgement is what classify made of a subscription's numbers: its verdict,
// and the hour the numbers were measured in (usage of that hour may pend
// without the lock). Once published it never changes.
type judgement struct {
	verdict
	hour int64
}

// verdict returns the subscription's verdict as classify last made it.
func (sv *subView) verdict() verdict { return sv.judged.Load().verdict }

// markActive moves the subscription's latest activity forward to now.
func (sv *subView) markActive(now int64) {
	for {
		last := sv.active.Load()
		if now <= last || sv.active.CompareAndSwap(last, now) {
			return
		}
	}
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// current returns the published view.
func (p *Pool) current() *view { return p.view.Load() }

// invalidate makes the next call that reads the view read the store first.
func (p *Pool) invalidate() { p.builtAt.Store(0) }

// stale reports whether the view must be read again at now.
func (p *Pool) stale(now time.Time) bool {
	built := p.builtAt.Load()
	age := now.UnixNano() - built
	return built == 0 || age < 0 || age >= int64(p.cfg.RefreshInterval)
}

// refresh reads the view from the store if it is stale at now, or always
// when force is set. Without force, a caller finding another refresh in
// progress goes on with the current view.
func (p *Pool) refresh(ctx context.Context, now time.Time, force bool) error {
	if !force {
		if !p.stale(now) || !p.refreshMu.TryLock() {
			return nil
		}
	} else {
		p.refreshMu.Lock()
	}
	defer p.refreshMu.Unlock()
	return p.load(ctx, now)
}

// reread reads the view from the store again, unless another call read it
// since seen was the current view: after the store said that a
// subscription the view holds does not exist, which it says of every
// subscription once it lost them all (a Redis that came back empty). The
// read restores them then, as refresh does; a subscription removed for
// good is left out of the view.
func (p *Pool) reread(ctx context.Context, now time.Time, seen *view) error {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	if p.current() != seen {
		return nil
	}
	return p.load(ctx, now)
}

// again calls write, a write about subscription id, a second time if the
// store said the first time that it has no such subscription and reading
// the view again brought it back: the store had lost every subscription
// and the read restored them (see reread). A write the store refuses for
// a subscription removed for good returns that refusal.
func (p *Pool) again(ctx context.Context, id string, write func() error) error {
	seen := p.current()
	err := write()
	if !errors.Is(err, store.ErrNotFound) || seen.byID[id] == nil {
		return err
	}
	if p.reread(ctx, p.now(), seen) != nil || p.current().byID[id] == nil {
		return err
	}
	return write()
}

// load reads the view from the store, restoring the Config's subscriptions
// to a store that holds none, and publishes it. refreshMu must be held.
func (p *Pool) load(ctx context.Context, now time.Time) error {
	recs, err := p.store.Subscriptions(ctx)
	if err != nil {
		return fmt.Errorf("authpool: read subscriptions: %w", err)
	}
	if len(recs) == 0 && (len(p.cfg.Subscriptions) > 0 || p.cfg.Fallback != nil) {
		if recs, err = p.restore(ctx); err != nil {
			return err
		}
	}
	v := &view{subs: make([]*subView, 0, len(recs)), byID: make(map[string]*subView, len(recs))}
	for _, rec := range recs {
		sv := p.newSubView(rec, now, new(hourly), new(minutely))
		v.byID[rec.ID] = sv
		if rec.ID == FallbackID {
			if p.cfg.Fallback != nil {
				v.fallback = sv
			}
			continue
		}
		v.subs = append(v.subs, sv)
	}
	p.mu.Lock()
	p.statusSeq.Add(1)
	p.view.Store(v)
	for _, sv := range v.byID {
		p.watch(sv, now) // usage and limits other pools brought
	}
	p.mu.Unlock()
	p.builtAt.Store(now.UnixNano())
	return nil
}

// restore writes the Config's subscriptions to a store that holds none
// (a Redis that came back empty: no persistence, flushed, evicting), as New
// would, and reads them back. Their usage, sessions and statuses are lost:
// they start anew. Several pools may restore at once; the first write wins.
func (p *Pool) restore(ctx context.Context) ([]store.Subscription, error) {
	recs := p.configRecords()
	p.log.LogAttrs(ctx, slog.LevelWarn, "authpool: the store holds no subscription; writing the Config's again",
		slog.Int("subscriptions", len(recs)))
	for _, rec := range recs {
		if err := p.store.CreateSubscription(ctx, rec); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("authpool: restore subscription %q to the store: %w", rec.ID, err)
		}
	}
	p.counters.restores.Add(1)
	recs, err := p.store.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("authpool: read subscriptions: %w", err)
	}
	return recs, nil
}

// newSubView returns a subscription's view at now from its record, loading
// its usage into ring and mins, which the view then owns.
func (p *Pool) newSubView(rec store.Subscription, now time.Time, ring *hourly, mins *minutely) *subView {
	sv := &subView{rec: rec, ring: ring, mins: mins}
	sv.ring.load(rec.Usage)
	sv.mins.load(rec.Minutes)
	sv.loadHolds(rec.Holds)
	sv.rec.Usage, sv.rec.Minutes, sv.rec.Holds = nil, nil, nil
	sv.active.Store(nanos(rec.LastActive))
	sv.modelLimited.Store(len(rec.ModelLimits) > 0)
	sv.m = measure(sv.ring, now, p.cfg.Block, anchorOf(rec.BlockStart))
	p.judge(sv, now)
	return sv
}

// reload reads one subscription again after the store refused a choice the
// view made, so that the view stops offering it while the store says no.
// A subscription the store does not have is not taken for removed at once:
// the whole view is read again, which restores the Config's subscriptions
// to a store that lost them all, and the new view holds the subscription,
// which may then be offered again, or does not (it was removed). Either
// way the caller picks again from the current view; a store that cannot be
// read changes nothing in it.
func (p *Pool) reload(ctx context.Context, id string, now time.Time) error {
	seen := p.current()
	rec, err := p.store.Subscription(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if err := p.reread(ctx, now, seen); err != nil {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statusSeq.Add(1)
	sv := p.current().byID[id]
	if sv == nil {
		return nil
	}
	sv.pending.Store(0) // the store's numbers hold it already
	sv.ring.load(rec.Usage)
	sv.mins.load(rec.Minutes)
	sv.loadHolds(rec.Holds)
	sv.rec.Status, sv.rec.Clients, sv.rec.ModelLimits, sv.rec.Reported = rec.Status, rec.Clients, rec.ModelLimits, rec.Reported
	sv.modelLimited.Store(len(rec.ModelLimits) > 0)
	sv.markActive(nanos(rec.LastActive))
	sv.m = measure(sv.ring, now, p.cfg.Block, anchorOf(rec.BlockStart))
	p.judge(sv, now)
	p.watch(sv, now)
	return nil
}

// noteMove updates the view after the store moved a client from one
// subscription ("" for none), where its hold ended at fromHold, to another
// ("" when released), where it holds a slot until toHold (zero: none);
// active says whether the move was the client's activity (not a Rebalance
// of an idle client).
func (p *Pool) noteMove(from, to string, fromHold, toHold, now time.Time, active bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.current()
	n := now.UnixNano()
	if sv := v.byID[from]; sv != nil && from != "" {
		sv.rec.Clients = max(0, sv.rec.Clients-1)
		sv.moveHold(nanos(fromHold), 0, n)
		p.judge(sv, now)
	}
	if sv := v.byID[to]; sv != nil && to != "" {
		sv.rec.Clients++
		sv.moveHold(0, nanos(toHold), n)
		if active {
			sv.markActive(now.UnixNano())
		}
		p.judge(sv, now)
	}
}

// noteUsage updates the view after the store added a usage (a client's
// activity when active is set). While the usage
// falls in the current hour and leaves room under every budget threshold it
// only adds to the subscription's pending cost, without the lock; the next
// reader under the lock folds it in. A usage noted as an hour turns may be
// folded into the next hour: the view is a picture, the store keeps count.
func (p *Pool) noteUsage(id string, u *store.UsageRecord, active bool) {
	sv := p.current().byID[id]
	if sv == nil {
		return
	}
	if active {
		sv.markActive(u.Now.UnixNano())
	}
	sv.mins.add(store.MinuteOf(u.Time), u.Cost)
	hour := store.HourOf(u.Time)
	pending := hour == sv.judged.Load().hour && hour == store.HourOf(u.Now)
	if pending && sv.pending.Add(int64(u.Cost)) < sv.room.Load() {
		return
	}
	p.mu.Lock()
	if !pending {
		p.fold(sv)
		if store.HourOf(u.Now) != sv.m.hour {
			sv.m = measure(sv.ring, u.Now, p.cfg.Block, sv.m.anchor)
		}
		sv.ring.add(hour, u.Cost)
		sv.m.add(sv.ring, hour, u.Cost, p.cfg.Block)
	}
	p.classify(sv, u.Now) // folds the pending cost
	sv.unscored = true
	p.watch(sv, u.Now)
	p.mu.Unlock()
}
