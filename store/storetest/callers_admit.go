package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks how a CallerStore holds a caller's cap: AdmitCaller,
// its leases and ReleaseCaller.

func testAdmitCaller(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	const budget = 1000
	lease := func(a store.Admission) string { return a.LeaseID }

	// Before any charge there is no estimate: one request at a time.
	first := admit(t, s, "a", t0, budget, 5)
	diff(t, "the first admission", first, store.Admission{Admitted: true, LeaseID: lease(first)})
	if second := admit(t, s, "a", t0, budget, 5); second.Admitted || second.InFlight != 1 {
		t.Errorf("a second request with one in flight and no estimate = %+v; want refused, 1 in flight", second)
	}
	chargeCaller(t, s, "a", charge("m1", t0, 300, "")) // the first one's cost: the estimate
	releaseLease(t, s, "a", first.LeaseID)

	// used 300, estimate 300: 300 + n×300 < 1000 admits n = 0, 1 and 2 in
	// flight, not 3.
	var leases []string
	for n := range 3 {
		a := admit(t, s, "a", at(time.Minute), budget, 5)
		if !a.Admitted || a.InFlight != n || a.Used != 300 || a.Estimate != 300 {
			t.Fatalf("admission with %d in flight = %+v; want admitted, used 300, estimate 300", n, a)
		}
		if !a.Reset.Equal(at(5 * time.Hour)) {
			t.Errorf("Reset = %v; want t0+5h, when the hour spent leaves the window", a.Reset)
		}
		leases = append(leases, a.LeaseID)
	}
	if a := admit(t, s, "a", at(time.Minute), budget, 5); a.Admitted || a.InFlight != 3 {
		t.Errorf("admission with 3 in flight = %+v; want refused", a)
	}
	if leases[0] == leases[1] || leases[1] == leases[2] {
		t.Errorf("lease IDs %q are not distinct", leases)
	}
	releaseLease(t, s, "a", leases[0])
	releaseLease(t, s, "a", leases[0]) // again: no error
	if a := admit(t, s, "a", at(time.Minute), budget, 5); !a.Admitted || a.InFlight != 2 {
		t.Errorf("admission after a release = %+v; want admitted with 2 in flight", a)
	}

	// Spent: refused whatever is in flight, with the time it frees.
	chargeCaller(t, s, "a", charge("m2", at(2*time.Hour), 700, ""))
	a := admit(t, s, "a", at(2*time.Hour), budget, 5)
	want := store.Admission{Used: 1000, Estimate: 700, Reset: at(5 * time.Hour)} // the minute leases have ended
	diff(t, "an admission at the cap", a, want)
}

// releaseLease calls ReleaseCaller or fails the test.
func releaseLease(t *testing.T, s store.CallerStore, id, leaseID string) {
	t.Helper()
	if err := s.ReleaseCaller(t.Context(), id, leaseID); err != nil {
		t.Fatalf("ReleaseCaller(%q, %q): %v", id, leaseID, err)
	}
}

func testAdmitCallerWindow(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	for _, c := range []store.Charge{
		charge("", t0, 400, ""),                 // hour 0
		charge("", at(2*time.Hour), 300, ""),    // hour 2
		charge("", at(4*time.Hour), 300, ""),    // hour 4
		charge("", at(-time.Hour), 10_000, ""),  // before every window below
		charge("", at(30*time.Hour), 1000, "x"), // after now: not in the window
	} {
		chargeCaller(t, s, "a", c)
	}
	now := at(4*time.Hour + 30*time.Minute)
	for _, w := range []struct {
		what   string
		budget store.Nanodollars
		hours  int
		want   store.Admission
	}{
		{"a window of 5 hours at the cap: it falls below once hour 0 leaves", 1000, 5,
			store.Admission{Used: 1000, Estimate: 10_000, Reset: at(5 * time.Hour)}},
		{"a window of 5 hours over the cap: below once hours 0 and 2 leave", 500, 5,
			store.Admission{Used: 1000, Estimate: 10_000, Reset: at(7 * time.Hour)}},
		{"a window of 3 hours below the cap: it falls when hour 2 leaves", 1000, 3,
			store.Admission{Admitted: true, Used: 600, Estimate: 10_000, Reset: at(5 * time.Hour)}},
		{"a window of 1 hour", 1000, 1,
			store.Admission{Admitted: true, Used: 300, Estimate: 10_000, Reset: at(5 * time.Hour)}},
	} {
		a := admit(t, s, "a", now, w.budget, w.hours)
		if a.Admitted {
			releaseLease(t, s, "a", a.LeaseID)
			w.want.LeaseID = a.LeaseID
		}
		diff(t, w.what, a, w.want)
	}
	if a := admit(t, s, "a", at(40*time.Hour), 1000, 1); !a.Admitted || a.Used != 0 || !a.Reset.IsZero() {
		t.Errorf("an admission with nothing spent in the window = %+v; want admitted, nothing used, no reset", a)
	}
}

func testAdmitCallerLeaseEnds(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	chargeCaller(t, s, "a", charge("", t0, 600, ""))
	if a := admit(t, s, "a", t0, 1000, 5); !a.Admitted { // a lease of a minute, never released
		t.Fatalf("the first admission = %+v", a)
	}
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{
		{30 * time.Second, false},                    // 600 + 1×600 is not below 1000
		{time.Minute - time.Nanosecond, false},       // the lease still lives
		{time.Minute, true},                          // it has ended
		{time.Minute + 30*time.Second, false},        // the lease just taken lives
		{2*time.Minute + time.Millisecond, true},     // and ends in turn
		{2*time.Minute + 2*time.Millisecond, false},  // another in flight
		{100*time.Minute + time.Millisecond, true},   // long after
		{100*time.Minute + 59*time.Second, false},    // refused again: the lease holds
		{101*time.Minute + 1*time.Millisecond, true}, // until its end
	} {
		if a := admit(t, s, "a", at(step.at), 1000, 5); a.Admitted != step.want {
			t.Errorf("admission at t0+%v = %+v; want admitted %v", step.at, a, step.want)
		}
	}
}

func testAdmitCallerRefused(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	for _, b := range []struct {
		what   string
		id     string
		now    time.Time
		budget store.Nanodollars
		hours  int
		lease  time.Duration
	}{
		{"no caller ID", "", t0, 1, 1, time.Minute},
		{"no time", "a", time.Time{}, 1, 1, time.Minute},
		{"no budget", "a", t0, 0, 1, time.Minute},
		{"a negative budget", "a", t0, -5, 1, time.Minute},
		{"a budget past the maximum", "a", t0, store.MaxUSD*1e9 + 1, 1, time.Minute},
		{"no window", "a", t0, 1, 0, time.Minute},
		{"a window past a week", "a", t0, 1, store.WeekHours + 1, time.Minute},
		{"no lease", "a", t0, 1, 1, 0},
	} {
		a, err := s.AdmitCaller(t.Context(), b.id, b.now, b.budget, b.hours, b.lease)
		wantErr(t, err, store.ErrInvalid, "AdmitCaller with "+b.what)
		if a.Admitted {
			t.Errorf("AdmitCaller with %s admitted", b.what)
		}
	}
	_, err := s.AdmitCaller(t.Context(), "nobody", t0, 1, 1, time.Minute)
	wantErr(t, err, store.ErrNotFound, "AdmitCaller of an unknown caller")
	wantErr(t, s.ReleaseCaller(t.Context(), "nobody", "lease"), store.ErrNotFound, "ReleaseCaller of an unknown caller")
	wantErr(t, s.ReleaseCaller(t.Context(), "a", ""), store.ErrInvalid, "ReleaseCaller without a lease ID")
	releaseLease(t, s, "a", "never-given")
	if a := admit(t, s, "a", t0, 1, 1); !a.Admitted || a.InFlight != 0 {
		t.Errorf("after refused admissions: %+v; want admitted with nothing in flight", a)
	}
}

func testConcurrentAdmitCaller(t *testing.T, s store.CallerStore) {
	const (
		goroutines = 8
		cost       = 1_000
		budget     = 40 * cost
	)
	createCallers(t, s, newCaller("a"))
	var (
		mu          sync.Mutex
		spent       store.Nanodollars
		maxInFlight int
	)
	race(goroutines, func(g int) {
		for i := 0; ; i++ {
			a, err := s.AdmitCaller(t.Context(), "a", t0, budget, 5, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if !a.Admitted {
				if a.Used >= budget {
					return // spent
				}
				time.Sleep(20 * time.Microsecond) // near the cap with others in flight: wait for them
				continue
			}
			mu.Lock()
			maxInFlight = max(maxInFlight, a.InFlight)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond) // the request, in flight
			c := charge(fmt.Sprintf("g%d-%d", g, i), t0, cost, fmt.Sprint("g", g))
			if ok, err := s.ChargeCaller(t.Context(), "a", c); err != nil || !ok {
				t.Errorf("ChargeCaller = %v, %v", ok, err)
			}
			mu.Lock()
			spent += cost
			mu.Unlock()
			if err := s.ReleaseCaller(context.WithoutCancel(t.Context()), "a", a.LeaseID); err != nil {
				t.Error(err)
			}
		}
	})
	got := callerUsage(t, s, "a", math.MinInt64, allHours)
	if len(got) != 1 || got[0].Cost != spent {
		t.Fatalf("the store counts %+v; the goroutines charged %d", got, spent)
	}
	if spent < budget || spent >= budget+cost {
		t.Errorf("%d goroutines spent %d against a cap of %d at %d a request; want at least the cap and less than cap + %d",
			goroutines, spent, budget, cost, cost)
	}
	if maxInFlight < 1 {
		t.Errorf("no request was admitted while another was in flight: the test did not race")
	}
}
