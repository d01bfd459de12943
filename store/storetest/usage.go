package storetest

import (
	"context"
	"errors"
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

// idStep is one AddUsage of a usage with an ID in a scripted sequence.
type idStep struct {
	time, now time.Duration // u.Time - t0, u.Now - t0
	id        string
	want      error // nil, store.ErrDuplicate or store.ErrForgotten
}

// runIDSteps adds the usages of steps in order, each from client "c" of a
// fresh subscription with remember and budget, checks which are added and
// which refused, and that a refusal changes nothing.
func runIDSteps(t *testing.T, s store.Store, remember time.Duration, budget int64, steps []idStep) {
	t.Helper()
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	for _, st := range steps {
		u := withID(usage(at(st.time), 1), st.id, remember)
		u.Now, u.RememberBytes = at(st.now), budget
		before := snapshot(t, s)
		_, err := s.AddUsage(t.Context(), "c", u)
		what := fmt.Sprintf("AddUsage of %q at t0+%v recorded at t0+%v", st.id, st.time, st.now)
		switch {
		case st.want == nil && err != nil:
			t.Errorf("%s: %v; want it added", what, err)
		case st.want != nil && err == nil:
			t.Errorf("%s added it; want %v", what, st.want)
		case st.want != nil:
			wantErr(t, err, st.want, what)
			unchanged(t, s, before, what)
		}
	}
}

// week is the longest Remember the pool gives: its whole week.
const week = store.WeekHours * time.Hour

func testAddUsageRemembersID(t *testing.T, s store.Store) {
	runIDSteps(t, s, week, rememberBytes, []idStep{
		{0, 0, "x", nil},
		{0, 0, "x", store.ErrDuplicate},
		{time.Hour, time.Hour, "x", store.ErrDuplicate}, // the same ID with another time
		{-time.Hour, time.Hour, "y", nil},               // an earlier usage recorded later
		{10 * time.Minute, 3 * 24 * time.Hour, "x", store.ErrDuplicate},
		{-time.Hour, 100 * time.Hour, "y", store.ErrDuplicate},
		{-time.Hour, 100 * time.Hour, "z", nil},
		{0, week - time.Millisecond, "x", store.ErrDuplicate},
		{-time.Hour, week - time.Hour - time.Millisecond, "z", store.ErrDuplicate},
	})
}

func testAddUsageForgetsByAge(t *testing.T, s store.Store) {
	const r = time.Hour
	runIDSteps(t, s, r, rememberBytes, []idStep{
		{0, 0, "a", nil},
		{10 * time.Minute, 10 * time.Minute, "b", nil},
		{0, r - time.Millisecond, "a", store.ErrDuplicate},
		{30 * time.Minute, r, "c", nil},     // forgets a, whose time is now - r
		{0, r, "a", store.ErrForgotten},     // at the horizon
		{0, r, "fresh", store.ErrForgotten}, // an unknown ID is no better
		{10 * time.Minute, r, "b", store.ErrDuplicate},
		{time.Millisecond, r, "d", nil}, // an unknown ID after the horizon counts
		{time.Millisecond, r, "d", store.ErrDuplicate},
		{10 * time.Minute, r + 10*time.Minute, "e", store.ErrForgotten}, // at now - r
		// b is at the horizon now, and still remembered: a duplicate, not
		// forgotten, since nothing was added to make it go.
		{10 * time.Minute, r + 10*time.Minute, "b", store.ErrDuplicate},
		{10*time.Minute + time.Millisecond, r + 10*time.Minute, "e", nil},
	})
}

func testAddUsageForgetsByBudget(t *testing.T, s store.Store) {
	// A budget of one byte holds no ID at any store's cost: the store
	// remembers one, the last added.
	runIDSteps(t, s, week, 1, []idStep{
		{time.Minute, time.Hour, "a", nil},
		{2 * time.Minute, time.Hour, "b", nil}, // forgets a: the horizon is t0+1m
		{time.Minute, time.Hour, "a", store.ErrForgotten},
		{time.Minute, time.Hour, "other", store.ErrForgotten},
		{2 * time.Minute, time.Hour, "b", store.ErrDuplicate},
		{time.Minute + time.Millisecond, time.Hour, "c", nil}, // after the horizon; forgets b: t0+2m
		{2 * time.Minute, time.Hour, "b", store.ErrForgotten},
		{90 * time.Second, time.Hour, "d", store.ErrForgotten},
		// c, before the horizon but remembered, is a duplicate.
		{time.Minute + time.Millisecond, time.Hour, "c", store.ErrDuplicate},
		{2*time.Minute + time.Millisecond, time.Hour, "d", nil}, // forgets c
		{time.Minute + time.Millisecond, time.Hour, "c", store.ErrForgotten},
	})
}

// testAddUsageCountsOnce adds many IDs in a small budget, then all of them
// again: none counts twice, whatever the store forgot.
func testAddUsageCountsOnce(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	const n = 300
	u := func(i int) store.UsageRecord {
		u := withID(usage(at(time.Duration(i)*time.Second), 1), fmt.Sprintf("msg-%d", i), week)
		u.Now, u.RememberBytes = at(time.Hour), 4096
		return u
	}
	for i := range n {
		addUsage(t, s, "c", u(i))
	}
	before := snapshot(t, s)
	forgotten := 0
	for i := range n {
		_, err := s.AddUsage(t.Context(), "c", u(i))
		var fe *store.ForgottenError
		switch {
		case errors.Is(err, store.ErrDuplicate):
		case errors.As(err, &fe):
			forgotten++
			if fe.Time.After(fe.Horizon) || fe.ID != u(i).ID || !fe.Time.Equal(u(i).Time) {
				t.Errorf("AddUsage of %q again: %v; want the usage's ID and time, at or before the horizon", u(i).ID, err)
			}
		default:
			t.Fatalf("AddUsage of %q again: %v; want ErrDuplicate or ErrForgotten", u(i).ID, err)
		}
	}
	unchanged(t, s, before, "AddUsage of every ID again")
	if forgotten == 0 || forgotten == n {
		t.Errorf("%d of %d IDs added in a budget of 4096 bytes were forgotten; want some, not all", forgotten, n)
	}
	if _, err := s.AddUsage(t.Context(), "c", u(n-1)); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("AddUsage of the last ID again: %v; want ErrDuplicate", err)
	}
}

// testAddUsageForgottenSaysHorizon checks the ForgottenError's horizon: the
// newest usage time forgotten, or now - Remember if later.
func testAddUsageForgottenSaysHorizon(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	add := func(id string, tm, now time.Duration) error {
		u := withID(usage(at(tm), 1), id, time.Hour)
		u.Now, u.RememberBytes = at(now), 1
		_, err := s.AddUsage(t.Context(), "c", u)
		return err
	}
	for _, tc := range []struct {
		id      string
		tm, now time.Duration
		want    time.Time // the horizon; zero if added
	}{
		{"a", 5 * time.Minute, 10 * time.Minute, time.Time{}},
		{"b", 4 * time.Minute, 10 * time.Minute, time.Time{}}, // forgets a
		{"x", 5 * time.Minute, 10 * time.Minute, at(5 * time.Minute)},
		{"x", 30 * time.Minute, 2 * time.Hour, at(time.Hour)}, // now - Remember is later
	} {
		err := add(tc.id, tc.tm, tc.now)
		if tc.want.IsZero() {
			if err != nil {
				t.Fatalf("AddUsage of %q: %v", tc.id, err)
			}
			continue
		}
		var fe *store.ForgottenError
		if !errors.As(err, &fe) || !errors.Is(err, store.ErrForgotten) {
			t.Fatalf("AddUsage of %q at t0+%v: %v; want a *store.ForgottenError", tc.id, tc.tm, err)
		}
		diff(t, "ForgottenError", *fe, store.ForgottenError{ID: tc.id, Time: at(tc.tm), Horizon: tc.want})
	}
}

func testAddUsageRefusedIsNotRemembered(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	u := withID(usage(t0, 5), "msg-1", time.Hour)
	_, err := s.AddUsage(t.Context(), "c", u)
	wantErr(t, err, store.ErrNotFound, "AddUsage for a client without a session")
	join(t, s, "c", "a", t0)
	bad := u
	bad.SubscriptionID = "x"
	_, err = s.AddUsage(t.Context(), "c", bad)
	wantErr(t, err, store.ErrNotFound, "AddUsage billing an unknown subscription")
	addUsage(t, s, "c", u)
}

func testCanceledContext(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1), newSub("b", 0))
	join(t, s, "c", "a", t0)
	join(t, s, "idle", "b", t0)
	addUsage(t, s, "c", usage(t0, 5))
	before := snapshot(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u := withID(usage(at(time.Minute), 5), "msg-1", time.Hour)
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"CreateSubscription", func() error { return s.CreateSubscription(ctx, newSub("n", 0)) }},
		{"UpdateSubscription", func() error { return s.UpdateSubscription(ctx, newSub("a", 5)) }},
		{"SetStatus", func() error { return s.SetStatus(ctx, "a", store.Status{State: store.Disabled}) }},
		{"DeleteSubscription", func() error { _, err := s.DeleteSubscription(ctx, "a"); return err }},
		{"Subscription", func() error { _, err := s.Subscription(ctx, "a"); return err }},
		{"Subscriptions", func() error { _, err := s.Subscriptions(ctx); return err }},
		{"Touch", func() error { _, err := s.Touch(ctx, "c", at(time.Minute), at(time.Minute+holdFor)); return err }},
		{"Assign", func() error {
			_, err := s.Assign(ctx, store.Assignment{ClientID: "n", SubscriptionID: "b", Now: at(time.Minute)})
			return err
		}},
		{"Release", func() error { _, err := s.Release(ctx, "idle", time.Time{}); return err }},
		{"Sessions", func() error { _, err := s.Sessions(ctx, store.SessionQuery{}); return err }},
		{"AddUsage", func() error { _, err := s.AddUsage(ctx, "c", u); return err }},
		{"Claim", func() error { _, err := s.Claim(ctx, "k", t0, at(time.Hour)); return err }},
		{"SetModelLimit", func() error {
			return s.SetModelLimit(ctx, "a", store.ModelLimit{Model: "opus", Until: at(time.Hour)}, t0)
		}},
		{"SetReported", func() error {
			return s.SetReported(ctx, "a", store.Reported{At: t0, BlockShare: 0.5}, at(time.Hour))
		}},
	} {
		wantErr(t, call.f(), context.Canceled, call.name+" with a canceled context")
	}
	unchanged(t, s, before, "calls with a canceled context")
	addUsage(t, s, "c", u) // its ID was not remembered
	if ok, err := s.Claim(t.Context(), "k", t0, at(time.Hour)); err != nil || !ok {
		t.Errorf("Claim after a Claim with a canceled context = %v, %v; want the claim", ok, err)
	}
}

func testClaim(t *testing.T, s store.Store) {
	claim := func(key string, now, until time.Time) bool {
		t.Helper()
		ok, err := s.Claim(t.Context(), key, now, until)
		if err != nil {
			t.Fatalf("Claim(%q, %v, %v): %v", key, now, until, err)
		}
		return ok
	}
	steps := []struct {
		what       string
		key        string
		now, until time.Time
		want       bool
	}{
		{"the first claim is made", "k", t0, at(time.Hour), true},
		{"a second claim while the first lives is not", "k", at(time.Minute), at(2 * time.Hour), false},
		{"another key is its own claim", "k2", at(time.Minute), at(time.Hour), true},
		{"the claim still lives a nanosecond before its end", "k", at(time.Hour - time.Nanosecond), at(3 * time.Hour), false},
		{"at its end the key can be claimed again", "k", at(time.Hour), at(2 * time.Hour), true},
		{"and that claim lives until its own end", "k", at(2*time.Hour - time.Nanosecond), at(5 * time.Hour), false},
		{"keys are compared whole", "k/1", t0, at(time.Hour), true},
	}
	for _, step := range steps {
		if got := claim(step.key, step.now, step.until); got != step.want {
			t.Errorf("%s: Claim(%q) = %v, want %v", step.what, step.key, got, step.want)
		}
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

func testSetModelLimit(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	set := func(l store.ModelLimit, now time.Time) {
		t.Helper()
		if err := s.SetModelLimit(t.Context(), "a", l, now); err != nil {
			t.Fatalf("SetModelLimit(%+v): %v", l, err)
		}
	}
	opus := store.ModelLimit{Model: "opus", Until: at(2 * time.Hour), Reason: "7d_opus rejected"}
	sonnet := store.ModelLimit{Model: "sonnet", Until: at(time.Hour)}
	set(opus, t0)
	set(sonnet, t0)
	diff(t, "model limits", get(t, s, "a").ModelLimits, []store.ModelLimit{opus, sonnet})
	later := store.ModelLimit{Model: "opus", Until: at(3 * time.Hour)}
	set(later, t0)
	diff(t, "model limits after a new opus limit", get(t, s, "a").ModelLimits, []store.ModelLimit{later, sonnet})
	set(store.ModelLimit{Model: "haiku", Until: at(4 * time.Hour)}, at(time.Hour)) // sonnet's has ended by now
	diff(t, "model limits after sonnet's ended", get(t, s, "a").ModelLimits,
		[]store.ModelLimit{{Model: "haiku", Until: at(4 * time.Hour)}, later})
	set(store.ModelLimit{Model: "opus"}, at(time.Hour)) // a zero Until removes it
	diff(t, "model limits after removing opus", get(t, s, "a").ModelLimits, []store.ModelLimit{{Model: "haiku", Until: at(4 * time.Hour)}})
	update := configured("a")
	if err := s.UpdateSubscription(t.Context(), update); err != nil {
		t.Fatal(err)
	}
	diff(t, "model limits after UpdateSubscription", get(t, s, "a").ModelLimits, []store.ModelLimit{{Model: "haiku", Until: at(4 * time.Hour)}})
	err := s.SetModelLimit(t.Context(), "zzz", opus, t0)
	wantErr(t, err, store.ErrNotFound, "SetModelLimit of a missing subscription")
}

func testSetReported(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	r1 := store.Reported{At: at(time.Minute), BlockShare: 0.4, BlockReset: at(3 * time.Hour), WeekShare: 0.1, WeekReset: at(100 * time.Hour)}
	if err := s.SetReported(t.Context(), "a", r1, at(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, "a")
	diff(t, "reported", got.Reported, r1)
	if want := store.HourStart(hourOf(-2 * time.Hour)); !got.BlockStart.Equal(want) {
		t.Errorf("BlockStart after a report = %v, want the reported block's start hour %v", got.BlockStart, want)
	}
	older := store.Reported{At: t0, BlockShare: 0.9}
	if err := s.SetReported(t.Context(), "a", older, at(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got = get(t, s, "a")
	diff(t, "reported after an older report", got.Reported, r1)
	if want := store.HourStart(hourOf(-2 * time.Hour)); !got.BlockStart.Equal(want) {
		t.Errorf("an older report moved BlockStart to %v", got.BlockStart)
	}
	// Usage anchors blocks as before, from the reported anchor.
	u := usage(at(4*time.Hour), 1)
	u.BlockHours = 5
	addUsage(t, s, "c", u)
	if want := store.HourStart(hourOf(4 * time.Hour)); !get(t, s, "a").BlockStart.Equal(want) {
		t.Errorf("a usage after the reported block's end did not start a block at %v", want)
	}
	err := s.SetReported(t.Context(), "zzz", r1, time.Time{})
	wantErr(t, err, store.ErrNotFound, "SetReported of a missing subscription")
}
