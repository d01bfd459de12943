package authpool

import (
	"time"

	"github.com/authpool/authpool/store"
)

// span is a span of time [Start, End): a block, a week or a day.
type span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t falls in the window.
func (w span) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// fixedBlock returns the block of the fixed UTC grid that holds now: blocks
// of the given hours starting at midnight UTC, the last one cut at midnight.
func fixedBlock(now time.Time, hours int) span {
	day := now.UTC().Truncate(24 * time.Hour)
	h := int(now.Sub(day) / time.Hour)
	start := day.Add(time.Duration(h-h%hours) * time.Hour)
	end := start.Add(time.Duration(hours) * time.Hour)
	if next := day.Add(24 * time.Hour); end.After(next) {
		end = next
	}
	return span{Start: start, End: end}
}

// noAnchor is the anchor of a subscription without usage: far enough in
// the past that any usage comes after its block's end.
const noAnchor = -1 << 62

// anchorOf returns the anchor hour of a store's BlockStart.
func anchorOf(blockStart time.Time) int64 {
	if blockStart.IsZero() {
		return noAnchor
	}
	return store.HourOf(blockStart)
}

// startsBlock reports whether a usage at hour starts a new anchored block of
// the given hours after the block that started at anchor: it comes at or
// after that block's end. Stores apply the same rule to BlockStart.
func startsBlock(anchor, hour int64, hours int) bool { return hour >= anchor+int64(hours) }

// anchoredBlock returns the block that holds now when blocks are anchored at
// activity: the block that starts at the anchor hour (the hour of the first
// usage at or after the previous block's end) and lasts the given hours. It
// reports false when that block has ended: the next usage starts one.
func anchoredBlock(anchor int64, now time.Time, hours int) (span, bool) {
	h := store.HourOf(now)
	if h < anchor || h >= anchor+int64(hours) {
		return span{}, false
	}
	return span{Start: store.HourStart(anchor), End: store.HourStart(anchor + int64(hours))}, true
}

// weekWindow returns the rolling week that holds now: the 168 hourly buckets
// ending with now's hour.
func weekWindow(now time.Time) span {
	h := store.HourOf(now)
	return span{Start: store.HourStart(h - store.WeekHours + 1), End: store.HourStart(h + 1)}
}

// dayWindow returns the UTC day that holds now: the fallback's budget period.
func dayWindow(now time.Time) span {
	day := now.UTC().Truncate(24 * time.Hour)
	return span{Start: day, End: day.Add(24 * time.Hour)}
}
