package storetest

import (
	"fmt"
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
