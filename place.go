package authpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/authpool/authpool/store"
)

// place moves a client from its subscription (from; "" if it has none) to
// the best place it can get, trying the tiers ts in order. With stay it
// returns errNoneEligible if none has a place: the caller keeps the client
// where it is.
func (p *Pool) place(ctx context.Context, r *request, from string, why Reason, ts []tier, stay bool) (Allocation, error) {
	clientID, now := r.clientID, r.now
	for _, t := range ts {
		c, ok, err := p.join(ctx, r, from, t)
		switch {
		case err != nil:
			return Allocation{}, fmt.Errorf("authpool: allocate %q: %w", clientID, err)
		case ok:
			a := Allocation{ClientID: clientID, SubscriptionID: c.id, Kind: c.kind, Credential: c.cred,
				From: from, Reason: why, OverThreshold: t == tierReserve && c.overThreshold || t == tierPast}
			switch {
			case c.id == FallbackID:
				a.Outcome = OutcomeFallback
				switch from {
				case FallbackID: // staying on the fallback
					a.From, a.Reason = "", ReasonNoneEligible
				case "": // a new client: why no subscription took it
					a.Reason = p.mostTelling(r)
				}
			case from == "":
				a.Outcome = OutcomeNew
			default:
				a.Outcome = OutcomeMoved
			}
			p.logAllocation(ctx, a)
			if a.Outcome == OutcomeFallback && a.Reason != ReasonNoneEligible || a.Reason == ReasonLimited {
				p.emitMove(EventFailover, now, Move{ClientID: clientID, From: a.From, To: a.SubscriptionID, Reason: a.Reason})
			}
			return a, nil
		}
	}
	if stay {
		return Allocation{}, errNoneEligible
	}
	err, byCapacity := p.exhausted(r)
	// Warn of an exhaustion once, debug its repeats: under load every
	// client's refusal would write a line (a proxy counts its refusals).
	level := slog.LevelDebug
	if p.emitExhausted(now, err, byCapacity) {
		level = slog.LevelWarn
	}
	if p.log.Enabled(ctx, level) {
		p.log.LogAttrs(ctx, level, "authpool: pool exhausted", slog.String("client", clientID), slog.String("error", err.Error()))
	}
	return Allocation{}, err
}

// logAllocation logs a placement that was not sticky: a new client at
// debug level, a move at info, the fallback (which costs money) at warn.
func (p *Pool) logAllocation(ctx context.Context, a Allocation) {
	level := slog.LevelInfo
	switch {
	case a.Outcome == OutcomeNew:
		level = slog.LevelDebug
	case a.Outcome == OutcomeFallback && a.From == "" && a.Reason == ReasonNoneEligible:
		level = slog.LevelDebug // staying on the fallback
	case a.Outcome == OutcomeFallback:
		level = slog.LevelWarn
	}
	p.log.LogAttrs(ctx, level, "authpool: allocated", slog.String("client", a.ClientID),
		slog.String("subscription", a.SubscriptionID), slog.String("outcome", a.Outcome.String()),
		slog.String("from", a.From), slog.String("reason", string(a.Reason)), slog.Bool("overThreshold", a.OverThreshold))
}

// join puts the client on the best subscription of tier t, retrying when
// the store refuses a choice the view made. It reports false when the tier
// has nothing to offer.
func (p *Pool) join(ctx context.Context, r *request, from string, t tier) (choice, bool, error) {
	clientID, now := r.clientID, r.now
	for range 8 {
		p.mu.Lock()
		sv := p.pick(t, from, r)
		var c choice
		if sv != nil {
			c = choiceOf(sv)
		}
		p.mu.Unlock()
		if sv == nil {
			return choice{}, false, nil
		}
		sess, err := p.store.Assign(ctx, store.Assignment{ClientID: clientID, SubscriptionID: c.id, From: from, Now: now, HoldUntil: r.hold})
		switch {
		case err == nil:
			if from != c.id {
				p.noteMove(from, c.id, r.held, sess.HoldUntil, now, true)
			}
			return c, true, nil
		case errors.Is(err, store.ErrFull), errors.Is(err, store.ErrInactive), errors.Is(err, store.ErrNotFound):
			// The view was behind the store: read that subscription again.
			if err := p.reload(ctx, c.id, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return choice{}, false, err
			}
		default:
			return choice{}, false, err
		}
	}
	return choice{}, false, nil
}

// pick returns the best subscription of tier t other than from, or nil. mu
// must be held.
func (p *Pool) pick(t tier, from string, r *request) *subView {
	now := r.now
	nowHour := store.HourOf(now)
	if t == tierFallback {
		fb := p.current().fallback
		if fb == nil {
			return nil
		}
		p.rejudge(fb, now, nowHour)
		if !admits(t, fb.verdict(), false, limitedFor(fb, r.model, now), r.tried(FallbackID)) {
			return nil
		}
		return fb
	}
	subs := p.current().subs
	list := newShortlist()
	n := now.UnixNano()
	for i, sv := range subs {
		if sv.rec.ID == from || r.tried(sv.rec.ID) {
			continue
		}
		p.rejudge(sv, now, nowHour)
		holding := sv.holding(n)
		v := sv.verdict()
		if v.soft {
			// Its forecast says whether the threshold relaxes.
			if !p.scoredAt(sv, n, holding) {
				p.score(sv, now)
			}
			v = relax(v, p.sight(sv, now))
		}
		limited := r.model != "" && limitedFor(sv, r.model, now)
		if !admits(t, v, full(holding, sv.rec.MaxClients), limited, false) {
			continue
		}
		if !p.scoredAt(sv, n, holding) {
			p.score(sv, now) // folds the usage noted without the lock
		}
		if sv.unsighted {
			p.foresee(sv, now)
		}
		list.offer(i, sv.lapses, sv.candidate())
	}
	if i := list.best(); i >= 0 {
		return subs[i]
	}
	return nil
}
