package storetest

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks the CallerStore methods that create, change, delete and
// find callers.

func testCreateCaller(t *testing.T, s store.CallerStore) {
	full := store.Caller{ID: "svc.build_1", KeyHash: keyHash("svc"), Cap: 2_500_000_000, CapWindowHours: store.WeekHours,
		RatePerSecond: 0.5, RateBurst: 3, Sessionless: store.SessionlessSpread, Created: t0.Add(123456789 * time.Nanosecond),
		LargestCharge: 99} // store-kept: ignored
	plain := store.Caller{ID: "alice", KeyHash: keyHash("alice")}
	createCallers(t, s, full, plain)
	full.LargestCharge = 0
	want := []store.Caller{plain, full}
	got, err := s.Callers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Callers", got, want)
	diff(t, "Caller(svc.build_1)", getCaller(t, s, full.ID), full)
	for _, c := range want {
		byKey, err := s.CallerByKey(t.Context(), c.KeyHash)
		if err != nil {
			t.Fatalf("CallerByKey of %q: %v", c.ID, err)
		}
		diff(t, "CallerByKey of "+c.ID, byKey, c)
	}
	_, err = s.CallerByKey(t.Context(), keyHash("nobody"))
	wantErr(t, err, store.ErrNotFound, "CallerByKey of an unknown key")
	_, err = s.Caller(t.Context(), "nobody")
	wantErr(t, err, store.ErrNotFound, "Caller of an unknown ID")
}

func testCreateCallerTaken(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	before := callerSnapshot(t, s)
	sameID := newCaller("a")
	sameID.KeyHash = keyHash("other")
	sameKey := newCaller("b")
	sameKey.KeyHash = keyHash("a")
	for what, c := range map[string]store.Caller{"a taken ID": sameID, "a taken key hash": sameKey} {
		wantErr(t, s.CreateCaller(t.Context(), c), store.ErrExists, "CreateCaller with "+what)
		callersUnchanged(t, s, before, "CreateCaller with "+what)
	}
	if _, err := s.CallerByKey(t.Context(), keyHash("other")); err == nil {
		t.Error("the key hash of a refused caller was kept")
	}
}

// badCallers are records CreateCaller refuses, each with what its error
// must say.
var badCallers = []struct {
	what string
	c    store.Caller
	says string
}{
	{"an empty ID", store.Caller{KeyHash: keyHash("x")}, "caller id is empty"},
	{"an ID too long", store.Caller{ID: strings.Repeat("x", store.MaxCallerID+1), KeyHash: keyHash("x")}, "65 bytes long"},
	{"an ID with a slash", store.Caller{ID: "a/b", KeyHash: keyHash("x")}, `byte 1 ('/')`},
	{"no key hash", store.Caller{ID: "x"}, "keyHash is all zeros"},
	{"a negative cap", store.Caller{ID: "x", KeyHash: keyHash("x"), Cap: -1}, "cap -1 nanodollars"},
	{"a window past a week", store.Caller{ID: "x", KeyHash: keyHash("x"), CapWindowHours: 169}, "capWindowHours 169"},
	{"a NaN rate", store.Caller{ID: "x", KeyHash: keyHash("x"), RatePerSecond: math.NaN(), RateBurst: 1}, "ratePerSecond NaN"},
	{"a rate without a burst", store.Caller{ID: "x", KeyHash: keyHash("x"), RatePerSecond: 2}, "rateBurst 0: must be at least 1"},
	{"a burst without a rate", store.Caller{ID: "x", KeyHash: keyHash("x"), RateBurst: 2}, "rateBurst 2: set ratePerSecond too"},
	{"a sessionless mode in the wrong case", store.Caller{ID: "x", KeyHash: keyHash("x"), Sessionless: "Spread"}, `sessionless "Spread"`},
}

func testCreateCallerInvalid(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	before := callerSnapshot(t, s)
	for _, b := range badCallers {
		err := s.CreateCaller(t.Context(), b.c)
		wantErr(t, err, store.ErrInvalid, "CreateCaller with "+b.what)
		if !strings.Contains(err.Error(), b.says) {
			t.Errorf("CreateCaller with %s: %v; want it to say %q", b.what, err, b.says)
		}
	}
	callersUnchanged(t, s, before, "refused CreateCallers")
}

func testUpdateCaller(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"), newCaller("b"))
	chargeCaller(t, s, "a", charge("m1", t0, 700, "s1"))
	capND, window, sessionless := store.Nanodollars(5e9), 24, store.SessionlessSticky
	all := store.CallerUpdate{Cap: &capND, CapWindowHours: &window, Rate: &store.CallerRate{PerSecond: 1, Burst: 10},
		Sessionless: &sessionless}
	if err := s.UpdateCaller(t.Context(), "a", all); err != nil {
		t.Fatalf("UpdateCaller: %v", err)
	}
	want := newCaller("a")
	want.Cap, want.CapWindowHours, want.RatePerSecond, want.RateBurst, want.Sessionless = 5e9, 24, 1, 10, store.SessionlessSticky
	want.LargestCharge = 700
	diff(t, "the caller after UpdateCaller", getCaller(t, s, "a"), want)
	diff(t, "its hours after UpdateCaller", callerUsage(t, s, "a", hourOf(0), hourOf(0)),
		[]store.Bucket{{Hour: hourOf(0), Cost: 700, Requests: 1, Tokens: tokensOf(1)}})
	if got, err := s.CallerByKey(t.Context(), keyHash("a")); err != nil || got.ID != "a" {
		t.Errorf("CallerByKey of the kept key = %q, %v; want a", got.ID, err)
	}

	// Each update changes what it gives and nothing else.
	spread, noRate := store.SessionlessSpread, store.CallerRate{}
	for _, step := range []struct {
		u      store.CallerUpdate
		change func(c *store.Caller)
	}{
		{store.CallerUpdate{Sessionless: &spread}, func(c *store.Caller) { c.Sessionless = spread }},
		{store.CallerUpdate{Rate: &noRate}, func(c *store.Caller) { c.RatePerSecond, c.RateBurst = 0, 0 }},
		{store.CallerUpdate{Cap: new(store.Nanodollars)}, func(c *store.Caller) { c.Cap = 0 }},
		{store.CallerUpdate{CapWindowHours: new(int)}, func(c *store.Caller) { c.CapWindowHours = 0 }},
	} {
		if err := s.UpdateCaller(t.Context(), "a", step.u); err != nil {
			t.Fatalf("UpdateCaller %+v: %v", step.u, err)
		}
		step.change(&want)
		diff(t, "the caller after a partial UpdateCaller", getCaller(t, s, "a"), want)
	}

	before := callerSnapshot(t, s)
	wantErr(t, s.UpdateCaller(t.Context(), "nobody", all), store.ErrNotFound, "UpdateCaller of an unknown caller")
	wantErr(t, s.UpdateCaller(t.Context(), "b", store.CallerUpdate{}), store.ErrInvalid, "an UpdateCaller that changes nothing")
	for _, b := range badCallers {
		if b.c.ID != "x" || b.c.KeyHash == ([32]byte{}) {
			continue // the ID is not an update's, nor the key hash
		}
		c := b.c
		u := store.CallerUpdate{Cap: &c.Cap, CapWindowHours: &c.CapWindowHours,
			Rate: &store.CallerRate{PerSecond: c.RatePerSecond, Burst: c.RateBurst}, Sessionless: &c.Sessionless}
		err := s.UpdateCaller(t.Context(), "b", u)
		wantErr(t, err, store.ErrInvalid, "UpdateCaller with "+b.what)
		if err != nil && !strings.Contains(err.Error(), b.says) {
			t.Errorf("UpdateCaller with %s: %v; want it to say %q", b.what, err, b.says)
		}
	}
	callersUnchanged(t, s, before, "refused UpdateCallers")
}

// testConcurrentUpdateCaller updates two settings of one caller from two
// goroutines at once, many times: every update lands, and neither undoes
// the other's.
func testConcurrentUpdateCaller(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	wg.Go(func() {
		for i := range n {
			c := store.Nanodollars(i + 1)
			errs <- s.UpdateCaller(t.Context(), "a", store.CallerUpdate{Cap: &c})
		}
	})
	wg.Go(func() {
		for i := range n {
			h := i%store.WeekHours + 1
			errs <- s.UpdateCaller(t.Context(), "a", store.CallerUpdate{CapWindowHours: &h})
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateCaller: %v", err)
		}
	}
	want := newCaller("a")
	want.Cap, want.CapWindowHours = n, n
	diff(t, "the caller after both goroutines' last updates", getCaller(t, s, "a"), want)
}

func testDeleteCaller(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"), newCaller("b"))
	chargeCaller(t, s, "a", charge("m1", t0, 700, "s1"))
	if _, err := s.AdmitCaller(t.Context(), "a", t0, 1e9, 5, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCaller(t.Context(), "a"); err != nil {
		t.Fatalf("DeleteCaller: %v", err)
	}
	_, err := s.Caller(t.Context(), "a")
	wantErr(t, err, store.ErrNotFound, "Caller after DeleteCaller")
	_, err = s.CallerByKey(t.Context(), keyHash("a"))
	wantErr(t, err, store.ErrNotFound, "CallerByKey after DeleteCaller")
	for what, err := range map[string]error{
		"DeleteCaller":   s.DeleteCaller(t.Context(), "a"),
		"ChargeCaller":   func() error { _, err := s.ChargeCaller(t.Context(), "a", charge("m2", t0, 1, "")); return err }(),
		"CallerUsage":    func() error { _, err := s.CallerUsage(t.Context(), "a", 0, allHours); return err }(),
		"CallerSessions": func() error { _, err := s.CallerSessions(t.Context(), "a", 0, allHours); return err }(),
		"AdmitCaller":    func() error { _, err := s.AdmitCaller(t.Context(), "a", t0, 1, 1, time.Hour); return err }(),
		"ReleaseCaller":  s.ReleaseCaller(t.Context(), "a", "lease"),
	} {
		wantErr(t, err, store.ErrNotFound, what+" of a deleted caller")
	}
	diff(t, "Callers after DeleteCaller", callerSnapshot(t, s).Callers, []store.Caller{newCaller("b")})

	createCallers(t, s, newCaller("a")) // its ID and key are free again, and it starts afresh
	diff(t, "the caller made again", getCaller(t, s, "a"), newCaller("a"))
	diff(t, "its hours", callerUsage(t, s, "a", math.MinInt64, allHours), []store.Bucket(nil))
	diff(t, "its sessions", callerSessions(t, s, "a", math.MinInt64, allHours), []store.CallerSession(nil))
	if a := admit(t, s, "a", t0, 1, 1); !a.Admitted || a.InFlight != 0 || a.Estimate != 0 {
		t.Errorf("AdmitCaller of the caller made again = %+v; want admitted, nothing in flight, no estimate", a)
	}
}

func testCallerCanceledContext(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	chargeCaller(t, s, "a", charge("m1", t0, 600, "s"))
	held := admit(t, s, "a", t0, 1000, 5)
	before := callerSnapshot(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"CreateCaller", func() error { return s.CreateCaller(ctx, newCaller("n")) }},
		{"UpdateCaller", func() error { return s.UpdateCaller(ctx, "a", store.CallerUpdate{Cap: new(store.Nanodollars)}) }},
		{"DeleteCaller", func() error { return s.DeleteCaller(ctx, "a") }},
		{"Caller", func() error { _, err := s.Caller(ctx, "a"); return err }},
		{"Callers", func() error { _, err := s.Callers(ctx); return err }},
		{"CallerByKey", func() error { _, err := s.CallerByKey(ctx, keyHash("a")); return err }},
		{"ChargeCaller", func() error { _, err := s.ChargeCaller(ctx, "a", charge("m2", t0, 1, "s")); return err }},
		{"CallerUsage", func() error { _, err := s.CallerUsage(ctx, "a", 0, allHours); return err }},
		{"CallerSessions", func() error { _, err := s.CallerSessions(ctx, "a", 0, allHours); return err }},
		{"AdmitCaller", func() error { _, err := s.AdmitCaller(ctx, "a", t0, 1e9, 5, time.Minute); return err }},
		{"ReleaseCaller", func() error { return s.ReleaseCaller(ctx, "a", held.LeaseID) }},
	} {
		wantErr(t, call.f(), context.Canceled, call.name+" with a canceled context")
	}
	callersUnchanged(t, s, before, "calls with a canceled context")
	if a := admit(t, s, "a", at(time.Second), 1000, 5); a.Admitted || a.InFlight != 1 {
		t.Errorf("after calls with a canceled context: %+v; want the lease still held", a)
	}
	if !chargeCaller(t, s, "a", charge("m2", t0, 1, "s")) {
		t.Error("m2 was remembered by a charge with a canceled context")
	}
}
