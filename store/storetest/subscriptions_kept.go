package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks what a store keeps of a subscription beyond its
// configuration: the listing, LastActive, the usage buckets, and that the
// records it returns are copies.

func testSubscriptionsOrderedByID(t *testing.T, s store.Store) {
	ids := []string{"m", "b2", "z", "a", "b10"}
	for _, id := range ids {
		create(t, s, newSub(id, 0))
	}
	join(t, s, "c1", "z", t0)
	join(t, s, "c2", "z", at(time.Minute))
	join(t, s, "c3", "b2", t0)
	addUsage(t, s, "c3", usage(at(2*time.Minute), 5))

	var want []store.Subscription
	for _, id := range []string{"a", "b10", "b2", "m", "z"} {
		want = append(want, get(t, s, id))
	}
	got, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	diff(t, "Subscriptions", got, want)
	if got := clients(t, s, "z"); got != 2 {
		t.Errorf(`Subscription("z").Clients = %d, want 2`, got)
	}
	diff(t, `Subscription("b2").Usage`, get(t, s, "b2").Usage, []store.Bucket{{Hour: hourOf(0), Cost: 5, Requests: 1, Tokens: tokensOf(1)}})
}

func testSubscriptionsEmpty(t *testing.T, s store.Store) {
	got, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions of an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Subscriptions of an empty store = %v, want none", got)
	}
}

func testSubscriptionLastActive(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	lastActive := func(id string, want time.Time, after string) {
		t.Helper()
		if got := get(t, s, id).LastActive; !got.Equal(want) {
			t.Errorf("%s: LastActive of %s = %v, want %v", after, id, got, want)
		}
	}
	lastActive("a", time.Time{}, "no client yet")
	join(t, s, "c1", "a", t0)
	lastActive("a", t0, "Assign")
	touch(t, s, "c1", at(2*time.Minute))
	lastActive("a", at(2*time.Minute), "Touch")
	join(t, s, "c2", "a", at(time.Minute))
	lastActive("a", at(2*time.Minute), "an Assign at an earlier time")
	addUsage(t, s, "c2", usage(at(3*time.Minute), 1))
	lastActive("a", at(3*time.Minute), "AddUsage")
	assign(t, s, store.Assignment{ClientID: "c1", SubscriptionID: "b", From: "a", Now: at(4 * time.Minute)})
	lastActive("b", at(4*time.Minute), "a client moved in")
	lastActive("a", at(3*time.Minute), "a client moved out")
	touch(t, s, "c1", at(5*time.Minute))
	lastActive("a", at(3*time.Minute), "a Touch of a client that left")
}

func testUsageHourlyBuckets(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	recordedAt := at(3 * time.Hour) // Now is later than every Time: the bucket follows Time
	for _, u := range []struct {
		at   time.Duration
		cost store.Nanodollars
	}{
		{0, 1},
		{time.Hour - time.Nanosecond, 2},
		{time.Hour, 4},
		{-30 * time.Minute, 8}, // late, in an earlier hour
		{time.Hour + 30*time.Minute, 16},
		{-2 * time.Hour, 0}, // free, yet a request
	} {
		rec := usage(at(u.at), u.cost)
		rec.Now = recordedAt
		addUsage(t, s, "c", rec)
	}
	diff(t, "Usage", get(t, s, "a").Usage, []store.Bucket{
		{Hour: hourOf(-2 * time.Hour), Cost: 0, Requests: 1, Tokens: tokensOf(1)},
		{Hour: hourOf(-time.Hour), Cost: 8, Requests: 1, Tokens: tokensOf(1)},
		{Hour: hourOf(0), Cost: 3, Requests: 2, Tokens: tokensOf(2)},
		{Hour: hourOf(time.Hour), Cost: 20, Requests: 2, Tokens: tokensOf(2)},
	})
}

func testUsageIsTheLastWeekHours(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	const week = store.WeekHours * time.Hour
	newest := hourOf(0)
	addUsage(t, s, "c", usage(t0, 1))
	addUsage(t, s, "c", usage(at(-week+time.Hour), 2)) // the oldest hour of the week: kept
	addUsage(t, s, "c", usage(at(-week+2*time.Hour), 4))
	diff(t, "Usage with buckets at the newest hour and WeekHours-1 hours before", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest - store.WeekHours + 1, Cost: 2, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest - store.WeekHours + 2, Cost: 4, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest, Cost: 1, Requests: 1, Tokens: tokensOf(1)},
	})

	addUsage(t, s, "c", usage(at(time.Hour), 8)) // a newer hour pushes the oldest out
	diff(t, "Usage after a usage in a newer hour", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest - store.WeekHours + 2, Cost: 4, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest, Cost: 1, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest + 1, Cost: 8, Requests: 1, Tokens: tokensOf(1)},
	})

	addUsage(t, s, "c", usage(at(week+2*time.Hour), 16)) // a week later: only the newest hour is left
	diff(t, "Usage after a usage a week later", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest + store.WeekHours + 2, Cost: 16, Requests: 1, Tokens: tokensOf(1)},
	})
}

func testUsageOlderThanWeek(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 1))
	for _, age := range []time.Duration{store.WeekHours * time.Hour, 400 * time.Hour} {
		rec := usage(at(-age), 10)
		rec.Now = at(time.Minute)
		if billed := addUsage(t, s, "c", rec); billed != "a" {
			t.Errorf("AddUsage of a usage %v old returned %q, want a", age, billed)
		}
	}
	diff(t, "Usage", get(t, s, "a").Usage, []store.Bucket{{Hour: hourOf(0), Cost: 1, Requests: 1, Tokens: tokensOf(1)}})
	sess := session(t, s, "c")
	if sess.Requests != 3 || sess.Cost != 21 {
		t.Errorf("session counts %d requests costing %d, want 3 costing 21: usages older than the week count in the session", sess.Requests, sess.Cost)
	}
}

func testRecordsAreCopies(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 5))
	before := snapshot(t, s)

	sub := get(t, s, "a")
	sub.Usage[0].Cost = 1000
	sub.Usage = append(sub.Usage, store.Bucket{Hour: 1})
	all, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	all[0].Usage[0].Requests = 1000
	ss := sessions(t, s, store.SessionQuery{})
	ss[0].Cost = 1000
	unchanged(t, s, before, "changing returned records")
}
