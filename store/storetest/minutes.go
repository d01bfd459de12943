package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// minuteOf is the minute bucket of t0 + d.
func minuteOf(d time.Duration) int64 { return store.MinuteOf(at(d)) }

func testUsageMinuteBuckets(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	recordedAt := at(90 * time.Minute) // Now is later than every Time: the minute follows Time
	for _, u := range []struct {
		at   time.Duration
		cost store.Nanodollars
	}{
		{0, 1},
		{59 * time.Second, 2},
		{time.Minute, 4},
		{-30 * time.Second, 8}, // an hour before the newest minute: in its hour only
		{10*time.Minute + 5*time.Second, 256},
		{20 * time.Minute, 0},     // free: in its hour's bucket, in no minute
		{59 * time.Minute, 16},    // the newest minute
		{-time.Minute - 1, 32},    // 61 minutes before the newest: in its hour only
		{30 * time.Minute, 64},    // in the ring already
		{30*time.Minute + 1, 128}, // the same minute
	} {
		rec := usage(at(u.at), u.cost)
		rec.Now = recordedAt
		addUsage(t, s, "c", rec)
	}
	diff(t, "Minutes", get(t, s, "a").Minutes, []store.Minute{
		{Minute: minuteOf(0), Cost: 3},
		{Minute: minuteOf(time.Minute), Cost: 4},
		{Minute: minuteOf(10 * time.Minute), Cost: 256},
		{Minute: minuteOf(30 * time.Minute), Cost: 192},
		{Minute: minuteOf(59 * time.Minute), Cost: 16},
	})
	diff(t, "Usage", get(t, s, "a").Usage, []store.Bucket{
		{Hour: hourOf(-time.Hour), Cost: 40, Requests: 2, Tokens: tokensOf(2)},
		{Hour: hourOf(0), Cost: 471, Requests: 8, Tokens: tokensOf(8)},
	})
}

func testUsageMinutesAreTheLastHour(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 1))
	addUsage(t, s, "c", usage(at(59*time.Minute), 2)) // 59 minutes later: both within the hour
	diff(t, "Minutes with buckets at the newest minute and 59 minutes before", get(t, s, "a").Minutes, []store.Minute{
		{Minute: minuteOf(0), Cost: 1},
		{Minute: minuteOf(59 * time.Minute), Cost: 2},
	})

	addUsage(t, s, "c", usage(at(60*time.Minute), 4)) // a newer minute pushes t0's out, though its slot is another
	diff(t, "Minutes after a usage 60 minutes later", get(t, s, "a").Minutes, []store.Minute{
		{Minute: minuteOf(59 * time.Minute), Cost: 2},
		{Minute: minuteOf(60 * time.Minute), Cost: 4},
	})

	addUsage(t, s, "c", usage(at(120*time.Minute), 8)) // t0's slot again, an hour on: the old minute is gone
	diff(t, "Minutes after a usage in the slot of the oldest", get(t, s, "a").Minutes, []store.Minute{
		{Minute: minuteOf(120 * time.Minute), Cost: 8},
	})

	addUsage(t, s, "c", usage(at(60*time.Minute), 16)) // late: more than an hour before the newest minute
	addUsage(t, s, "c", usage(at(61*time.Minute), 32)) // late, and just within the hour
	diff(t, "Minutes after late usages", get(t, s, "a").Minutes, []store.Minute{
		{Minute: minuteOf(61 * time.Minute), Cost: 32},
		{Minute: minuteOf(120 * time.Minute), Cost: 8},
	})
	if got := get(t, s, "a").Usage[1]; got.Cost != 4+16+32 || got.Requests != 3 {
		t.Errorf("the bucket of t0+1h = %+v, want cost %d in 3 requests: the late usages count in their hour", got, 4+16+32)
	}
}

func testUsageWithoutClientInMinutes(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	u := usage(at(10*time.Second), 5)
	u.SubscriptionID = "a"
	if _, err := s.AddUsage(t.Context(), "", u); err != nil {
		t.Fatalf("AddUsage without a client: %v", err)
	}
	sub := get(t, s, "a")
	diff(t, "Minutes", sub.Minutes, []store.Minute{{Minute: minuteOf(0), Cost: 5}})
	diff(t, "Usage", sub.Usage, []store.Bucket{{Hour: hourOf(0), Cost: 5, Requests: 1, Tokens: tokensOf(1)}})
}
