package authpool

import (
	"math"
	"slices"
	"time"

	"github.com/authpool/authpool/store"
)

// Selection as pure functions: whether a subscription may keep and take
// clients, which candidate is best, which pair Rebalance moves a client
// between and when a refused client can be served again are functions of a
// subscription's numbers at one instant and of now, and of nothing else.
// The Pool gathers the numbers from its view under its lock (see
// Pool.standing) and calls these; the tests give them numbers.

// standing is a subscription's numbers at one instant: what its verdict and
// its return depend on. The verdict reads the status, the day's cost and
// the use against their budgets; backAt reads the rest besides, which the
// Pool gathers only when it asks when a subscription is back (outlook).
type standing struct {
	status Status
	// dayCost is its spending of the UTC day, which ends at dayEnd: the
	// fallback's budget period (dailyBudget; 0: none).
	dayCost, dailyBudget store.Nanodollars
	dayEnd               time.Time
	// use is its block's and week's use, raised to the upstream's report.
	use                       use
	blockBudget, weeklyBudget store.Nanodollars // 0: none
	blockEnd                  time.Time         // when its block ends
	blockReset, weekReset     time.Time         // when the upstream said its windows reset
	// weekFrees is when enough of its own weekly use leaves the rolling
	// week for it to drop under its weekly budget; zero unless its own count
	// has reached that budget.
	weekFrees time.Time
	// holding of its clients hold a slot, at most maxClients (0: no cap);
	// when it is full, a slot frees up at freesAt.
	holding, maxClients int
	freesAt             time.Time
}

// verdict is whether a subscription may keep its clients and take new ones.
type verdict struct {
	hard Reason // why it cannot keep its clients; "" if it can
	soft bool   // at or above the weekly threshold: new clients only after those below it
	// past is set with a spent block or week (hard) that only the pool's
	// own count says is spent: the upstream has not refused it, nor
	// reported either window at its limit. The budget is an estimate of
	// the plan's limit, and the plan may allow more (see
	// Config.StrictBudgets).
	past bool
}

// verdict returns s's verdict at now, when the weekly threshold is that
// share of the weekly budget. The first reason that applies wins: out of
// service (limited, disabled), the day's, the block's, then the week's
// budget spent.
func (s standing) verdict(now time.Time, threshold float64) verdict {
	switch {
	case s.status.State == Limited && !s.status.InService(now):
		return verdict{hard: ReasonLimited}
	case !s.status.InService(now):
		return verdict{hard: ReasonDisabled}
	case s.dailyBudget > 0 && s.dayCost >= s.dailyBudget:
		return verdict{hard: ReasonDaySpent}
	case s.use.blockShare >= 1:
		return verdict{hard: ReasonBlockSpent, past: s.use.byCountOnly()}
	case s.use.weekShare >= 1:
		return verdict{hard: ReasonWeekSpent, past: s.use.byCountOnly()}
	}
	return verdict{soft: overThreshold(s.use, s.weeklyBudget, threshold)}
}

// overThreshold reports whether a week's use is at or above the weekly
// threshold: the threshold's share of the weekly budget, to the nanodollar,
// as alerts judge their thresholds; without a weekly budget, the reported
// share has reached it.
func overThreshold(u use, weeklyBudget store.Nanodollars, threshold float64) bool {
	if weeklyBudget > 0 {
		return u.week >= thresholdAmount(threshold, weeklyBudget)
	}
	return u.weekShare >= threshold
}

// full reports whether a subscription whose clients hold that many slots
// takes no more: maxClients of them (0: no cap).
func full(holding, maxClients int) bool { return maxClients > 0 && holding >= maxClients }

// refusal is why a subscription takes no new client for a request: its
// verdict's hard reason, the weekly threshold, no slot free, limited for
// the request's model, or tried for it already, in that order; "" if it
// takes one.
func refusal(v verdict, isFull, modelLimited, tried bool) Reason {
	switch {
	case v.hard != "":
		return v.hard
	case v.soft:
		return ReasonWeeklyThreshold
	case isFull:
		return ReasonFull
	case modelLimited:
		return ReasonModelLimited
	case tried:
		return ReasonTried
	}
	return ""
}

// backAt returns when s is expected to take a client again by itself at
// now: the latest end of what keeps it out (a limit, a spent day, block or
// week, the holds of a full one's clients); zero if nothing keeps it out or
// only a person can end it (disabled). It also reports whether that is
// when a full one's holds end.
func (s standing) backAt(now time.Time) (time.Time, bool) {
	if s.status.State == Disabled {
		return time.Time{}, false
	}
	var at time.Time
	later := func(t time.Time) {
		if t.After(at) {
			at = t
		}
	}
	if !s.status.InService(now) {
		later(s.status.Until)
	}
	if s.dailyBudget > 0 && s.dayCost >= s.dailyBudget {
		later(s.dayEnd)
	}
	if s.use.blockShare >= 1 {
		later(s.blockEnd)
		if s.use.blockReported >= 1 {
			later(s.blockReset)
		}
	}
	if s.use.weekShare >= 1 {
		later(s.weekFrees) // back as a last resort once under its budget
		if s.use.weekReported >= 1 {
			later(s.weekReset)
		}
	}
	if full(s.holding, s.maxClients) && s.freesAt.After(at) {
		return s.freesAt, true
	}
	return at, false
}

// foresight is what selection makes of a subscription's weekly forecast
// (see foresee).
type foresight struct {
	// lapsing: its week is forecast to leave at least the margin unused
	// when what is left lapses. Over the weekly threshold it still takes
	// new clients: the threshold relaxes.
	lapsing bool
	// day is the UTC day what is left lapses on (days since 1970-01-01),
	// when lapsing within soonLapse: the week that lapses on an earlier
	// day is spent first (weeks that lapse on the same day, or later, are
	// told apart by health, which keeps their blocks even).
	day int64
}

// soonLapse is how soon a week must lapse with capacity unused to be spent
// before subscriptions whose weeks lapse later or not at all. A forecast
// days ahead, at the burn rate of the hour, says little about the days
// between; within a day it is what decides.
const soonLapse = 24 * time.Hour

// foresee returns what selection makes at now of a week's forecast l for a
// weekly budget, when margin is the share of the budget the week must be
// forecast to leave unused to count as lapsing (negative: the forecast is
// off). A subscription without a weekly budget has no forecast: it is not
// lapsing.
func foresee(l lapse, now time.Time, budget store.Nanodollars, margin float64) foresight {
	if margin < 0 || budget <= 0 {
		return foresight{}
	}
	f := foresight{lapsing: l.left >= margin*budget.USD(), day: math.MaxInt64}
	if f.lapsing && l.at.Sub(now) <= soonLapse {
		f.day = store.HourOf(l.at) / 24
	}
	return f
}

// lapses returns the UTC day f's week lapses on, when it lapses soon; else
// never (the largest day): what better compares.
func (f foresight) lapses() int64 {
	if f.lapsing {
		return f.day
	}
	return math.MaxInt64
}

// relax returns verdict v as the forecast f leaves it: a subscription over
// the weekly threshold whose week is lapsing takes new clients as if it
// were under it.
func relax(v verdict, f foresight) verdict {
	if v.soft && f.lapsing {
		v.soft = false
	}
	return v
}

// shortlisted reports whether a subscription whose week lapses on day
// lapses (foresight.lapses) makes the shortlist of candidates when the
// soonest day of those shortlisted so far is soonest, and whether it
// starts it anew (the others lapse later): what would otherwise be lost is
// spent first. The choice among the shortlist is better's (shortlist).
func shortlisted(lapses, soonest int64) (keep, anew bool) {
	return lapses <= soonest, lapses < soonest
}

// candidate is what the choice among eligible subscriptions weighs, all
// taken at the same now.
type candidate struct {
	health    float64
	holding   int               // clients holding a slot
	weekShare float64           // share of its weekly budget used
	week      store.Nanodollars // its own weekly cost: the last tie-break
}

// better reports whether a should be chosen over b: higher health, then
// fewer clients holding a slot, then the lower share of its weekly budget
// used, then the lower weekly cost (what tells apart subscriptions
// without a weekly budget).
func better(a, b candidate) bool {
	switch {
	case a.health != b.health:
		return a.health > b.health
	case a.holding != b.holding:
		return a.holding < b.holding
	case a.weekShare != b.weekShare:
		return a.weekShare < b.weekShare
	}
	return a.week < b.week
}

// shortlist makes the choice among eligible subscriptions, offered one at
// a time in ID order: of those whose week lapses soonest (shortlisted), the
// better; a later one replaces the best only when strictly better, so ties
// go to the first, the smaller ID.
type shortlist struct {
	i       int       // the best's index; -1: none yet
	c       candidate // the best's
	soonest int64     // the day the shortlist's weeks lapse on
}

// newShortlist returns an empty shortlist.
func newShortlist() shortlist { return shortlist{i: -1, soonest: math.MaxInt64} }

// offer weighs candidate c, of index i, whose week lapses on day lapses
// (foresight.lapses).
func (s *shortlist) offer(i int, lapses int64, c candidate) {
	keep, anew := shortlisted(lapses, s.soonest)
	if keep && (anew || s.i < 0 || better(c, s.c)) {
		s.i, s.c, s.soonest = i, c, lapses
	}
}

// best returns the index of the best candidate offered, -1 if none was.
func (s *shortlist) best() int { return s.i }

// blockRoom is what Rebalance weighs of a subscription: how much its block
// may still spend, and who is on it.
type blockRoom struct {
	room    store.Nanodollars // see roomLeft
	clients int               // its sessions
	drained bool              // no idle client of it is left to move
	takes   bool              // it takes a new client (refusal "")
}

// unbudgeted is the room of a block without a budget, less its cost: more
// than any budgeted block has.
const unbudgeted = store.Nanodollars(1) << 60

// roomLeft returns how much a block that cost used may still spend: its
// budget less that, or unbudgeted less that without a budget.
func roomLeft(used, budget store.Nanodollars) store.Nanodollars {
	if budget > 0 {
		return budget - used
	}
	return unbudgeted - used
}

// pairFor returns the pair Rebalance moves an idle client between: from
// the subscription with clients, not drained, whose block has the least
// room, to the one that takes new clients whose block has the most (ties:
// fewer clients, then the first). It reports false when there is no such
// pair of two subscriptions.
func pairFor(rs []blockRoom) (from, to int, ok bool) {
	from, to = -1, -1
	for i, r := range rs {
		if r.clients > 0 && !r.drained && (from < 0 || r.room < rs[from].room) {
			from = i
		}
		if r.takes && (to < 0 || r.room > rs[to].room || r.room == rs[to].room && r.clients < rs[to].clients) {
			to = i
		}
	}
	if from < 0 || to < 0 || from == to {
		return -1, -1, false
	}
	return from, to, true
}

// tier is a class of places a client may go, tried in order (see tiers).
type tier uint8

const (
	tierEligible tier = iota // healthiest eligible subscription
	tierFallback             // the fallback
	tierReserve              // over the weekly threshold, budgets not spent
	tierPast                 // a budget spent by the pool's own count only (verdict.past)
)

// tiers returns the order in which places are tried for a client: the
// eligible subscriptions, then those over the weekly threshold, then those
// past a budget by the pool's count only (unless budgets are strict), and
// only then the fallback, which costs money while unused prepaid capacity
// lapses; with fallbackFirst, the fallback comes right after the eligible
// ones.
func tiers(fallbackFirst, strict bool) []tier {
	ts := []tier{tierEligible, tierReserve, tierPast, tierFallback}
	if fallbackFirst {
		ts = []tier{tierEligible, tierFallback, tierReserve, tierPast}
	}
	if strict {
		ts = slices.DeleteFunc(ts, func(t tier) bool { return t == tierPast })
	}
	return ts
}

// admits reports whether a subscription of verdict v (relaxed by its
// forecast; full or not, limited for the request's model or not, tried for
// the request already or not) is a candidate of tier t: for tierEligible,
// one that refuses the client nothing; for tierReserve, one whose only
// refusal is the weekly threshold; for tierPast, one whose only refusal is
// a budget spent by the pool's own count; for tierFallback, the fallback
// while in service and its budget lasts, whose clients are not capped.
func admits(t tier, v verdict, isFull, modelLimited, tried bool) bool {
	if modelLimited || tried {
		return false
	}
	switch t {
	case tierFallback:
		return v.hard == ""
	case tierReserve:
		return v.hard == "" && v.soft && !isFull
	case tierPast:
		return v.past && !isFull
	}
	return v.hard == "" && !v.soft && !isFull // refusal(v, isFull, modelLimited, tried) == ""
}
