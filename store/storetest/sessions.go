package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

func testTouch(t *testing.T, s store.Store) {
	status := store.Status{State: store.Limited, Until: at(time.Hour), Reason: "429"}
	sub := newSub("a", 0)
	sub.Status = status
	create(t, s, sub, newSub("b", 0))
	join(t, s, "c", "b", t0)
	if err := s.SetStatus(t.Context(), "b", status); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}

	got, err := s.Touch(t.Context(), "c", at(time.Minute), at(time.Minute+holdFor))
	if err != nil {
		t.Fatalf("Touch: %v", err)
	}
	diff(t, "what Touch returned", got, store.Touched{
		SubscriptionID: "b", Status: status, Held: at(holdFor), HoldUntil: at(time.Minute + holdFor),
	})
	diff(t, "session after Touch", session(t, s, "c"), store.Session{
		ClientID: "c", SubscriptionID: "b", Created: t0, Assigned: t0, LastActive: at(time.Minute), HoldUntil: at(time.Minute + holdFor),
	})
	diff(t, "holds of the subscription after Touch", holdsAfter(t, s, "b", at(time.Minute)), []time.Time{at(time.Minute + holdFor)})
	if got := get(t, s, "b").LastActive; !got.Equal(at(time.Minute)) {
		t.Errorf("subscription LastActive after Touch = %v, want %v", got, at(time.Minute))
	}
}

func testTouchNeverMovesBack(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	touch(t, s, "c", at(2*time.Minute))
	touch(t, s, "c", at(time.Minute))
	touch(t, s, "c", t0.Add(-time.Hour))
	if got := session(t, s, "c").LastActive; !got.Equal(at(2 * time.Minute)) {
		t.Errorf("session LastActive after Touches at +2m, +1m, -1h = %v, want %v", got, at(2*time.Minute))
	}
	if got := get(t, s, "a").LastActive; !got.Equal(at(2 * time.Minute)) {
		t.Errorf("subscription LastActive after Touches at +2m, +1m, -1h = %v, want %v", got, at(2*time.Minute))
	}
	if got := session(t, s, "c").HoldUntil; !got.Equal(at(2*time.Minute + holdFor)) {
		t.Errorf("session HoldUntil after Touches at +2m, +1m, -1h = %v, want %v", got, at(2*time.Minute+holdFor))
	}
}

func testTouchMissing(t *testing.T, s store.Store) {
	_, err := s.Touch(t.Context(), "c", t0, at(holdFor))
	wantErr(t, err, store.ErrNotFound, "Touch of a client in an empty store")
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	before := snapshot(t, s)
	_, err = s.Touch(t.Context(), "d", at(time.Minute), at(time.Minute+holdFor))
	wantErr(t, err, store.ErrNotFound, "Touch of a client without a session")
	unchanged(t, s, before, "Touch of a client without a session")
}

func testAssignNew(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 2))
	got := join(t, s, "c", "a", t0)
	want := store.Session{ClientID: "c", SubscriptionID: "a", Created: t0, Assigned: t0, LastActive: t0, HoldUntil: at(holdFor)}
	diff(t, "session Assign returned", got, want)
	diff(t, "session Sessions lists", session(t, s, "c"), want)
	sub := newSub("a", 2)
	sub.Clients, sub.LastActive, sub.Holds = 1, t0, []time.Time{at(holdFor)}
	diff(t, "subscription after Assign", get(t, s, "a"), sub)
}

func testAssignConflict(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "a", t0)
	touch(t, s, "c", at(time.Minute))
	before := snapshot(t, s)

	for _, tc := range []struct {
		why string
		a   store.Assignment
	}{
		{"new client that has a session", store.Assignment{ClientID: "c", SubscriptionID: "b", Now: at(2 * time.Minute)}},
		{"new client that has a session on the target", store.Assignment{ClientID: "c", SubscriptionID: "a", Now: at(2 * time.Minute)}},
		{"client on another subscription than From", store.Assignment{ClientID: "c", SubscriptionID: "b", From: "b", Now: at(2 * time.Minute)}},
		{"client on another subscription than an unknown From", store.Assignment{ClientID: "c", SubscriptionID: "b", From: "x", Now: at(2 * time.Minute)}},
		{"client without a session", store.Assignment{ClientID: "d", SubscriptionID: "b", From: "a", Now: at(2 * time.Minute)}},
		{"client active after IdleSince", store.Assignment{ClientID: "c", SubscriptionID: "b", From: "a", IdleSince: at(time.Minute - time.Nanosecond), Now: at(2 * time.Minute)}},
		{"client on the target, active after IdleSince", store.Assignment{ClientID: "c", SubscriptionID: "a", From: "a", IdleSince: t0, Now: at(2 * time.Minute)}},
	} {
		_, err := s.Assign(t.Context(), tc.a)
		wantErr(t, err, store.ErrConflict, fmt.Sprintf("Assign of a %s (%+v)", tc.why, tc.a))
		unchanged(t, s, before, "Assign of a "+tc.why)
	}
}

func testAssignIdleAtIdleSince(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "a", t0)
	touch(t, s, "c", at(time.Minute))
	got := assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "b", From: "a", IdleSince: at(time.Minute), Now: at(10 * time.Minute)})
	if got.SubscriptionID != "b" {
		t.Errorf("Assign with IdleSince = LastActive put the client on %q, want b", got.SubscriptionID)
	}
}

func testAssignMissingTarget(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	before := snapshot(t, s)

	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "d", SubscriptionID: "x", Now: t0})
	wantErr(t, err, store.ErrNotFound, "Assign of a new client to an unknown subscription")
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "c", SubscriptionID: "x", From: "a", Now: t0})
	wantErr(t, err, store.ErrNotFound, "Assign of a client to an unknown subscription")
	unchanged(t, s, before, "Assign to an unknown subscription")
}

func testAssignInactive(t *testing.T, s store.Store) {
	now := at(time.Hour)
	create(t, s, newSub("home", 0))
	for i, tc := range []struct {
		status store.Status
		want   error
	}{
		{store.Status{State: store.Disabled, Reason: "revoked"}, store.ErrInactive},
		{store.Status{State: store.Disabled, Until: t0}, store.ErrInactive}, // Until means nothing to Disabled
		{store.Status{State: store.Limited, Until: now.Add(time.Nanosecond)}, store.ErrInactive},
		{store.Status{State: store.Limited, Until: now.Add(24 * time.Hour)}, store.ErrInactive},
		{store.Status{State: store.Limited, Until: now}, nil},
		{store.Status{State: store.Limited, Until: t0}, nil},
		{store.Status{State: store.Limited}, nil},
		{store.Status{State: store.Active, Until: now.Add(time.Hour)}, nil}, // Until means nothing to Active
	} {
		subID := fmt.Sprintf("s%d", i)
		sub := newSub(subID, 0)
		sub.Status = tc.status
		create(t, s, sub)
		newClient, mover := "new-"+subID, "mover-"+subID
		join(t, s, mover, "home", t0)
		before := snapshot(t, s)

		_, errNew := s.Assign(t.Context(), store.Assignment{ClientID: newClient, SubscriptionID: subID, Now: now})
		_, errMove := s.Assign(t.Context(), store.Assignment{ClientID: mover, SubscriptionID: subID, From: "home", Now: now})
		if tc.want == nil {
			if errNew != nil || errMove != nil {
				t.Errorf("Assign to a subscription with status %+v at %v: new client: %v, moving client: %v; want both in", tc.status, now, errNew, errMove)
			}
			continue
		}
		wantErr(t, errNew, tc.want, fmt.Sprintf("Assign of a new client to a subscription with status %+v at %v", tc.status, now))
		wantErr(t, errMove, tc.want, fmt.Sprintf("Assign of a moving client to a subscription with status %+v at %v", tc.status, now))
		unchanged(t, s, before, "Assign to a subscription out of service")
	}
}

func testAssignFull(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 2), newSub("b", 0))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "a", t0)
	join(t, s, "mover", "b", t0)
	before := snapshot(t, s)

	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c3", SubscriptionID: "a", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign of a new client to a full subscription")
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "mover", SubscriptionID: "a", From: "b", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign of a moving client to a full subscription")
	unchanged(t, s, before, "Assign to a full subscription")

	for i := range 20 {
		join(t, s, fmt.Sprintf("u%02d", i), "b", t0) // MaxClients 0: no cap
	}
	if got := clients(t, s, "b"); got != 21 {
		t.Errorf("Clients of an uncapped subscription = %d, want 21", got)
	}
}

func testAssignAlreadyOnTarget(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(at(time.Minute), 5))
	want := session(t, s, "c")

	got := assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "a", From: "a", Now: at(3 * time.Minute)})
	want.LastActive = at(3 * time.Minute)
	diff(t, "session after Assign to the subscription it is on", got, want)
	diff(t, "session Sessions lists", session(t, s, "c"), want)

	got = assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "a", From: "a", IdleSince: at(3 * time.Minute), Now: at(2 * time.Minute)})
	diff(t, "session after an Assign at an earlier time (LastActive never moves back)", got, want)
	if n := clients(t, s, "a"); n != 1 {
		t.Errorf("Clients after Assigns of the client already on it = %d, want 1", n)
	}
}

func testAssignMove(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "a", t0)
	join(t, s, "other", "a", t0)
	addUsage(t, s, "c", store.UsageRecord{Time: at(time.Minute), Now: at(time.Minute), Cost: 5, Tokens: store.Tokens{Input: 10, Output: 20, CacheWrite: 30, CacheRead: 40}, Model: "opus"})

	got := assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "b", From: "a", Now: at(5 * time.Minute)})
	want := store.Session{
		ClientID: "c", SubscriptionID: "b", Created: t0, Assigned: at(5 * time.Minute), LastActive: at(5 * time.Minute),
		Requests: 1, Cost: 5, Tokens: store.Tokens{Input: 10, Output: 20, CacheWrite: 30, CacheRead: 40}, Model: "opus",
	}
	diff(t, "session Assign returned after a move", got, want)
	diff(t, "session Sessions lists after a move", session(t, s, "c"), want)
	if got := get(t, s, "b").LastActive; !got.Equal(at(5 * time.Minute)) {
		t.Errorf("LastActive of the subscription joined = %v, want the move's time %v", got, at(5*time.Minute))
	}
	if n := clients(t, s, "a"); n != 1 {
		t.Errorf("Clients of the subscription left = %d, want 1", n)
	}
	if n := clients(t, s, "b"); n != 1 {
		t.Errorf("Clients of the subscription joined = %d, want 1", n)
	}
	diff(t, "clients on a", clientIDs(sessions(t, s, store.SessionQuery{SubscriptionID: "a"})), []string{"other"})
	diff(t, "clients on b", clientIDs(sessions(t, s, store.SessionQuery{SubscriptionID: "b"})), []string{"c"})
	if billed := addUsage(t, s, "c", usage(at(6*time.Minute), 1)); billed != "b" {
		t.Errorf("AddUsage after the move billed %q, want b", billed)
	}
}

func testAssignIdleMoveIsNotActivity(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(at(time.Minute), 5))

	got := assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "b", From: "a", IdleSince: at(time.Minute), Now: at(10 * time.Minute)})
	if !got.LastActive.Equal(at(time.Minute)) || !got.Assigned.Equal(at(10*time.Minute)) {
		t.Errorf("an idle move gave LastActive %v and Assigned %v, want LastActive kept at %v and Assigned %v",
			got.LastActive, got.Assigned, at(time.Minute), at(10*time.Minute))
	}
	if b := get(t, s, "b").LastActive; !b.IsZero() {
		t.Errorf("an idle move made the subscription joined LastActive at %v, want it untouched (zero)", b)
	}
	if n := clients(t, s, "b"); n != 1 {
		t.Errorf("Clients of the subscription joined = %d, want 1", n)
	}
}

func testRelease(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	join(t, s, "other", "a", t0)
	addUsage(t, s, "c", usage(at(time.Minute), 5))
	want := session(t, s, "c")

	got := release(t, s, "c", time.Time{})
	diff(t, "session Release returned", got, want)
	if n := clients(t, s, "a"); n != 1 {
		t.Errorf("Clients after Release = %d, want 1", n)
	}
	diff(t, "sessions after Release", clientIDs(sessions(t, s, store.SessionQuery{})), []string{"other"})
	_, err := s.Touch(t.Context(), "c", at(time.Hour), at(time.Hour+holdFor))
	wantErr(t, err, store.ErrNotFound, "Touch after Release")
	_, err = s.AddUsage(t.Context(), "c", usage(at(time.Hour), 1))
	wantErr(t, err, store.ErrNotFound, "AddUsage after Release")
}

func testReleaseTwice(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	release(t, s, "c", time.Time{})
	_, err := s.Release(t.Context(), "c", time.Time{})
	wantErr(t, err, store.ErrNotFound, "second Release")
	if n := clients(t, s, "a"); n != 0 {
		t.Errorf("Clients after two Releases of its only client = %d, want 0", n)
	}
}

func testReleaseFreesCapacity(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1))
	join(t, s, "c1", "a", t0)
	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c2", SubscriptionID: "a", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign to a full subscription")
	release(t, s, "c1", time.Time{})
	join(t, s, "c2", "a", at(time.Minute))
}

func testReleaseIdleSince(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	touch(t, s, "c", at(time.Minute))
	before := snapshot(t, s)

	_, err := s.Release(t.Context(), "c", at(time.Minute-time.Nanosecond))
	wantErr(t, err, store.ErrConflict, "Release of a client active after idleSince")
	unchanged(t, s, before, "Release of a client active after idleSince")

	got := release(t, s, "c", at(time.Minute))
	diff(t, "session Release returned", got, before.Sessions[0])
}

func testReleaseMissing(t *testing.T, s store.Store) {
	_, err := s.Release(t.Context(), "c", time.Time{})
	wantErr(t, err, store.ErrNotFound, "Release in an empty store")
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	_, err = s.Release(t.Context(), "d", at(time.Hour))
	wantErr(t, err, store.ErrNotFound, "Release of a client without a session")
}

func testReleaseThenAssignAgain(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(at(time.Minute), 5))
	release(t, s, "c", time.Time{})
	got := join(t, s, "c", "a", at(time.Hour))
	diff(t, "new session of a released client", got, store.Session{
		ClientID: "c", SubscriptionID: "a", Created: at(time.Hour), Assigned: at(time.Hour), LastActive: at(time.Hour),
		HoldUntil: at(time.Hour + holdFor),
	})
}

// sessionsFixture creates subscriptions a and b and five sessions:
//
//	a1 on a, last active t0+3m
//	a2 on a, last active t0+1m
//	a3 on a, last active t0+1m
//	b1 on b, last active t0+2m
//	b2 on b, last active t0
func sessionsFixture(t *testing.T, s store.Store) {
	t.Helper()
	create(t, s, newSub("a", 0), newSub("b", 0))
	for _, c := range []struct {
		client, sub string
		at          time.Duration
	}{
		{"a3", "a", time.Minute},
		{"b1", "b", 2 * time.Minute},
		{"a1", "a", 3 * time.Minute},
		{"b2", "b", 0},
		{"a2", "a", time.Minute},
	} {
		join(t, s, c.client, c.sub, at(c.at))
	}
}

func testSessionsAll(t *testing.T, s store.Store) {
	sessionsFixture(t, s)
	addUsage(t, s, "b2", usage(t0, 5))
	fresh := func(client, sub string, when time.Time) store.Session {
		return store.Session{ClientID: client, SubscriptionID: sub, Created: when, Assigned: when, LastActive: when, HoldUntil: when.Add(holdFor)}
	}
	b2 := fresh("b2", "b", t0)
	b2.Requests, b2.Cost, b2.Tokens, b2.Model = 1, 5, usage(t0, 5).Tokens, usage(t0, 5).Model
	diff(t, "Sessions({})", byClient(sessions(t, s, store.SessionQuery{})), []store.Session{
		fresh("a1", "a", at(3*time.Minute)),
		fresh("a2", "a", at(time.Minute)),
		fresh("a3", "a", at(time.Minute)),
		fresh("b1", "b", at(2*time.Minute)),
		b2,
	})
}

func testSessionsBySubscription(t *testing.T, s store.Store) {
	sessionsFixture(t, s)
	for _, tc := range []struct {
		sub  string
		want []string
	}{
		{"a", []string{"a1", "a2", "a3"}},
		{"b", []string{"b1", "b2"}},
		{"x", nil},
	} {
		got := clientIDs(byClient(sessions(t, s, store.SessionQuery{SubscriptionID: tc.sub})))
		diff(t, fmt.Sprintf("clients of Sessions(SubscriptionID %q)", tc.sub), got, tc.want)
	}
}

func testSessionsActiveBefore(t *testing.T, s store.Store) {
	sessionsFixture(t, s)
	for _, tc := range []struct {
		before time.Time
		want   []string
	}{
		{t0, nil},
		{t0.Add(time.Nanosecond), []string{"b2"}},
		{at(time.Minute), []string{"b2"}},
		{at(time.Minute + time.Nanosecond), []string{"a2", "a3", "b2"}},
		{at(time.Hour), []string{"a1", "a2", "a3", "b1", "b2"}},
	} {
		got := clientIDs(byClient(sessions(t, s, store.SessionQuery{ActiveBefore: tc.before})))
		diff(t, fmt.Sprintf("clients of Sessions(ActiveBefore %v)", tc.before), got, tc.want)
	}
}

func testSessionsLimit(t *testing.T, s store.Store) {
	sessionsFixture(t, s)
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{1, []string{"b2"}},
		{2, []string{"b2", "a2"}},
		{3, []string{"b2", "a2", "a3"}},
		{10, []string{"b2", "a2", "a3", "b1", "a1"}},
	} {
		got := clientIDs(sessions(t, s, store.SessionQuery{Limit: tc.limit}))
		diff(t, fmt.Sprintf("clients of Sessions(Limit %d), in order", tc.limit), got, tc.want)
	}
}

func testSessionsCombined(t *testing.T, s store.Store) {
	sessionsFixture(t, s)
	for _, tc := range []struct {
		q    store.SessionQuery
		want []string
	}{
		{store.SessionQuery{SubscriptionID: "a", ActiveBefore: at(3 * time.Minute)}, []string{"a2", "a3"}},
		{store.SessionQuery{SubscriptionID: "a", ActiveBefore: at(time.Hour), Limit: 2}, []string{"a2", "a3"}},
		{store.SessionQuery{SubscriptionID: "a", ActiveBefore: at(3 * time.Minute), Limit: 1}, []string{"a2"}},
		{store.SessionQuery{SubscriptionID: "b", ActiveBefore: at(time.Hour), Limit: 5}, []string{"b2", "b1"}},
		{store.SessionQuery{SubscriptionID: "b", ActiveBefore: t0, Limit: 5}, nil},
		{store.SessionQuery{ActiveBefore: at(2 * time.Minute), Limit: 5}, []string{"b2", "a2", "a3"}},
	} {
		got := sessions(t, s, tc.q)
		if tc.q.Limit == 0 {
			got = byClient(got)
		}
		diff(t, fmt.Sprintf("clients of Sessions(%+v)", tc.q), clientIDs(got), tc.want)
	}
}

func testSessionsHoldEndedBy(t *testing.T, s store.Store) {
	sessionsFixture(t, s) // each holds a slot until 5 minutes after it joined
	for _, tc := range []struct {
		q    store.SessionQuery
		want []string
	}{
		{store.SessionQuery{HoldEndedBy: at(5*time.Minute - time.Nanosecond)}, nil},
		{store.SessionQuery{HoldEndedBy: at(5 * time.Minute)}, []string{"b2"}},
		{store.SessionQuery{HoldEndedBy: at(6 * time.Minute)}, []string{"a2", "a3", "b2"}},
		{store.SessionQuery{HoldEndedBy: at(6 * time.Minute), Limit: 2}, []string{"b2", "a2"}},
		{store.SessionQuery{HoldEndedBy: at(6 * time.Minute), ActiveBefore: at(time.Minute)}, []string{"b2"}},
		{store.SessionQuery{HoldEndedBy: at(time.Hour), SubscriptionID: "b", Limit: 1}, []string{"b2"}},
		{store.SessionQuery{HoldEndedBy: at(7 * time.Minute), SubscriptionID: "a"}, []string{"a2", "a3"}},
	} {
		got := sessions(t, s, tc.q)
		if tc.q.Limit == 0 {
			got = byClient(got)
		}
		diff(t, fmt.Sprintf("clients of Sessions(%+v)", tc.q), clientIDs(got), tc.want)
	}
}

// testSessionsManyPages queries 1,000 sessions, more than a store reads in
// one step (redisstore reads 256 index entries a step): with ties in
// LastActive that arrive out of client order, sessions that moved forward,
// and sessions that hold a slot for a day.
func testSessionsManyPages(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	type row struct {
		sub        string
		last, hold time.Time
	}
	model := map[string]row{}
	for i := range 1000 {
		client, sub := fmt.Sprintf("c%04d", (i*37)%1000), "a"
		if i%3 == 0 {
			sub = "b"
		}
		when, hold := at(time.Duration(i/5)*time.Second), at(time.Duration(i/5)*time.Second+holdFor)
		if i%10 == 0 {
			hold = at(24 * time.Hour)
		}
		assign(t, s, store.Assignment{ClientID: client, SubscriptionID: sub, Now: when, HoldUntil: hold})
		model[client] = row{sub, when, hold}
	}
	for i := 0; i < 1000; i += 9 {
		client, when := fmt.Sprintf("c%04d", i), at(time.Hour+time.Duration(i%4)*time.Millisecond)
		touch(t, s, client, when)
		r := model[client]
		r.last = when
		if when.Add(holdFor).After(r.hold) {
			r.hold = when.Add(holdFor)
		}
		model[client] = r
	}
	for _, q := range []store.SessionQuery{
		{},
		{Limit: 1000},
		{Limit: 300},
		{SubscriptionID: "a", Limit: 600},
		{ActiveBefore: at(150 * time.Second)},
		{ActiveBefore: at(time.Hour + 2*time.Millisecond), Limit: 990},
		{SubscriptionID: "b", ActiveBefore: at(time.Hour + time.Millisecond)},
		{HoldEndedBy: at(time.Hour), Limit: 700},
		{SubscriptionID: "a", HoldEndedBy: at(2 * time.Hour), ActiveBefore: at(100 * time.Second), Limit: 250},
	} {
		var want []string
		for client, r := range model {
			if (q.SubscriptionID == "" || r.sub == q.SubscriptionID) && (q.ActiveBefore.IsZero() || r.last.Before(q.ActiveBefore)) &&
				(q.HoldEndedBy.IsZero() || !r.hold.After(q.HoldEndedBy)) {
				want = append(want, client)
			}
		}
		slices.SortFunc(want, func(x, y string) int {
			if c := model[x].last.Compare(model[y].last); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
		got := sessions(t, s, q)
		if q.Limit > 0 {
			want = want[:min(q.Limit, len(want))]
		} else {
			got = byClient(got)
			slices.Sort(want)
		}
		diff(t, fmt.Sprintf("clients of Sessions(%+v)", q), clientIDs(got), want)
	}
}
