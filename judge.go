package authpool

import (
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

// Judging a subscription of the view: its numbers at now (standing), the
// verdict and the health the pure functions of selection.go and health.go
// make of them, kept in the view for the paths that read them.

// judge sets a subscription's eligibility and health at now.
func (p *Pool) judge(sv *subView, now time.Time) {
	p.classify(sv, now)
	p.score(sv, now)
}

// standing returns a subscription's numbers at now that its verdict reads.
// mu must be held (or sv not yet shared), and sv's numbers measured in
// now's hour.
func (p *Pool) standing(sv *subView, now time.Time) standing {
	rec := &sv.rec
	return standing{
		status: rec.Status, dayCost: sv.m.day, dailyBudget: rec.DailyBudget,
		use: sv.use(now), blockBudget: rec.BlockBudget, weeklyBudget: rec.WeeklyBudget,
	}
}

// outlook returns a subscription's standing at now with when what keeps it
// out ends: what backAt reads besides. mu must be held, and sv's numbers
// measured in now's hour.
func (p *Pool) outlook(sv *subView, now time.Time) standing {
	rec := &sv.rec
	n := now.UnixNano()
	s := p.standing(sv, now)
	s.dayEnd, s.blockEnd = dayWindow(now).End, sv.m.block.End
	s.blockReset, s.weekReset = rec.Reported.BlockReset, rec.Reported.WeekReset
	s.holding, s.maxClients = sv.holding(n), rec.MaxClients
	if rec.WeeklyBudget > 0 && sv.m.week >= rec.WeeklyBudget {
		s.weekFrees = weekFrees(sv, now, rec.WeeklyBudget)
	}
	if full(s.holding, s.maxClients) {
		s.freesAt = sv.freesAt(n)
	}
	return s
}

// classify sets a subscription's verdict at now, measuring it again if now
// is in another hour, and publishes it for the sticky path. mu must be held
// (or sv not yet shared).
func (p *Pool) classify(sv *subView, now time.Time) {
	p.fold(sv)
	if store.HourOf(now) != sv.m.hour {
		sv.m = measure(sv.ring, now, p.cfg.Block, sv.m.anchor)
	}
	s := p.standing(sv, now)
	v := s.verdict(now, p.cfg.WeeklyThreshold)
	// The room first: a reader without the lock that sees the new hour
	// sees the room that goes with it.
	sv.room.Store(p.room(sv, s.use, v))
	if j := sv.judged.Load(); j == nil || j.verdict != v || j.hour != sv.m.hour {
		sv.judged.Store(&judgement{verdict: v, hour: sv.m.hour}) // a new value only when it changes
	}
}

// rejudge classifies sv again at now, whose hour is nowHour, if time alone
// may have changed its verdict since it was made: now is in another hour
// than its numbers (a block, the UTC day or the week moved on), or its limit
// has ended. mu must be held.
func (p *Pool) rejudge(sv *subView, now time.Time, nowHour int64) {
	if nowHour != sv.m.hour || sv.rec.Status.State == Limited && !now.Before(sv.rec.Status.Until) {
		p.classify(sv, now)
		sv.unscored = true
		p.watch(sv, now)
	}
}

// room returns how much more sv may spend before a budget or the weekly
// threshold could change its verdict v. mu must be held.
func (p *Pool) room(sv *subView, u use, v verdict) int64 {
	if v.hard != "" && p.notes == nil {
		return math.MaxInt64 // spending more does not bring it back
	}
	if !sv.m.blockActive && sv.rec.BlockBudget > 0 {
		return 0 // the next usage starts a block
	}
	room := int64(math.MaxInt64)
	left := func(budget, used store.Nanodollars) {
		if budget > 0 {
			room = min(room, int64(budget-used))
			if p.notes != nil {
				room = min(room, p.nextAlert(used, budget)) // a threshold event needs the lock
			}
		}
	}
	left(sv.rec.BlockBudget, u.block)
	left(sv.rec.WeeklyBudget, u.week)
	left(sv.rec.DailyBudget, sv.m.day)
	if !v.soft && sv.rec.WeeklyBudget > 0 {
		left(thresholdAmount(p.cfg.WeeklyThreshold, sv.rec.WeeklyBudget), u.week)
	}
	return room
}

// fold moves the usage noted without the lock into ring and m, taking it
// off the room left before the verdict may change. mu must be held.
func (p *Pool) fold(sv *subView) {
	c := store.Nanodollars(sv.pending.Swap(0))
	if c == 0 {
		return
	}
	sv.room.Add(-int64(c))
	h := sv.judged.Load().hour
	sv.ring.add(h, c)
	sv.m.add(sv.ring, h, c, p.cfg.Block)
	sv.unscored = true
}

// score sets a subscription's health at now. mu must be held (or sv not yet
// shared).
func (p *Pool) score(sv *subView, now time.Time) {
	p.fold(sv)
	n := now.UnixNano()
	sv.scoredHolding, sv.scoredIdle, sv.scoredMinute = sv.holding(n), p.idle(sv, n), store.MinuteOf(now)
	in := p.healthInput(sv, now, sv.scoredHolding, sv.scoredIdle)
	sv.health, sv.scoredWeek = health(in, p.cfg.Health), in.weekShare
	sv.scoredBurn, sv.unsighted = in.burnRate, true // the forecast is made when selection reads it
	sv.unscored = false
}

// sight returns what selection makes of sv's weekly forecast, made at now
// from the numbers score last read (the forecast waits until selection
// reads it: most scores need none). mu must be held (or sv not yet
// shared), and sv scored.
func (p *Pool) sight(sv *subView, now time.Time) foresight {
	if sv.unsighted {
		p.foresee(sv, now)
	}
	return sv.sight
}

// foresee makes sv's foresight and its lapses (see sight).
func (p *Pool) foresee(sv *subView, now time.Time) {
	sv.sight, sv.unsighted = foresight{}, false
	budget := sv.rec.WeeklyBudget
	if p.cfg.ForecastMargin >= 0 && budget > 0 {
		l := weekLapse(sv.ring, now, sv.m.week, sv.use(now).week, budget, sv.scoredBurn, sv.rec.Reported.WeekReset)
		sv.sight = foresee(l, now, budget, p.cfg.ForecastMargin)
	}
	sv.lapses = sv.sight.lapses()
}

// effective returns sv's verdict as classify made it, relaxed at now by its
// forecast. mu must be held, and sv scored.
func (p *Pool) effective(sv *subView, now time.Time) verdict {
	v := sv.verdict()
	if v.soft {
		v = relax(v, p.sight(sv, now))
	}
	return v
}

// candidate returns what the choice among eligible subscriptions weighs of
// sv, as score and its forecast (Pool.sight) left it.
func (sv *subView) candidate() candidate {
	return candidate{health: sv.health, holding: sv.scoredHolding, weekShare: sv.scoredWeek, week: sv.m.week}
}

// healthInput returns the numbers of sv's health at now, when holding of
// its clients hold a slot and idle says whether none was active lately. mu
// must be held (or sv not yet shared).
func (p *Pool) healthInput(sv *subView, now time.Time, holding int, idle bool) healthInput {
	u := sv.use(now)
	return healthInput{
		weekShare:   u.weekShare,
		blockShare:  u.blockShare,
		blockBudget: sv.rec.BlockBudget.USD(),
		blockHours:  float64(p.cfg.Block.Hours),
		clients:     holding,
		burnRate:    sv.burnRate(now),
		idle:        idle,
	}
}

// idle reports whether none of sv's clients was active within IdleAfter of
// now (Unix nanoseconds).
func (p *Pool) idle(sv *subView, now int64) bool {
	return now-sv.active.Load() >= int64(p.cfg.Sessions.IdleAfter)
}

// scoredAt reports whether sv's health, scored earlier, still holds at now,
// when holding of its clients hold a slot: nothing noted since, and time
// alone has not changed the clients holding a slot, the subscription's
// idleness or (with the minute) its burn rate. mu must be held.
func (p *Pool) scoredAt(sv *subView, now int64, holding int) bool {
	return !sv.unscored && sv.pending.Load() == 0 && holding == sv.scoredHolding && p.idle(sv, now) == sv.scoredIdle &&
		minuteOfNanos(now) == sv.scoredMinute
}

// minuteOfNanos is store.MinuteOf of a time in Unix nanoseconds.
func minuteOfNanos(n int64) int64 {
	m := n / int64(time.Minute)
	if n%int64(time.Minute) < 0 {
		m--
	}
	return m
}

// why returns the reason a subscription takes no new client at now, or
// "": over the weekly threshold, it takes them while its week is lapsing.
// mu must be held.
func (p *Pool) why(sv *subView, now time.Time) Reason {
	return refusal(p.effective(sv, now), sv.fullAt(now.UnixNano()), false, false)
}
