package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks how AddUsage remembers usage IDs: a duplicate refused, an
// ID forgotten by age or by budget, and the horizon a forgotten one reports.

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

func testAddUsageForgetsOldestByTime(t *testing.T, s store.Store) {
	// 300 bytes hold two IDs at either store's cost. Usages are recorded
	// out of the order of their times, as a long stream's is after short
	// ones that started later.
	runIDSteps(t, s, week, 300, []idStep{
		{10 * time.Minute, time.Hour, "a", nil},
		{time.Minute, time.Hour, "b", nil},
		{5 * time.Minute, time.Hour, "c", nil}, // forgets b, the oldest: the horizon is t0+1m
		{6 * time.Minute, time.Hour, "d", nil}, // newer than c and a, both remembered: counts
		{10 * time.Minute, time.Hour, "a", store.ErrDuplicate},
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
