package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// The clauses about holds on slots: MaxClients caps the sessions whose hold
// is after the call's now, not the sessions.

func testEndedHoldFreesTheSlot(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 2))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "a", at(time.Minute))
	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c3", SubscriptionID: "a", Now: at(holdFor - time.Nanosecond), HoldUntil: at(2 * holdFor)})
	wantErr(t, err, store.ErrFull, "Assign a nanosecond before the first hold ends")
	join(t, s, "c3", "a", at(holdFor)) // c1's hold ends at holdFor: not after it
	if n, h := clients(t, s, "a"), holding(t, s, "a", at(holdFor)); n != 3 || h != 2 {
		t.Errorf("after the first hold ended and a third client joined: %d clients, %d holding a slot; want 3 and 2", n, h)
	}
	diff(t, "holds after now", holdsAfter(t, s, "a", at(holdFor)), []time.Time{at(time.Minute + holdFor), at(2 * holdFor)})
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "c4", SubscriptionID: "a", Now: at(holdFor), HoldUntil: at(2 * holdFor)})
	wantErr(t, err, store.ErrFull, "Assign while two holds run")
}

func testAssignWithoutHold(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1))
	got := assign(t, s, store.Assignment{ClientID: "c1", SubscriptionID: "a", Now: t0})
	if !got.HoldUntil.IsZero() {
		t.Errorf("a session assigned without a hold has HoldUntil %v, want zero", got.HoldUntil)
	}
	assign(t, s, store.Assignment{ClientID: "c2", SubscriptionID: "a", Now: t0, HoldUntil: t0}) // a hold that has ended
	join(t, s, "c3", "a", t0)
	if n, h := clients(t, s, "a"), holding(t, s, "a", t0); n != 3 || h != 1 {
		t.Errorf("%d clients, %d holding a slot; want 3 and 1", n, h)
	}
}

func testTouchGivesAnIdleClientItsPlace(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 2))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "a", at(10*time.Minute)) // c1 has been idle since holdFor
	now := at(10 * time.Minute)
	got, err := s.Touch(t.Context(), "c1", now, now.Add(holdFor))
	if err != nil {
		t.Fatalf("Touch of an idle client with room: %v", err)
	}
	diff(t, "what Touch returned", got, store.Touched{SubscriptionID: "a", Held: at(holdFor), HoldUntil: now.Add(holdFor)})
	if h := holding(t, s, "a", now); h != 2 {
		t.Errorf("%d clients hold a slot after the idle client came back, want 2", h)
	}
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "c3", SubscriptionID: "a", Now: now, HoldUntil: now.Add(holdFor)})
	wantErr(t, err, store.ErrFull, "Assign once the idle client took its place again")
}

func testTouchOfAnIdleClientOnAFullSubscription(t *testing.T, s store.Store) {
	status := store.Status{State: store.Limited, Until: at(time.Hour), Reason: "429"}
	create(t, s, newSub("a", 2))
	join(t, s, "c1", "a", t0)
	now := at(10 * time.Minute)
	join(t, s, "c2", "a", now)
	join(t, s, "c3", "a", now)
	if err := s.SetStatus(t.Context(), "a", status); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	got, err := s.Touch(t.Context(), "c1", now, now.Add(holdFor))
	wantErr(t, err, store.ErrFull, "Touch of an idle client whose subscription filled up meanwhile")
	diff(t, "what Touch returned with ErrFull", got, store.Touched{SubscriptionID: "a", Status: status, Held: at(holdFor), HoldUntil: at(holdFor)})
	unchanged(t, s, before, "Touch refused with ErrFull")
	if h := holding(t, s, "a", now); h != 2 {
		t.Errorf("%d clients hold a slot, want 2", h)
	}
	// Nor does an Assign to the subscription it is on, which Touch is.
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "c1", SubscriptionID: "a", From: "a", Now: now, HoldUntil: now.Add(holdFor)})
	wantErr(t, err, store.ErrFull, "Assign of an idle client to the full subscription it is on")
	unchanged(t, s, before, "Assign refused with ErrFull")
}

func testHoldsNeverMoveBack(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	hour := at(time.Hour)
	u := usage(at(time.Minute), 1)
	u.HoldUntil = hour
	addUsage(t, s, "c", u)
	if got, err := s.Touch(t.Context(), "c", at(2*time.Minute), at(2*time.Minute+holdFor)); err != nil || !got.HoldUntil.Equal(hour) || !got.Held.Equal(hour) {
		t.Errorf("Touch with an earlier hold = %+v, %v; want the hold kept at %v", got, err, hour)
	}
	u = usage(at(3*time.Minute), 1)
	u.HoldUntil = at(3*time.Minute + holdFor)
	addUsage(t, s, "c", u)
	assign(t, s, store.Assignment{ClientID: "c", SubscriptionID: "a", From: "a", Now: at(4 * time.Minute), HoldUntil: at(4*time.Minute + holdFor)})
	if got := session(t, s, "c").HoldUntil; !got.Equal(hour) {
		t.Errorf("HoldUntil after a Touch, a usage and an Assign with earlier holds = %v, want %v", got, hour)
	}
	diff(t, "holds", holdsAfter(t, s, "a", at(4*time.Minute)), []time.Time{hour})
}

func testReleaseAndMovesDropTheHold(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1), newSub("b", 1), newSub("c", 0))
	join(t, s, "c1", "a", t0)
	release(t, s, "c1", time.Time{})
	join(t, s, "c2", "a", t0) // c1's slot is free
	now := at(time.Minute)
	moved := assign(t, s, store.Assignment{ClientID: "c2", SubscriptionID: "b", From: "a", Now: now, HoldUntil: now.Add(holdFor)})
	if !moved.HoldUntil.Equal(now.Add(holdFor)) {
		t.Errorf("HoldUntil after a move = %v, want the Assignment's %v", moved.HoldUntil, now.Add(holdFor))
	}
	join(t, s, "c3", "a", now) // c2 left its slot on a
	diff(t, "holds of a", holdsAfter(t, s, "a", now), []time.Time{now.Add(holdFor)})
	// An idle move (no HoldUntil) gives no hold on the target.
	later := at(10 * time.Minute)
	idle := assign(t, s, store.Assignment{ClientID: "c2", SubscriptionID: "c", From: "b", IdleSince: now, Now: later})
	if !idle.HoldUntil.IsZero() {
		t.Errorf("HoldUntil after an idle move = %v, want zero", idle.HoldUntil)
	}
	diff(t, "holds of c after an idle move", holdsAfter(t, s, "c", later), []time.Time(nil))
	join(t, s, "c4", "b", later)
}

func testAddUsageExtendsTheHold(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1), newSub("b", 0))
	join(t, s, "c", "a", t0)
	u := usage(at(3*time.Minute), 5)
	u.SubscriptionID = "b" // billed elsewhere: the hold is on the session's subscription
	u.HoldUntil = at(3*time.Minute + time.Hour)
	added, err := s.AddUsage(t.Context(), "c", u)
	if err != nil {
		t.Fatalf("AddUsage: %v", err)
	}
	diff(t, "what AddUsage returned", added, store.Added{Billed: "b", SubscriptionID: "a", Held: at(holdFor), HoldUntil: u.HoldUntil})
	diff(t, "holds of a", holdsAfter(t, s, "a", at(3*time.Minute)), []time.Time{u.HoldUntil})
	// An hour's hold: the slot stays held until it ends, and no longer.
	late := at(time.Hour + 3*time.Minute - time.Nanosecond)
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "d", SubscriptionID: "a", Now: late, HoldUntil: late.Add(holdFor)})
	wantErr(t, err, store.ErrFull, "Assign a nanosecond before an hour's hold ends")
	join(t, s, "d", "a", u.HoldUntil)

	added, err = s.AddUsage(t.Context(), "", store.UsageRecord{SubscriptionID: "b", Time: t0, Now: t0, Cost: 1, HoldUntil: at(time.Hour)})
	if err != nil || added != (store.Added{Billed: "b"}) {
		t.Errorf("AddUsage without a client = %+v, %v; want only the subscription billed", added, err)
	}
}

func testAddUsageOfAnIdleClientOnAFullSubscription(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1))
	join(t, s, "c1", "a", t0)
	now := at(10 * time.Minute)
	join(t, s, "c2", "a", now) // c1 has been idle since holdFor
	u := usage(now, 5)
	u.HoldUntil = now.Add(time.Hour)
	added, err := s.AddUsage(t.Context(), "c1", u)
	if err != nil {
		t.Fatalf("AddUsage of an idle client on a full subscription: %v; want it counted", err)
	}
	diff(t, "what AddUsage returned", added, store.Added{Billed: "a", SubscriptionID: "a", Held: at(holdFor), HoldUntil: at(holdFor)})
	got := session(t, s, "c1")
	if got.Requests != 1 || !got.LastActive.Equal(now) || !got.HoldUntil.Equal(at(holdFor)) {
		t.Errorf("session after the usage = %+v; want it counted and active at %v, its hold still ended at %v", got, now, at(holdFor))
	}
	if h := holding(t, s, "a", now); h != 1 {
		t.Errorf("%d clients hold a slot, want 1", h)
	}
	// With room, the usage gives the idle client its place again.
	release(t, s, "c2", time.Time{})
	added, err = s.AddUsage(t.Context(), "c1", u)
	if err != nil || !added.HoldUntil.Equal(u.HoldUntil) {
		t.Errorf("AddUsage of an idle client with room = %+v, %v; want its hold renewed to %v", added, err, u.HoldUntil)
	}
}

func testHoldsForgetEnded(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	const n = 200
	var last time.Time
	for i := range n { // one client a minute, each holding a slot for holdFor
		last = at(time.Duration(i) * time.Minute)
		join(t, s, fmt.Sprintf("c%03d", i), "a", last)
	}
	sub := get(t, s, "a")
	if sub.Clients != n {
		t.Errorf("Clients = %d, want %d", sub.Clients, n)
	}
	for _, h := range sub.Holds {
		if h.Before(last) {
			t.Fatalf("Holds after %d clients joined a minute apart lists %d holds, among them %v, which ended before the latest write at %v",
				n, len(sub.Holds), h, last)
		}
	}
	if got, want := holding(t, s, "a", last), int(holdFor/time.Minute); got != want {
		t.Errorf("%d clients hold a slot at the end, want %d", got, want)
	}
}

func testConcurrentReturnOfIdleClients(t *testing.T, s store.Store) {
	const maxClients, idle, newcomers = 10, 10, 90
	create(t, s, newSub("a", maxClients))
	for i := range idle {
		join(t, s, fmt.Sprintf("idle%02d", i), "a", t0)
	}
	now := at(10 * time.Minute) // every hold has ended
	var o outcomes
	race(idle+newcomers, func(i int) {
		var err error
		if i < idle {
			_, err = s.Touch(t.Context(), fmt.Sprintf("idle%02d", i), now, now.Add(holdFor))
		} else {
			_, err = s.Assign(t.Context(), store.Assignment{ClientID: fmt.Sprintf("new%02d", i), SubscriptionID: "a", Now: now, HoldUntil: now.Add(holdFor)})
		}
		o.note(err, store.ErrFull)
	})
	o.check(t, "10 idle clients coming back and 90 new ones racing for 10 slots", map[string]int{
		"ok": maxClients, store.ErrFull.Error(): idle + newcomers - maxClients,
	})
	if h := holding(t, s, "a", now); h != maxClients {
		t.Errorf("%d clients hold a slot, want %d", h, maxClients)
	}
}
