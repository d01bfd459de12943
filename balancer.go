package authpool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// Allocate returns the subscription a client should use now:
//
//   - its current subscription, while that is in service and its budgets
//     are not spent (OutcomeSticky): the prompt cache stays warm. At or
//     over the weekly threshold it keeps its clients (with
//     Config.ForecastMargin negative, a client there moves as soon as
//     another subscription is eligible). Past a budget by the pool's own
//     count only (see Config.StrictBudgets), it keeps them while no
//     subscription with budget left can take them. A client whose hold on
//     its slot has ended (see below) keeps its place if the subscription
//     has room, and is placed like a new one if it filled up meanwhile
//     (OutcomeMoved, ReasonPlaceTaken);
//   - else the best eligible subscription: in service, block and week not
//     spent, fewer clients holding a slot than its maximum, and below the
//     weekly threshold or, over it, with its week forecast to leave
//     capacity unused (see Config.ForecastMargin). A week forecast to
//     lapse with capacity unused within a day comes first, the one that
//     lapses on the earliest day first; then the healthiest; ties go to
//     fewer clients holding a slot, then lower weekly use, then ID
//     (OutcomeNew or OutcomeMoved);
//   - else a subscription at or over the weekly threshold whose budgets are
//     not spent, then one past a budget by the pool's count only, which
//     serves until the upstream refuses it (OverThreshold): prepaid
//     capacity before money;
//   - else the fallback, while its daily budget lasts (OutcomeFallback;
//     with Config.FallbackFirst it comes right after the eligible ones);
//   - else an *ExhaustedError (ErrExhausted) saying when the first
//     subscription is expected back.
//
// A slot is for a working client: the client that Allocate places or keeps
// holds a slot of its subscription for Sessions.IdleAfter, and Record
// extends the hold to IdleAfter after the usage, or to the usage's CacheTTL
// when that is longer (an hour for a request that wrote 1-hour prompt
// cache). A subscription's maximum caps the clients holding a slot, not its
// sessions: a one-shot client that never comes back stops counting once
// its hold ends, though its session stays until Release or Rebalance ends
// it. A client on the fallback returns to a subscription as soon as one is
// eligible. The store checks capacity and status atomically, so no
// subscription ever has more clients holding a slot than its maximum, and
// an ExhaustedError of a pool that is only full says when the first hold
// ends (RetryAt). With ForModel, a
// subscription limited for that model (MarkModelLimited) counts as
// ineligible for this call.
func (p *Pool) Allocate(ctx context.Context, clientID string, opts ...AllocateOption) (Allocation, error) {
	if err := p.usable(); err != nil {
		return Allocation{}, err
	}
	if err := bounds.CheckText("client ID", clientID, false); err != nil {
		return Allocation{}, fmt.Errorf("authpool: allocate: %w: %w", err, ErrInvalidArgument)
	}
	now := p.now()
	if p.stale(now) {
		if err := p.refresh(ctx, now, false); err != nil {
			return Allocation{}, fmt.Errorf("authpool: allocate %q: %w", clientID, err)
		}
	}
	r := &request{clientID: clientID, model: modelOf(opts), elsewhere: elsewhereOf(opts), now: now, hold: p.holdFor(now, 0)}
	// The sticky path, free of locks but the store's (and the view's when
	// the client's hold moved): the client stays on a subscription that can
	// keep it.
	t, err := p.touch(ctx, r)
	if err == nil && t.SubscriptionID != FallbackID {
		if sv := p.current().byID[t.SubscriptionID]; sv != nil {
			if v := p.stickyVerdict(sv, t.Status, r, true); v == (verdict{}) && !p.limitedForModel(sv, r) && !r.tried(sv.rec.ID) {
				p.counters.allocated(OutcomeSticky)
				return Allocation{ClientID: clientID, SubscriptionID: sv.rec.ID, Kind: Kind(sv.rec.Kind),
					Credential: sv.rec.Credential, Outcome: OutcomeSticky}, nil
			}
		}
	}
	a, err := p.reallocate(ctx, r, t, err)
	for retry := 0; err != nil && errors.Is(err, store.ErrConflict); retry++ {
		// A concurrent call for the same client moved it: look again.
		if retry == 3 {
			return Allocation{}, fmt.Errorf("authpool: allocate %q: concurrent calls for the client kept moving it: %w", clientID, err)
		}
		t, err = p.touch(ctx, r)
		a, err = p.reallocate(ctx, r, t, err)
	}
	p.counters.answered(a, err)
	return a, err
}

// request is what one Allocate is about.
type request struct {
	clientID  string
	model     string   // ForModel's, or ""
	elsewhere []string // Elsewhere's: subscriptions the request failed on
	now       time.Time
	hold      time.Time // the hold on a slot the client gets where it is placed
	held      time.Time // its hold on its subscription, as Touch left it (a move drops it)
	statusSeq uint64    // the pool's statusSeq when its Touch was sent
}

// touch is the store's Touch of r's client, extending its hold to r.hold,
// noted in the view.
func (p *Pool) touch(ctx context.Context, r *request) (store.Touched, error) {
	r.statusSeq = p.statusSeq.Load()
	t, err := p.hot.Touch(ctx, r.clientID, r.now, r.hold)
	p.counted(err)
	r.held = t.HoldUntil
	if err == nil {
		p.noteHold(t.SubscriptionID, t.Held, t.HoldUntil, r.now)
	}
	return t, err
}

// limitedForModel reports whether sv is limited for the request's model.
func (p *Pool) limitedForModel(sv *subView, r *request) bool {
	if r.model == "" || !sv.modelLimited.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return limitedFor(sv, r.model, r.now)
}

// choice is what a caller needs of a subscription, copied under mu.
type choice struct {
	id            string
	kind          Kind
	cred          Credential
	overThreshold bool
}

func choiceOf(sv *subView) choice {
	return choice{id: sv.rec.ID, kind: Kind(sv.rec.Kind), cred: sv.rec.Credential, overThreshold: sv.verdict().soft}
}

// reallocate places a client the sticky path did not keep, given what the
// store's Touch returned for it: its subscription (t.SubscriptionID) and
// that one's status, with ErrFull for a client whose place was taken while
// it was idle, or ErrNotFound for a client without a session.
func (p *Pool) reallocate(ctx context.Context, r *request, t store.Touched, err error) (Allocation, error) {
	clientID, now := r.clientID, r.now
	full := errors.Is(err, store.ErrFull)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.place(ctx, r, "", "", p.order, false)
	case err != nil && !full:
		return Allocation{}, fmt.Errorf("authpool: allocate %q: %w", clientID, err)
	}
	from, st := t.SubscriptionID, t.Status
	sv := p.current().byID[from]
	if sv == nil {
		// The subscription is newer than the view (another process added it)
		// or was just removed: read the view again.
		if err := p.refresh(ctx, now, true); err != nil {
			return Allocation{}, fmt.Errorf("authpool: allocate %q: %w", clientID, err)
		}
		if sv = p.current().byID[from]; sv == nil {
			return p.place(ctx, r, from, ReasonGone, p.order, false)
		}
	}
	v := p.stickyVerdict(sv, st, r, !full)
	past := v.past && !p.cfg.StrictBudgets // spent by the pool's count only: it may keep the client
	switch {
	case from == FallbackID:
		return p.place(ctx, r, from, ReasonFromFallback, p.order, false)
	case v.hard != "" && !past:
		return p.place(ctx, r, from, v.hard, p.order, false)
	case full:
		// The view may not know yet that other clients hold every slot (they
		// came through other pools): read it again, so that an ExhaustedError
		// says when the first slot frees up.
		if err := p.reload(ctx, from, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Allocation{}, fmt.Errorf("authpool: allocate %q: %w", clientID, err)
		}
		return p.place(ctx, r, from, ReasonPlaceTaken, p.order, false)
	case p.limitedForModel(sv, r):
		return p.place(ctx, r, from, ReasonModelLimited, p.order, false)
	case r.tried(sv.rec.ID):
		// Elsewhere if anywhere: else the client stays (see Elsewhere).
		a, err := p.place(ctx, r, from, ReasonTried, p.order[:1], true)
		if err == nil || !errors.Is(err, errNoneEligible) {
			return a, err
		}
	case past:
		// To a subscription with room left if one can take it, else it
		// stays, its prompt cache warm, until the upstream refuses it.
		a, err := p.place(ctx, r, from, v.hard, withRoom, true)
		if err == nil || !errors.Is(err, errNoneEligible) {
			return a, err
		}
	case v.soft && p.cfg.ForecastMargin < 0:
		// Without the forecast, a client leaves a subscription over the
		// threshold as soon as another is eligible. With it, it stays: the
		// threshold decides where new clients go, and moving a working
		// client rewrites its prompt cache.
		a, err := p.place(ctx, r, from, ReasonWeeklyThreshold, p.order[:1], true)
		if err == nil || !errors.Is(err, errNoneEligible) {
			return a, err
		}
	}
	return Allocation{ClientID: clientID, SubscriptionID: sv.rec.ID, Kind: Kind(sv.rec.Kind), Credential: sv.rec.Credential,
		Outcome: OutcomeSticky}, nil
}

// withRoom are the tiers of subscriptions with budget left: where a client
// past a budget by the pool's count moves to, if one takes it.
var withRoom = []tier{tierEligible, tierReserve}

// stickyVerdict returns sv's verdict at r.now, given the status the store
// returned to r's Touch; active says whether the store marked the client
// active on sv (not when its place was taken while it was idle). It takes
// the lock only when the view must change: the subscription was idle, or
// the store's status disagrees with the view, or an hour turned. The
// view takes the store's status unless it took one from elsewhere since
// the Touch was sent (statusSeq), which may be newer: a MarkLimited that
// the store applied after it answered the Touch.
func (p *Pool) stickyVerdict(sv *subView, st Status, r *request, active bool) verdict {
	now := r.now
	n := now.UnixNano()
	j := sv.judged.Load()
	outOfService := j.hard == ReasonLimited || j.hard == ReasonDisabled
	if n-sv.active.Load() < int64(p.cfg.Sessions.IdleAfter) && st.InService(now) != outOfService &&
		j.hour == store.HourOf(now) {
		if active {
			sv.markActive(n)
		}
		return j.verdict
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.statusSeq.Load() == r.statusSeq {
		sv.rec.Status = st
	}
	if active {
		sv.markActive(n)
	}
	p.judge(sv, now)
	p.watch(sv, now)
	return sv.verdict()
}

// errNoneEligible is place's answer, with stay, when no place of its tiers
// takes the client: the caller keeps the client where it is.
var errNoneEligible = errors.New("authpool: no eligible subscription")
