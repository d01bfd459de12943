package authpool

import (
	"math"
	"time"

	"github.com/authpool/authpool/store"
)

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
	const week = store.WeekHours * float64(time.Hour)
	perNano := rate * 1e9 / float64(time.Hour) // nanodollars a nanosecond
	if rate <= 0 || float64(used)+perNano*week < float64(budget) {
		return time.Time{} // even if nothing left the week, a week of this rate would not fill it
	}
	h := store.HourOf(now)
	recorded := ring.sum(h-store.WeekHours+1, h+1)
	var reported store.Nanodollars // the upstream's report, when it raised the week's use
	if used > recorded {
		reported = used
	}
	resetAt := int64(math.MaxInt64) // when the report leaves; never without one
	if reported > 0 && !reportReset.IsZero() {
		resetAt = reportReset.UnixNano()
	}
	// The week's spending at a time t in the k-th hour from now's is its
	// spending at now, less the hours that left it by then, plus what the
	// burn rate adds from now: it rises within a span and drops where a
	// span begins (an hour's start, the report's reset), so each span is
	// searched from its start. Times are Unix nanoseconds.
	nowN := now.UnixNano()
	end := nowN + int64(week)
	left := recorded
	for k := int64(0); k <= store.WeekHours; k++ {
		from, to := nowN, min(store.HourStart(h+k+1).UnixNano(), end)
		if k > 0 {
			left -= ring.at(h + k - store.WeekHours) // the hour that leaves the week as hour h+k begins
			from = store.HourStart(h + k).UnixNano()
		}
		for from < to {
			spanEnd, base := to, left
			if from < resetAt {
				spanEnd, base = min(to, resetAt), max(left, reported)
			}
			if base >= budget {
				return now.Add(time.Duration(from - nowN))
			}
			wait := float64(budget-base) / perNano // nanoseconds from now
			if wait < float64(spanEnd-nowN) {
				return now.Add(time.Duration(max(int64(wait), from-nowN)))
			}
			from = spanEnd
		}
	}
	return time.Time{}
}

// lapse is what the forecast makes of a subscription's week at one
// instant: how much of its weekly budget would be left unused when what is
// left of it lapses, and when that is.
type lapse struct {
	// left is the weekly budget less the highest the week's use is
	// projected to reach before at, in USD: what would lapse unused. It is
	// negative when the week is projected to run out first.
	left float64
	// at is when it lapses: the last instant the projection is at its
	// highest, no later than the week's reset (see weekLapse).
	at time.Time
}

// weekLapse returns the forecast of a subscription's week at now, when
// spending goes on at rate (USD per hour): the week's use at a later time t
// is its use at now, less the spending that has left the rolling week by t
// (the week is the 168 hours ending with the current one), plus rate times
// t - now. The projection runs to the week's reset: the upstream's
// (reportReset, while it is ahead and within a week), else a week from now,
// by when everything spent now has left. recorded is the spending in ring
// of the week ending with now's hour, and used the week's use at now, the
// upstream's report included (see weekExhaustion, whose model this is);
// budget must be positive.
//
// Prepaid capacity lapses where the projection peaks: at the reset, or
// where the spending leaving the week outpaces the rate. What the budget
// has above that peak would lapse unused, however it is spent in between.
func weekLapse(ring *hourly, now time.Time, recorded, used, budget store.Nanodollars, rate float64, reportReset time.Time) lapse {
	const week = store.WeekHours * time.Hour
	end := now.Add(week)
	if reportReset.After(now) && reportReset.Before(end) {
		end = reportReset
	}
	perNano := max(rate, 0) * 1e9 / float64(time.Hour) // nanodollars a nanosecond
	h := store.HourOf(now)
	var reported store.Nanodollars // the upstream's report, when it raised the week's use
	if used > recorded {
		reported = used
	}
	nowN, endN := now.UnixNano(), end.UnixNano()
	if recorded == 0 {
		// Nothing leaves: the projection rises (or stays) until the end.
		return lapse{left: (budget - used).USD() - perNano*float64(endN-nowN)/1e9, at: end}
	}
	resetAt := int64(math.MaxInt64) // when the report leaves; never without one
	if reported > 0 && !reportReset.IsZero() {
		resetAt = reportReset.UnixNano()
	}
	peak, at := float64(used), nowN
	left := recorded
	for k := int64(0); ; k++ {
		from, to := nowN, min(store.HourStart(h+k+1).UnixNano(), endN)
		if k > 0 {
			left -= ring.at(h + k - store.WeekHours) // the hour that leaves the week as hour h+k begins
			from = store.HourStart(h + k).UnixNano()
		}
		if from >= endN {
			break
		}
		for from < to {
			spanEnd, base := to, left
			if from < resetAt {
				spanEnd, base = min(to, resetAt), max(left, reported)
			}
			// The projection rises within a span: its highest is at the end.
			if v := float64(base) + perNano*float64(spanEnd-nowN); v >= peak {
				peak, at = v, spanEnd
			}
			from = spanEnd
		}
		// What is left can only fall: past the point where even the
		// rate until the end cannot lift it to the peak, nothing changes.
		if float64(max(left, reported))+perNano*float64(endN-nowN) < peak {
			break
		}
	}
	return lapse{left: (float64(budget) - peak) / 1e9, at: time.Unix(0, at).UTC()}
}
