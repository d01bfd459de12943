package authpool

import (
	"time"

	"github.com/authpool/authpool/store"
)

// exhausted returns the error for a client no tier could take: why each
// subscription refused, and when the first is expected back; and whether
// that is when a full one's holds end (RetryAt moves on as its clients go
// on working).
func (p *Pool) exhausted(r *request) (*ExhaustedError, bool) {
	now := r.now
	p.mu.Lock()
	defer p.mu.Unlock()
	e := &ExhaustedError{ClientID: r.clientID, Reasons: make(map[Reason]int)}
	byCapacity := false
	consider := func(t time.Time, capacity bool) {
		if !t.IsZero() && t.After(now) && (e.RetryAt.IsZero() || t.Before(e.RetryAt)) {
			e.RetryAt, byCapacity = t, capacity
		}
	}
	nowHour := store.HourOf(now)
	for _, sv := range p.current().subs {
		p.rejudge(sv, now, nowHour)
		p.fold(sv)
		why := p.refusal(sv, r)
		if why == ReasonModelLimited {
			consider(modelLimitEnd(sv, r.model, now), false)
		}
		e.Reasons[why]++
		consider(p.backAt(sv, now))
	}
	if fb := p.current().fallback; fb != nil {
		p.rejudge(fb, now, nowHour)
		p.fold(fb)
		e.Fallback = p.why(fb, now)
		consider(p.backAt(fb, now))
	}
	return e, byCapacity
}

// backAt returns when a subscription is expected to take a client again by
// itself (see standing.backAt). mu must be held.
func (p *Pool) backAt(sv *subView, now time.Time) (time.Time, bool) {
	return p.outlook(sv, now).backAt(now)
}

// weekFrees returns when enough of a subscription's own weekly use leaves
// the rolling week for it to drop under limit. mu must be held.
func weekFrees(sv *subView, now time.Time, limit store.Nanodollars) time.Time {
	left := sv.m.week
	h := store.HourOf(now)
	for hr := h - store.WeekHours + 1; hr <= h; hr++ {
		left -= sv.ring.at(hr)
		if left < limit {
			return store.HourStart(hr + store.WeekHours)
		}
	}
	return store.HourStart(h + store.WeekHours)
}

// refusal returns why sv takes no new client for r at r.now, as an
// ExhaustedError counts it; "" if it takes one. mu must be held, and sv
// judged at r.now.
func (p *Pool) refusal(sv *subView, r *request) Reason {
	return refusal(sv.verdict(), sv.fullAt(r.now.UnixNano()), limitedFor(sv, r.model, r.now), r.tried(sv.rec.ID))
}

// mostTelling returns why no subscription took r's client: the reason the
// most subscriptions refused it for (a tie goes to the reason an
// ExhaustedError lists first), or ReasonNoneEligible when none refused
// (the pool has none, or the store refused what the view offered).
func (p *Pool) mostTelling(r *request) Reason {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := make(map[Reason]int, len(reasonOrder))
	nowHour := store.HourOf(r.now)
	for _, sv := range p.current().subs {
		p.rejudge(sv, r.now, nowHour)
		p.fold(sv)
		if why := p.refusal(sv, r); why != "" {
			counts[why]++
		}
	}
	best := ReasonNoneEligible
	for _, why := range reasonOrder {
		if counts[why] > counts[best] {
			best = why
		}
	}
	return best
}
