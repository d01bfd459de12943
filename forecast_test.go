package authpool

import (
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

func TestExhaustion(t *testing.T) {
	now := at(0, 12, 0, 0)
	usd := func(v float64) store.Nanodollars { n, _ := store.FromUSD(v); return n }
	tests := []struct {
		name         string
		used, budget float64
		rate         float64
		end          time.Time
		want         time.Time
	}{
		{"no budget: never", 50, 0, 100, time.Time{}, time.Time{}},
		{"a spent budget: now", 100, 100, 0, time.Time{}, now},
		{"an overspent budget: now", 150, 100, 10, at(0, 13, 0, 0), now},
		{"no spending: never", 10, 100, 0, time.Time{}, time.Time{}},
		{"what is left at the rate, without an end", 40, 100, 20, time.Time{}, at(0, 15, 0, 0)},
		{"before the window ends", 70, 100, 20, at(0, 15, 0, 0), at(0, 13, 30, 0)},
		{"exactly at the window's end: never", 40, 100, 20, at(0, 15, 0, 0), time.Time{}},
		{"after the window ends: never", 0, 100, 20, at(0, 15, 0, 0), time.Time{}},
		{"so slow it would overflow: never", 0, 1000, 1e-300, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exhaustion(now, usd(tt.used), usd(tt.budget), tt.rate, tt.end)
			if !got.Equal(tt.want) {
				t.Errorf("exhaustion(used %v, budget %v, rate %v, end %v) = %v, want %v",
					tt.used, tt.budget, tt.rate, tt.end, got, tt.want)
			}
		})
	}
}

// TestWeekExhaustion checks when a rolling week's budget runs out at a burn
// rate, as its older spending leaves it hour by hour.
func TestWeekExhaustion(t *testing.T) {
	now := at(0, 12, 0, 0)
	h := store.HourOf(now)
	// spent returns an hour's spending that leaves the week in d (its hour
	// is WeekHours before the hour that begins then).
	type spending struct {
		leaves time.Duration // from now's hour's start; 0: spent in now's hour, leaving in a week
		usd    float64
	}
	tests := []struct {
		name     string
		spent    []spending
		budget   float64
		rate     float64 // USD per hour
		reported float64 // the upstream's report, in USD; 0: none
		reset    time.Time
		want     time.Time
	}{
		{"no budget: never", []spending{{0, 10}}, 0, 10, 0, time.Time{}, time.Time{}},
		{"spent: now", []spending{{0, 100}}, 100, 0, 0, time.Time{}, now},
		{"no spending: never", []spending{{0, 10}}, 100, 0, 0, time.Time{}, time.Time{}},
		{"nothing leaves before it runs out: what is left at the rate",
			[]spending{{0, 10}, {100 * time.Hour, 50}}, 100, 10, 0, time.Time{}, at(0, 16, 0, 0)},
		{"the oldest spending leaves first: it runs out later",
			// $60 leaves at 14:00: $30 left at $10 an hour would be 15:00,
			// but from 14:00 the week holds $30, and $70 more takes 7 hours.
			[]spending{{0, 10}, {2 * time.Hour, 60}}, 100, 10, 0, time.Time{}, at(0, 21, 0, 0)},
		{"a rate too slow to fill the week before the spending leaves: never",
			// $10 spent, $0.05 an hour: $8.40 a week at most, far below $100
			// (an unbounded forecast said 75 days).
			[]spending{{72 * time.Hour, 10}}, 100, 0.05, 0, time.Time{}, time.Time{}},
		{"a week of the rate alone reaches the budget: within a week",
			// Everything leaves within the day; $1 an hour fills $100 in
			// 100 hours, from now on.
			[]spending{{5 * time.Hour, 90}}, 100, 1, 0, time.Time{}, now.Add(100 * time.Hour)},
		{"a week of the rate falls short: never", []spending{{5 * time.Hour, 90}}, 200, 1, 0, time.Time{}, time.Time{}},
		{"a report above the record stays until its reset, then leaves",
			// The upstream reports $95 of use until 13:00; the $10 recorded
			// stays the week. At $10 an hour: $5 left, 30 minutes.
			[]spending{{0, 10}}, 100, 10, 95, at(0, 13, 0, 0), at(0, 12, 30, 0)},
		{"a report that resets before it runs out",
			// $95 reported until 12:15; after, the week holds the $10
			// recorded plus $2.50 of burn: $87.50 more takes 8h45m.
			[]spending{{0, 10}}, 100, 10, 95, at(0, 12, 15, 0), at(0, 21, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r hourly
			var used store.Nanodollars
			for _, s := range tt.spent {
				c, _ := store.FromUSD(s.usd)
				hour := h
				if s.leaves > 0 {
					hour = h + int64(s.leaves/time.Hour) - store.WeekHours
				}
				r.add(hour, c)
				used += c
			}
			if rep, _ := store.FromUSD(tt.reported); rep > used {
				used = rep
			}
			budget, _ := store.FromUSD(tt.budget)
			got := weekExhaustion(&r, now, used, budget, tt.rate, tt.reset)
			if !got.Equal(tt.want) {
				t.Errorf("weekExhaustion = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWeekLapse checks the forecast of a week: how much of its budget the
// projection at a burn rate leaves unused where it peaks, and when.
func TestWeekLapse(t *testing.T) {
	now := at(0, 12, 0, 0)
	h := store.HourOf(now)
	week := store.WeekHours * time.Hour
	type spending struct {
		leaves time.Duration // from now's hour's start; 0: spent in now's hour, leaving in a week
		usd    float64
	}
	tests := []struct {
		name     string
		spent    []spending
		rate     float64 // USD per hour
		reported float64 // the upstream's report, in USD; 0: none
		reset    time.Time
		want     lapse // of a $1,000 budget
	}{
		{"nothing spent, no burn: all of it lapses a week from now", nil, 0, 0, time.Time{}, lapse{left: 1000, at: now.Add(week)}},
		{"nothing spent, $5 an hour for a week: $160 lapses", nil, 5, 0, time.Time{}, lapse{left: 160, at: now.Add(week)}},
		{"the upstream's reset is the horizon: $900 used, $2 an hour for 30 hours",
			nil, 2, 900, now.Add(30 * time.Hour), lapse{left: 40, at: now.Add(30 * time.Hour)}},
		{"a reset more than a week away: the rolling week's horizon",
			nil, 0, 500, now.Add(8 * 24 * time.Hour), lapse{left: 500, at: now.Add(week)}},
		{"no burn: the use stays until the first spending leaves",
			[]spending{{30 * time.Hour, 600}, {50 * time.Hour, 200}}, 0, 0, time.Time{}, lapse{left: 200, at: at(1, 18, 0, 0)}},
		{"the spending leaving outpaces the burn: the peak is before it leaves",
			// $850 leaves at 18:00 tomorrow; $3 an hour adds $90 by then.
			[]spending{{30 * time.Hour, 850}}, 3, 0, time.Time{}, lapse{left: 60, at: at(1, 18, 0, 0)}},
		{"a burn that outpaces what leaves peaks later",
			// $100 leaves in 2 hours and $100 more in 4: at $80 an hour the
			// week rises past both, up to a week from now: 200 + 80·168 − 200.
			[]spending{{2 * time.Hour, 100}, {4 * time.Hour, 100}}, 80, 0, time.Time{},
			lapse{left: 1000 - 80*168, at: now.Add(week)}},
		{"forecast to run out: negative",
			[]spending{{0, 900}}, 10, 0, time.Time{}, lapse{left: 1000 - 900 - 10*168, at: now.Add(week)}},
		{"a report above the record until its reset, then the record",
			// $950 reported until 14:00, $100 recorded, $1 an hour: 952 at
			// 14:00, then 100 + 168 at a week.
			[]spending{{0, 100}}, 1, 950, at(0, 14, 0, 0), lapse{left: 48, at: at(0, 14, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r hourly
			var recorded store.Nanodollars
			for _, s := range tt.spent {
				c, _ := store.FromUSD(s.usd)
				hour := h
				if s.leaves > 0 {
					hour = h + int64(s.leaves/time.Hour) - store.WeekHours
				}
				r.add(hour, c)
				recorded += c
			}
			used := recorded
			if rep, _ := store.FromUSD(tt.reported); rep > used {
				used = rep
			}
			got := weekLapse(&r, now, recorded, used, usd(1000), tt.rate, tt.reset)
			if math.Abs(got.left-tt.want.left) > 1e-6 || !got.at.Equal(tt.want.at) {
				t.Errorf("weekLapse = $%.6f at %v, want $%.6f at %v", got.left, got.at, tt.want.left, tt.want.at)
			}
		})
	}
}
