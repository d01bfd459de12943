package authpool

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// at returns the time on 2026-11-26 (UTC) at hh:mm:ss, or on a later day
// with day > 0.
func at(day, hh, mm, ss int) time.Time {
	return time.Date(2026, 11, 26+day, hh, mm, ss, 0, time.UTC)
}

func TestFixedBlock(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name  string
		now   time.Time
		hours int
		want  span
	}{
		{"midnight starts the first block", at(0, 0, 0, 0), 5, span{at(0, 0, 0, 0), at(0, 5, 0, 0)}},
		{"04:59:59 is still in the first block", at(0, 4, 59, 59), 5, span{at(0, 0, 0, 0), at(0, 5, 0, 0)}},
		{"05:00 starts the second block", at(0, 5, 0, 0), 5, span{at(0, 5, 0, 0), at(0, 10, 0, 0)}},
		{"12:30 is in the 10:00 block", at(0, 12, 30, 0), 5, span{at(0, 10, 0, 0), at(0, 15, 0, 0)}},
		{"15:00 starts the fourth block", at(0, 15, 0, 0), 5, span{at(0, 15, 0, 0), at(0, 20, 0, 0)}},
		{"20:00 starts the short last block", at(0, 20, 0, 0), 5, span{at(0, 20, 0, 0), at(1, 0, 0, 0)}},
		{"23:59:59 ends with the day", at(0, 23, 59, 59), 5, span{at(0, 20, 0, 0), at(1, 0, 0, 0)}},
		{"the next midnight starts a new grid", at(1, 0, 0, 0), 5, span{at(1, 0, 0, 0), at(1, 5, 0, 0)}},
		{"a time in another zone is placed on the UTC grid",
			time.Date(2026, 11, 27, 0, 30, 0, 0, tokyo), 5, span{at(0, 15, 0, 0), at(0, 20, 0, 0)}},
		{"7-hour blocks end with a 3-hour one", at(0, 22, 0, 0), 7, span{at(0, 21, 0, 0), at(1, 0, 0, 0)}},
		{"24-hour blocks are the UTC day", at(0, 13, 0, 0), 24, span{at(0, 0, 0, 0), at(1, 0, 0, 0)}},
		{"1-hour blocks are the hour", at(0, 13, 59, 59), 1, span{at(0, 13, 0, 0), at(0, 14, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fixedBlock(tt.now, tt.hours)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fixedBlock(%v, %d) (-want +got):\n%s", tt.now, tt.hours, diff)
			}
			if !got.Contains(tt.now) {
				t.Errorf("fixedBlock(%v, %d) = %v does not contain now", tt.now, tt.hours, got)
			}
		})
	}
}

func TestAnchoredBlock(t *testing.T) {
	hour := func(day, hh int) int64 { return store.HourOf(at(day, hh, 0, 0)) }
	block := func(day, hh int) *span {
		return &span{at(day, hh, 0, 0), at(day, hh, 0, 0).Add(5 * time.Hour)}
	}
	tests := []struct {
		name   string
		anchor int64
		now    time.Time
		want   *span // nil: no block holds now
	}{
		{"no usage yet, no block", noAnchor, at(0, 12, 0, 0), nil},
		{"the block starts at its anchor's hour", hour(0, 10), at(0, 10, 37, 0), block(0, 10)},
		{"the block holds until its last second", hour(0, 10), at(0, 14, 59, 59), block(0, 10)},
		{"the block ends 5 hours after its start", hour(0, 10), at(0, 15, 0, 0), nil},
		{"a block runs across midnight", hour(0, 22), at(1, 2, 59, 0), block(0, 22)},
		{"an anchor after now: no block yet", hour(0, 13), at(0, 12, 0, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := anchoredBlock(tt.anchor, tt.now, 5)
			switch {
			case tt.want == nil && ok:
				t.Errorf("anchoredBlock(%v) = %v, want no block", tt.now, got)
			case tt.want != nil && !ok:
				t.Errorf("anchoredBlock(%v) = no block, want %v", tt.now, *tt.want)
			case tt.want != nil:
				if diff := cmp.Diff(*tt.want, got); diff != "" {
					t.Errorf("anchoredBlock(%v) (-want +got):\n%s", tt.now, diff)
				}
			}
		})
	}
}

func TestBlocksAnchorAtActivity(t *testing.T) {
	hour := func(day, hh int) int64 { return store.HourOf(at(day, hh, 0, 0)) }
	tests := []struct {
		name  string
		usage []int64 // hours of usage, in arrival order
		want  int64   // the anchor after them
	}{
		{"no usage: no anchor", nil, noAnchor},
		{"the first usage's hour anchors a block", []int64{hour(0, 10)}, hour(0, 10)},
		{"usage within the block stays in it", []int64{hour(0, 10), hour(0, 12), hour(0, 14)}, hour(0, 10)},
		{"usage exactly at the block's end starts a new block", []int64{hour(0, 10), hour(0, 15)}, hour(0, 15)},
		{"after a gap the next usage starts a block at its own hour", []int64{hour(0, 10), hour(0, 14), hour(0, 17)}, hour(0, 17)},
		{"a chain of blocks keeps its grid",
			[]int64{hour(0, 0), hour(0, 4), hour(0, 5), hour(0, 9), hour(0, 10), hour(0, 12)}, hour(0, 10)},
		{"a late usage from before the block does not move it", []int64{hour(0, 10), hour(0, 8)}, hour(0, 10)},
		// Constant use keeps the grid of the first usage however long it lasts:
		// a week and more of hourly usage still has blocks at 00, 05, 10, ...
		{"constant use for nine days keeps the first usage's grid", everyHour(hour(0, 0), 9*24+3), hour(8, 23)}, // 215 hours = 43 blocks,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			anchor := int64(noAnchor)
			for _, h := range tt.usage {
				if startsBlock(anchor, h, 5) {
					anchor = h
				}
			}
			if anchor != tt.want {
				t.Errorf("anchor = %v, want %v", store.HourStart(anchor), store.HourStart(tt.want))
			}
		})
	}
}

// everyHour returns n consecutive hours from first.
func everyHour(first int64, n int) []int64 {
	hours := make([]int64, n)
	for i := range hours {
		hours[i] = first + int64(i)
	}
	return hours
}

func TestWeekWindowIsTheLast168Hours(t *testing.T) {
	tests := []struct {
		now  time.Time
		want span
	}{
		{at(0, 12, 30, 0), span{at(-7, 13, 0, 0), at(0, 13, 0, 0)}},
		{at(0, 12, 0, 0), span{at(-7, 13, 0, 0), at(0, 13, 0, 0)}},
		{at(0, 12, 59, 59), span{at(-7, 13, 0, 0), at(0, 13, 0, 0)}},
		{at(0, 13, 0, 0), span{at(-7, 14, 0, 0), at(0, 14, 0, 0)}},
	}
	for _, tt := range tests {
		got := weekWindow(tt.now)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("weekWindow(%v) (-want +got):\n%s", tt.now, diff)
		}
		if d := got.End.Sub(got.Start); d != 168*time.Hour {
			t.Errorf("weekWindow(%v) spans %v, want 168h", tt.now, d)
		}
	}
}

func TestDayWindowIsTheUTCDay(t *testing.T) {
	newYork := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name string
		now  time.Time
		want span
	}{
		{"midnight starts the day", at(0, 0, 0, 0), span{at(0, 0, 0, 0), at(1, 0, 0, 0)}},
		{"the day's last instant", at(1, 0, 0, 0).Add(-time.Nanosecond), span{at(0, 0, 0, 0), at(1, 0, 0, 0)}},
		{"the next midnight starts the next day", at(1, 0, 0, 0), span{at(1, 0, 0, 0), at(2, 0, 0, 0)}},
		{"evening in New York is the next UTC day",
			time.Date(2026, 11, 26, 20, 0, 0, 0, newYork), span{at(1, 0, 0, 0), at(2, 0, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, dayWindow(tt.now)); diff != "" {
				t.Errorf("dayWindow(%v) (-want +got):\n%s", tt.now, diff)
			}
		})
	}
}

func TestWindowContainsItsStartButNotItsEnd(t *testing.T) {
	w := span{at(0, 10, 0, 0), at(0, 15, 0, 0)}
	for _, tt := range []struct {
		t    time.Time
		want bool
	}{
		{at(0, 9, 59, 59), false},
		{at(0, 10, 0, 0), true},
		{at(0, 14, 59, 59), true},
		{at(0, 15, 0, 0), false},
	} {
		if got := w.Contains(tt.t); got != tt.want {
			t.Errorf("%v.Contains(%v) = %v, want %v", w, tt.t, got, tt.want)
		}
	}
}
