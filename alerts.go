package authpool

import (
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

// alertMark is what a pool has reported of one subscription, so that it
// reports each threshold once per window and a recovery once per limit.
// Pools sharing a store agree through Store.Claim.
type alertMark struct {
	block      int64 // hour the block started, for blockLevel
	blockLevel int   // thresholds of that block reported
	weekLevel  int   // thresholds of the rolling week reported (falls as use leaves the week)
	day        int64 // first hour of the UTC day, for dayLevel
	dayLevel   int
	limitUntil time.Time // the end of a limit this pool saw, to report its recovery
}

// Windows a threshold event names.
const (
	windowBlock = "block"
	windowWeek  = "week"
	windowDay   = "day"
)

// thresholdAmount is the spending at which threshold t of budget is
// crossed, in whole nanodollars: what both watch and room compare against.
func thresholdAmount(t float64, budget store.Nanodollars) store.Nanodollars {
	return store.Nanodollars(math.Round(t * float64(budget)))
}

// level returns how many thresholds used has reached.
func (p *Pool) level(used, budget store.Nanodollars) int {
	n := 0
	for _, t := range p.cfg.Notify.Thresholds {
		if used >= thresholdAmount(t, budget) {
			n++
		}
	}
	return n
}

// nextAlert returns how much more may be spent before the next threshold
// of budget is crossed; math.MaxInt64 past the last one or without a budget.
func (p *Pool) nextAlert(used, budget store.Nanodollars) int64 {
	if budget <= 0 {
		return math.MaxInt64
	}
	for _, t := range p.cfg.Notify.Thresholds {
		if a := thresholdAmount(t, budget); used < a {
			return int64(a - used)
		}
	}
	return math.MaxInt64
}

// watch reports what changed about a subscription since the pool last
// looked: thresholds its block, week or day crossed, and the end of a limit
// it saw. mu must be held; emitting does not block.
func (p *Pool) watch(sv *subView, now time.Time) {
	if p.notes == nil {
		return
	}
	rec := &sv.rec
	mark := p.alerts[rec.ID]
	if mark == nil {
		mark = &alertMark{}
		p.alerts[rec.ID] = mark
	}
	rate := sv.burnRate(now)
	u := sv.use(now)
	if rec.BlockBudget > 0 && sv.m.blockActive {
		if mark.block != sv.m.blockFrom {
			mark.block, mark.blockLevel = sv.m.blockFrom, 0
		}
		mark.blockLevel = p.crossed(sv, windowBlock, sv.m.block, u.block, rec.BlockBudget, mark.blockLevel, now, rate,
			func() time.Time { return exhaustion(now, u.block, rec.BlockBudget, rate, sv.m.block.End) })
	}
	if rec.WeeklyBudget > 0 {
		mark.weekLevel = p.crossed(sv, windowWeek, weekWindow(now), u.week, rec.WeeklyBudget, mark.weekLevel, now, rate,
			func() time.Time {
				return weekExhaustion(sv.ring, now, u.week, rec.WeeklyBudget, rate, rec.Reported.WeekReset)
			})
	}
	if rec.DailyBudget > 0 {
		if mark.day != sv.m.dayFrom {
			mark.day, mark.dayLevel = sv.m.dayFrom, 0
		}
		mark.dayLevel = p.crossed(sv, windowDay, dayWindow(now), sv.m.day, rec.DailyBudget, mark.dayLevel, now, rate,
			func() time.Time { return exhaustion(now, sv.m.day, rec.DailyBudget, rate, dayWindow(now).End) })
	}
	switch st := rec.Status; {
	case !st.InService(now) && st.State == Limited:
		mark.limitUntil = st.Until
	case st.InService(now) && !mark.limitUntil.IsZero():
		until := mark.limitUntil
		mark.limitUntil = time.Time{}
		key := fmt.Sprintf("recovered/%s/%d", rec.ID, until.Unix())
		p.notes.emit(outgoing{claim: key, until: now.Add(24 * time.Hour), ev: Event{
			ID: eventID(key), Type: EventRecovered, Time: now, SubscriptionID: rec.ID,
			Limit: &Status{State: Limited, Until: until},
		}})
	}
}

// crossed reports the thresholds of a window's budget reached since the
// reported level, and returns the new level; exhausts says when the budget
// runs out at the burn rate. A level that fell (usage left the rolling
// week) is lowered, so the threshold may be reported again later; the claim
// keeps that to once a week.
func (p *Pool) crossed(sv *subView, window string, w span, used, budget store.Nanodollars, reported int, now time.Time, rate float64,
	exhausts func() time.Time) int {
	lvl := p.level(used, budget)
	var exhaustsAt time.Time
	if lvl > reported {
		exhaustsAt = exhausts()
	}
	for i := reported; i < lvl; i++ {
		t := p.cfg.Notify.Thresholds[i]
		key := fmt.Sprintf("threshold/%s/%s/%d/%g", sv.rec.ID, window, w.Start.Unix(), t)
		until := w.End
		if window == windowWeek { // rolling, without an end: once a week per threshold
			key = fmt.Sprintf("threshold/%s/%s/%g", sv.rec.ID, window, t)
			until = now.Add(store.WeekHours * time.Hour)
		}
		p.notes.emit(outgoing{claim: key, until: until, ev: Event{
			ID: eventID(key), Type: EventThreshold, Time: now, SubscriptionID: sv.rec.ID,
			Threshold: &ThresholdDetail{
				Window: window, Start: w.Start, End: w.End, Threshold: t,
				UsedUSD: used.USD(), BudgetUSD: budget.USD(), Percent: 100 * used.USD() / budget.USD(),
				BurnRateUSDPerHour: rate, ExhaustsAt: exhaustsAt,
			},
		}})
	}
	return lvl
}

// emitMove reports a failover or a rotation.
func (p *Pool) emitMove(t EventType, now time.Time, m Move) {
	if p.notes == nil {
		return
	}
	p.notes.emit(outgoing{ev: Event{
		ID: p.eventIDs.next(), Type: t, Time: now, SubscriptionID: m.To, ClientID: m.ClientID, Move: &m,
	}})
}

// emitLimited reports a subscription taken out of service.
func (p *Pool) emitLimited(now time.Time, id string, st Status) {
	if p.notes == nil {
		return
	}
	key := fmt.Sprintf("limited/%s/%d", id, st.Until.Unix())
	p.notes.emit(outgoing{claim: key, until: st.Until, ev: Event{
		ID: eventID(key), Type: EventLimited, Time: now, SubscriptionID: id,
		Limit: &st,
	}})
}

// emitExhausted reports a refused client, at most once until the first
// subscription is expected back; once an hour when none is, or when the
// first back is a full one (byCapacity): its clients' holds, and so
// RetryAt, move on while they work. It reports whether this exhaustion is
// new, reported or not (the pool logs the others at debug level).
func (p *Pool) emitExhausted(now time.Time, e *ExhaustedError, byCapacity bool) bool {
	key, until := fmt.Sprintf("exhausted/%d", e.RetryAt.Unix()), e.RetryAt
	if hour := store.HourOf(now); e.RetryAt.IsZero() {
		key, until = fmt.Sprintf("exhausted/none/%d", hour), store.HourStart(hour+1)
	} else if byCapacity {
		key, until = fmt.Sprintf("exhausted/full/%d", hour), store.HourStart(hour+1)
	}
	p.mu.Lock()
	seen := p.exhaustedKey == key
	p.exhaustedKey = key
	p.mu.Unlock()
	if seen || p.notes == nil {
		return !seen // reported already: spare the queue
	}
	p.notes.emit(outgoing{claim: key, until: until, ev: Event{
		ID: eventID(key), Type: EventExhausted, Time: now, ClientID: e.ClientID,
		Exhausted: e,
	}})
	return true
}
