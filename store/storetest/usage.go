package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

func testAddUsageToSession(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	for _, step := range []struct {
		u    store.UsageRecord
		want store.Session
	}{
		{
			store.UsageRecord{Time: at(time.Minute), Now: at(2 * time.Minute), Cost: 5, Tokens: store.Tokens{Input: 1, Output: 2, CacheWrite: 3, CacheRead: 4}, Model: "opus"},
			store.Session{LastActive: at(2 * time.Minute), Requests: 1, Cost: 5, Tokens: store.Tokens{Input: 1, Output: 2, CacheWrite: 3, CacheRead: 4}, Model: "opus"},
		},
		{
			store.UsageRecord{Time: at(3 * time.Minute), Now: at(3 * time.Minute), Cost: 7, Tokens: store.Tokens{Input: 10, Output: 20, CacheWrite: 30, CacheRead: 40}, Model: "sonnet"},
			store.Session{LastActive: at(3 * time.Minute), Requests: 2, Cost: 12, Tokens: store.Tokens{Input: 11, Output: 22, CacheWrite: 33, CacheRead: 44}, Model: "sonnet"},
		},
		{ // recorded at an earlier Now: LastActive does not move back
			store.UsageRecord{Time: at(time.Minute), Now: at(time.Minute), Cost: 0, Tokens: store.Tokens{Output: 100}, Model: "sonnet"},
			store.Session{LastActive: at(3 * time.Minute), Requests: 3, Cost: 12, Tokens: store.Tokens{Input: 11, Output: 122, CacheWrite: 33, CacheRead: 44}, Model: "sonnet"},
		},
	} {
		if billed := addUsage(t, s, "c", step.u); billed != "a" {
			t.Errorf("AddUsage returned %q, want the session's subscription a", billed)
		}
		want := step.want
		want.ClientID, want.SubscriptionID, want.Created, want.Assigned = "c", "a", t0, t0
		want.HoldUntil = at(holdFor) // a usage without a HoldUntil leaves the hold alone
		diff(t, fmt.Sprintf("session after AddUsage(%+v)", step.u), session(t, s, "c"), want)
	}
}

func testAddUsageBillsSubscriptionID(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0), newSub("x", 0))
	join(t, s, "c", "a", t0)
	assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "b", From: "a", Now: at(time.Minute)})

	for _, tc := range []struct {
		billed string // u.SubscriptionID
		want   string
	}{
		{"a", "a"}, // the subscription the client left
		{"", "b"},  // the session's
		{"b", "b"}, // the session's, named
		{"x", "x"}, // one the client was never on
		{"a", "a"},
	} {
		u := usage(at(2*time.Minute), 10)
		u.SubscriptionID = tc.billed
		if got := addUsage(t, s, "c", u); got != tc.want {
			t.Errorf("AddUsage with SubscriptionID %q billed %q, want %q", tc.billed, got, tc.want)
		}
	}
	hour := hourOf(2 * time.Minute)
	diff(t, "usage of a", get(t, s, "a").Usage, []store.Bucket{{Hour: hour, Cost: 20, Requests: 2, Tokens: tokensOf(2)}})
	diff(t, "usage of b", get(t, s, "b").Usage, []store.Bucket{{Hour: hour, Cost: 20, Requests: 2, Tokens: tokensOf(2)}})
	diff(t, "usage of x", get(t, s, "x").Usage, []store.Bucket{{Hour: hour, Cost: 10, Requests: 1, Tokens: tokensOf(1)}})
	sess := session(t, s, "c")
	if sess.SubscriptionID != "b" || sess.Requests != 5 || sess.Cost != 50 {
		t.Errorf("session on %q counts %d requests costing %d, want on b, 5 costing 50", sess.SubscriptionID, sess.Requests, sess.Cost)
	}
	if n := clients(t, s, "a") + clients(t, s, "x"); n != 0 {
		t.Errorf("billing a subscription gave it %d clients, want 0", n)
	}

	// A usage billed elsewhere is the client's activity and the billed
	// subscription's, not that of the subscription the client is on.
	u := usage(at(3*time.Minute), 10)
	u.SubscriptionID = "x"
	addUsage(t, s, "c", u)
	for _, tc := range []struct {
		sub  string
		want time.Time
	}{{"b", at(2 * time.Minute)}, {"x", at(3 * time.Minute)}} {
		if got := get(t, s, tc.sub).LastActive; !got.Equal(tc.want) {
			t.Errorf("after a usage billed to x, %s was last active at %v, want %v", tc.sub, got, tc.want)
		}
	}
	if got := session(t, s, "c").LastActive; !got.Equal(at(3 * time.Minute)) {
		t.Errorf("after a usage billed to x, the session was last active at %v, want %v", got, at(3*time.Minute))
	}
}

func testAddUsageUnknownClient(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	before := snapshot(t, s)
	for _, u := range []store.UsageRecord{
		usage(at(time.Minute), 5),
		withID(usage(at(time.Minute), 5), "msg-1", time.Hour),
		func() store.UsageRecord { u := usage(at(time.Minute), 5); u.SubscriptionID = "a"; return u }(),
	} {
		_, err := s.AddUsage(t.Context(), "d", u)
		wantErr(t, err, store.ErrNotFound, fmt.Sprintf("AddUsage(%+v) for a client without a session", u))
	}
	unchanged(t, s, before, "AddUsage for a client without a session")
}

func testAddUsageUnknownSubscription(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 1))
	before := snapshot(t, s)
	u := withID(usage(at(time.Minute), 5), "msg-1", time.Hour)
	u.SubscriptionID = "x"
	_, err := s.AddUsage(t.Context(), "c", u)
	wantErr(t, err, store.ErrNotFound, "AddUsage billing an unknown subscription")
	unchanged(t, s, before, "AddUsage billing an unknown subscription")
}

func testAddUsageDuplicate(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "b", t0)
	first := withID(usage(at(time.Minute), 5), "msg-1", time.Hour)
	addUsage(t, s, "c1", first)
	before := snapshot(t, s)

	later := func(f func(u *store.UsageRecord)) store.UsageRecord {
		u := first
		u.Now = at(2 * time.Minute)
		f(&u)
		return u
	}
	for _, tc := range []struct {
		why    string
		client string
		u      store.UsageRecord
	}{
		{"the same usage again", "c1", first},
		{"the same ID later, with other numbers", "c1", later(func(u *store.UsageRecord) {
			u.Time, u.Cost, u.Tokens, u.Model, u.Remember = at(2*time.Minute), 99, store.Tokens{Input: 99}, "other", 24*time.Hour
		})},
		{"the same ID in another hour", "c1", later(func(u *store.UsageRecord) { u.Time = at(3 * time.Hour) })},
		{"the same ID from another client", "c2", later(func(*store.UsageRecord) {})},
		{"the same ID billed to another subscription", "c1", later(func(u *store.UsageRecord) { u.SubscriptionID = "b" })},
	} {
		_, err := s.AddUsage(t.Context(), tc.client, tc.u)
		wantErr(t, err, store.ErrDuplicate, "AddUsage of "+tc.why)
		unchanged(t, s, before, "AddUsage of "+tc.why)
	}
}

func testAddUsageWithoutID(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	u := usage(at(time.Minute), 5)
	for range 3 {
		addUsage(t, s, "c", u)
	}
	if got := session(t, s, "c").Requests; got != 3 {
		t.Errorf("session Requests after the same usage without ID 3 times = %d, want 3", got)
	}
}

func testAddUsageAnchorsBlocks(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "a", t0)
	anchored := func(d time.Duration) store.UsageRecord {
		u := usage(at(d), 1)
		u.BlockHours = 5
		return u
	}
	steps := []struct {
		what string
		u    store.UsageRecord
		want time.Time // BlockStart of a after the usage
	}{
		{"a usage without BlockHours leaves BlockStart alone", usage(at(10*time.Minute), 1), time.Time{}},
		{"the first anchored usage starts a block at its hour", anchored(90 * time.Minute), store.HourStart(hourOf(time.Hour))},
		{"a usage within the block keeps it", anchored(5*time.Hour + 59*time.Minute), store.HourStart(hourOf(time.Hour))},
		{"a late usage from before the block keeps it", anchored(30 * time.Minute), store.HourStart(hourOf(time.Hour))},
		{"a usage at the block's end starts a new block at its hour", anchored(6*time.Hour + 20*time.Minute), store.HourStart(hourOf(6 * time.Hour))},
		{"after a gap the next usage anchors at its own hour", anchored(14*time.Hour + 5*time.Minute), store.HourStart(hourOf(14 * time.Hour))},
	}
	for _, step := range steps {
		addUsage(t, s, "c", step.u)
		if got := get(t, s, "a").BlockStart; !got.Equal(step.want) {
			t.Errorf("%s: BlockStart = %v, want %v", step.what, got, step.want)
		}
	}
	if got := get(t, s, "b").BlockStart; !got.IsZero() {
		t.Errorf("BlockStart of a subscription never billed = %v, want zero", got)
	}
	// Updating the subscription keeps its anchor.
	before := get(t, s, "a").BlockStart
	if err := s.UpdateSubscription(t.Context(), newSub("a", 3)); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	if got := get(t, s, "a").BlockStart; !got.Equal(before) {
		t.Errorf("BlockStart after UpdateSubscription = %v, want it kept at %v", got, before)
	}
}

func testAddUsageWithoutClient(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "b", t0)
	before := snapshot(t, s)
	u := withID(usage(at(time.Minute), 7), "msg-1", time.Hour)
	u.SubscriptionID = "a"
	if billed := addUsage(t, s, "", u); billed != "a" {
		t.Errorf("AddUsage without a client billed %q, want a", billed)
	}
	got := get(t, s, "a")
	diff(t, "usage of a", got.Usage, []store.Bucket{{Hour: hourOf(time.Minute), Cost: 7, Requests: 1, Tokens: tokensOf(1)}})
	if !got.LastActive.IsZero() {
		t.Errorf("spending without a client made a LastActive at %v, want none", got.LastActive)
	}
	diff(t, "sessions after AddUsage without a client", byClient(sessions(t, s, store.SessionQuery{})), before.Sessions)
	_, err := s.AddUsage(t.Context(), "", u)
	wantErr(t, err, store.ErrDuplicate, "a second AddUsage of the ID without a client")
	noSub := usage(at(time.Minute), 1)
	_, err = s.AddUsage(t.Context(), "", noSub)
	wantErr(t, err, store.ErrNotFound, "AddUsage without a client or a subscription")
}
