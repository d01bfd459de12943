package authpool

import (
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

// Forecast says whether a window's budget runs out if spending goes on at
// the burn rate (the spending of the last 60 minutes, per hour).
type Forecast string

// The forecasts of a window (UsageWindow.Forecast). A window without a
// budget has none ("").
const (
	// ForecastSpent: the budget is spent; UsageWindow.ExhaustsAt is the
	// snapshot's time.
	ForecastSpent Forecast = "spent"
	// ForecastRunsOut: at the burn rate the budget runs out at
	// UsageWindow.ExhaustsAt, within the window.
	ForecastRunsOut Forecast = "runs out"
	// ForecastNotAtThisRate: at the burn rate the budget does not run out:
	// not before a block or a day ends, and for the rolling week not at
	// all, because the week's oldest spending leaves it faster than the
	// burn rate adds (or the rate is zero). ExhaustsAt is zero.
	ForecastNotAtThisRate Forecast = "not at this rate"
)

// forecastOf says what an exhaustion time at now means for a window with
// budget.
func forecastOf(exhaustsAt, now time.Time, budget store.Nanodollars) Forecast {
	switch {
	case budget <= 0:
		return ""
	case exhaustsAt.IsZero():
		return ForecastNotAtThisRate
	case !exhaustsAt.After(now):
		return ForecastSpent
	}
	return ForecastRunsOut
}

// exhaustion returns when spending at rate (USD per hour) uses up what is
// left of budget, if that happens before end; zero otherwise. A budget
// already spent is exhausted at now. It suits a window that ends (a block,
// a day): what was spent in it stays until its end.
func exhaustion(now time.Time, used, budget store.Nanodollars, rate float64, end time.Time) time.Time {
	if budget <= 0 {
		return time.Time{}
	}
	left := (budget - used).USD()
	if left <= 0 {
		return now
	}
	if rate <= 0 {
		return time.Time{}
	}
	hours := left / rate
	if hours > float64(math.MaxInt64)/float64(time.Hour) {
		return time.Time{}
	}
	t := now.Add(time.Duration(hours * float64(time.Hour)))
	if !end.IsZero() && !t.Before(end) {
		return time.Time{}
	}
	return t
}

// weekExhaustion returns when the rolling week's spending reaches budget if
// spending goes on at rate (USD per hour) from now, while the week's
// spending in ring leaves it hour by hour (the week is the 168 hours ending
// with the current one); zero if it never does. used is the week's use at
// now: the spending in ring, or more when the upstream reported more (see
// Pool.Observe), in which case the reported amount stays until
// reportReset. A budget already spent is exhausted at now.
//
// Within 168 hours of now all of today's spending has left the week, and
// from then on the week holds 168 hours of the burn rate; so if the budget
// is not reached by then, it never is at this rate.
func weekExhaustion(ring *hourly, now time.Time, used, budget store.Nanodollars, rate float64, reportReset time.Time) time.Time {
	if budget <= 0 {
		return time.Time{}
	}
	if used >= budget {
		return now
	}
	if rate <= 0 {
		return time.Time{} // what is spent can only leave
	}
	h := store.HourOf(now)
	recorded := ring.sum(h-store.WeekHours+1, h+1)
	var reported store.Nanodollars // the upstream's report, when it raised the week's use
	if used > recorded {
		reported = used
	}
	perNano := rate * 1e9 / float64(time.Hour) // nanodollars a nanosecond
	// The week's spending at a time in the k-th hour from now's is its
	// spending at now, less the hours that left it by then, plus what the
	// burn rate adds from now: it rises within an hour and drops at each
	// hour's start (and at the report's reset), so each span is searched
	// from its start.
	left := recorded
	end := now.Add(store.WeekHours * time.Hour)
	for k := int64(0); k <= store.WeekHours; k++ {
		from, to := now, minTime(store.HourStart(h+k+1), end)
		if k > 0 {
			left -= ring.at(h + k - store.WeekHours) // the hour that leaves the week as hour h+k begins
			from = store.HourStart(h + k)
		}
		for _, span := range splitAt(from, to, reportReset) {
			base := left
			if span[0].Before(reportReset) {
				base = max(base, reported)
			}
			if base >= budget {
				return span[0]
			}
			wait := float64(budget-base) / perNano // nanoseconds from now
			if wait < float64(span[1].Sub(now)) {
				return maxTime(now.Add(time.Duration(wait)), span[0])
			}
		}
	}
	return time.Time{}
}

// splitAt splits [from, to) at t when t falls inside it.
func splitAt(from, to, t time.Time) [][2]time.Time {
	if t.After(from) && t.Before(to) {
		return [][2]time.Time{{from, t}, {t, to}}
	}
	return [][2]time.Time{{from, to}}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
