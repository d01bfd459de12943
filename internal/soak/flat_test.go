package soak

import (
	"fmt"
	"testing"
)

// flatness is the rule a series of samples must keep once the load has
// warmed up: split in thirds, the last third's maximum is at most the
// first third's maximum times Factor, plus Slack.
//
// Maxima, not means: a leak raises the envelope, while the garbage
// collector's timing, the usage IDs' keys expiring in lumps and an outage's
// aftermath move single samples. The factor bounds growth relative to the
// level (20 %), the slack keeps a small level's noise (a few goroutines,
// a few MiB) from failing it. A steady leak of r per second over a
// measured window of T seconds raises the last third's maximum about
// 2T/3·r above the first's, so it is caught once r > (0.2·level +
// Slack) / (2T/3).
type flatness struct {
	Factor, Slack float64
}

// check returns the first and last thirds' maxima and whether the series
// keeps the rule; a series of fewer than 6 samples keeps it trivially (too
// short to judge) and says so.
func (f flatness) check(series []float64) (first, last float64, ok bool, why string) {
	n := len(series)
	if n < 6 {
		return 0, 0, true, fmt.Sprintf("%d samples: too few to judge", n)
	}
	first, last = maxOf(series[:n/3]), maxOf(series[n-n/3:])
	limit := first*f.Factor + f.Slack
	if last > limit {
		return first, last, false, fmt.Sprintf("last third's max %.0f > first third's max %.0f × %.2f + %.0f = %.0f",
			last, first, f.Factor, f.Slack, limit)
	}
	return first, last, true, fmt.Sprintf("last third's max %.0f ≤ %.0f × %.2f + %.0f = %.0f",
		last, first, f.Factor, f.Slack, limit)
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}

// TestFlatness specifies the rule the soak test judges its samples by.
func TestFlatness(t *testing.T) {
	t.Parallel()
	rule := flatness{Factor: 1.2, Slack: 10}
	ramp := func(from, step float64, n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = from + step*float64(i)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		series []float64
		want   bool
	}{
		{"constant", ramp(100, 0, 30), true},
		{"noise within the factor", []float64{100, 110, 95, 105, 118, 99, 102, 120, 97, 110, 115, 100}, true},
		{"small level, noise within the slack", []float64{2, 9, 3, 12, 4, 2, 8, 15, 3}, true},
		{"a spike in the first third only", []float64{100, 300, 100, 100, 100, 100, 100, 100, 100}, true},
		{"steady leak", ramp(100, 3, 30), false},
		{"step up in the last third", append(ramp(100, 0, 20), 150, 150, 150, 150, 150, 150, 150, 150, 150, 150), false},
		{"one spike in the last third", []float64{100, 100, 100, 100, 100, 100, 100, 100, 200}, false},
		{"too short to judge", []float64{1, 100, 1000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, last, ok, why := rule.check(tc.series)
			if ok != tc.want {
				t.Errorf("check(%v) = %v (first %v, last %v: %s), want %v", tc.series, ok, first, last, why, tc.want)
			}
		})
	}
}
