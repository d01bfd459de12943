package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

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

func testFarFutureTimes(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	// 2300 is past what int64 nanoseconds since 1970 hold (April 2262): an
	// upstream's reset or a caller's "limited for good" may be that far.
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	farEnough := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SetStatus(t.Context(), "a", store.Status{State: store.Limited, Until: far}); err != nil {
		t.Fatal(err)
	}
	if st := get(t, s, "a").Status; st.InService(t0) || st.Until.Before(farEnough) {
		t.Errorf("status limited until 2300 reads back as %+v: in service at t0 = %v", st, st.InService(t0))
	}
	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c", SubscriptionID: "a", Now: t0, HoldUntil: at(holdFor)})
	wantErr(t, err, store.ErrInactive, "Assign to a subscription limited until 2300")
	if err := s.SetModelLimit(t.Context(), "b", store.ModelLimit{Model: "opus", Until: far}, t0); err != nil {
		t.Fatal(err)
	}
	if ls := get(t, s, "b").ModelLimits; len(ls) != 1 || ls[0].Until.Before(farEnough) {
		t.Errorf("model limits after a limit until 2300 = %+v; want opus's, until 2262 or later", ls)
	}
	if err := s.SetReported(t.Context(), "b", store.Reported{At: t0, WeekShare: 1, WeekReset: far}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := get(t, s, "b").Reported; r.WeekReset.Before(farEnough) {
		t.Errorf("a week reported to reset in 2300 reads back resetting at %v", r.WeekReset)
	}
}
