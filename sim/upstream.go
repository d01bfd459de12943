package sim

import (
	"math/rand/v2"
	"time"

	"github.com/authpool/authpool"
)

// Plan is a subscription's plan as the simulated upstream enforces it: the
// use a 5-hour window and a week allow, in dollars of API-priced tokens.
type Plan struct {
	Kind          authpool.Kind
	BlockLimitUSD float64
	WeekLimitUSD  float64
}

// MaxPlan returns a Claude Max 20x plan with the limits this repository's
// example configuration gives it ($140 a 5-hour block, $1,000 a week).
// Anthropic does not publish its limits in dollars; these are the working
// figures the documentation's examples use.
func MaxPlan() Plan {
	return Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 140, WeekLimitUSD: 1000}
}

// upstream is one subscription as Anthropic sees it: its own 5-hour window,
// which starts at the first request after the last one ended (floored to the
// hour), and its own week, which starts at its first request. A request is
// refused (a 429) once the window's or the week's use has reached its limit,
// until that window ends; the request that crosses a limit is served.
//
// A window's limit (a block's, a week's) is the plan's, times a factor drawn uniformly in
// [1-noise, 1+noise] for each window: real limits are not exact dollar
// amounts (they depend on the model mix and on Anthropic's load), so the
// pool's configured budget is only an estimate of them. The factor depends
// only on the seed, the subscription and the window's start, so every policy
// meets the same limits.
type upstream struct {
	plan  Plan
	noise float64
	seed  uint64
	index uint64

	blockStart, blockEnd time.Time
	blockLimit, blockUse float64
	weekEnd              time.Time
	weekLimit, weekUse   float64

	// lapsedUSD sums what each week that ended left of its limit unused;
	// idleSince is when the last week ended (zero: none has).
	lapsedUSD float64
	idleSince time.Time
}

// roll ends the windows that ended by t; the next request starts new ones.
func (u *upstream) roll(t time.Time) {
	if !t.Before(u.blockEnd) {
		u.blockStart, u.blockEnd, u.blockUse = time.Time{}, time.Time{}, 0
	}
	if !u.weekEnd.IsZero() && !t.Before(u.weekEnd) {
		u.lapsedUSD += max(u.weekLimit-u.weekUse, 0)
		u.idleSince = u.weekEnd
		u.weekEnd, u.weekUse = time.Time{}, 0
	}
}

// blockShare is the share of its 5-hour window's limit the subscription has
// used at t (0 outside a window).
func (u *upstream) blockShare(t time.Time) float64 {
	u.roll(t)
	if u.blockEnd.IsZero() || u.blockLimit == 0 {
		return 0
	}
	return u.blockUse / u.blockLimit
}

// unusedUSD is the prepaid capacity the subscription left unused by end, a
// run's end: what each week that ended left of its limit, and what the week
// still running at end has left (as if it reset then: in a run of a week,
// every week that started is all but over). A subscription without a week
// running at end counts the plan's weekly limit for the time since its last
// week ended, or since start if it never served, as a share of a week (at
// most one).
func (u *upstream) unusedUSD(start, end time.Time) float64 {
	u.roll(end)
	lapsed := u.lapsedUSD
	switch {
	case !u.weekEnd.IsZero():
		lapsed += max(u.weekLimit-u.weekUse, 0)
	default:
		since := start
		if !u.idleSince.IsZero() {
			since = u.idleSince
		}
		lapsed += u.plan.WeekLimitUSD * min(end.Sub(since).Hours()/(7*24), 1)
	}
	return lapsed
}

// refuse returns whether the upstream answers a request at t with a 429,
// and when the spent window ends.
func (u *upstream) refuse(t time.Time) (bool, time.Time, string) {
	u.roll(t)
	switch {
	case !u.weekEnd.IsZero() && u.weekUse >= u.weekLimit:
		return true, u.weekEnd, "weekly limit reached"
	case !u.blockEnd.IsZero() && u.blockUse >= u.blockLimit:
		return true, u.blockEnd, "5-hour limit reached"
	}
	return false, time.Time{}, ""
}

// serve counts a request of cost usd at t, starting windows as needed.
func (u *upstream) serve(t time.Time, usd float64) {
	u.roll(t)
	if u.blockEnd.IsZero() {
		u.blockStart = t.Truncate(time.Hour)
		u.blockEnd = u.blockStart.Add(5 * time.Hour)
		u.blockLimit = u.plan.BlockLimitUSD * u.factor(0, u.blockStart)
	}
	if u.weekEnd.IsZero() {
		u.weekEnd = t.Add(7 * 24 * time.Hour)
		u.weekLimit = u.plan.WeekLimitUSD * u.factor(1, t)
	}
	u.blockUse += usd
	u.weekUse += usd
}

// factor is the limit's factor for the window (0: a block, 1: a week)
// starting at start.
func (u *upstream) factor(window uint64, start time.Time) float64 {
	if u.noise == 0 {
		return 1
	}
	r := rand.New(rand.NewPCG(u.seed^window<<62^0x11317, u.index<<40^uint64(start.Unix())))
	return 1 - u.noise + 2*u.noise*r.Float64()
}

// fallbackKey is the fallback API key as Anthropic sees it: a spending cap
// per UTC day (the pool's Fallback.DailyBudgetUSD, which an operator also
// sets as the key's spend limit). Past the cap it refuses requests until
// the day ends; the request that crosses the cap is served.
type fallbackKey struct {
	dailyUSD float64
	day      time.Time
	spentUSD float64
}

// refuse says whether the key refuses a request at t: its day's spending
// has reached the cap.
func (f *fallbackKey) refuse(t time.Time) bool {
	if day := t.UTC().Truncate(24 * time.Hour); !day.Equal(f.day) {
		f.day, f.spentUSD = day, 0
	}
	return f.spentUSD >= f.dailyUSD
}

// serve counts a request of cost usd at t.
func (f *fallbackKey) serve(t time.Time, usd float64) {
	f.refuse(t)
	f.spentUSD += usd
}
