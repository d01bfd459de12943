package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks how a CallerStore counts what callers spend: hourly
// totals, sessions, and usage IDs counted once.

func testChargeCallerHours(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"), newCaller("b"))
	for _, c := range []store.Charge{
		charge("m1", at(10*time.Minute), 100, "s1"),
		charge("m2", at(59*time.Minute+59*time.Second), 250, "s1"),
		charge("m3", at(time.Hour), 40, "s2"), // the next hour, to the nanosecond
		charge("", at(3*time.Hour+time.Minute), 5, ""),
	} {
		if !chargeCaller(t, s, "a", c) {
			t.Fatalf("charge %q at %v was not counted", c.UsageID, c.At)
		}
	}
	hour := func(d time.Duration, cost store.Nanodollars, n int64) store.Bucket {
		return store.Bucket{Hour: hourOf(d), Cost: cost, Requests: n, Tokens: tokensOf(n)}
	}
	all := []store.Bucket{hour(0, 350, 2), hour(time.Hour, 40, 1), hour(3*time.Hour, 5, 1)}
	for _, r := range []struct {
		what     string
		from, to int64
		want     []store.Bucket
	}{
		{"every hour", math.MinInt64, allHours, all},
		{"the first hour", hourOf(0), hourOf(0), all[:1]},
		{"two hours and an empty one", hourOf(time.Hour), hourOf(3 * time.Hour), all[1:]},
		{"an empty hour", hourOf(2 * time.Hour), hourOf(2 * time.Hour), nil},
		{"hours before any", hourOf(-100 * time.Hour), hourOf(-time.Hour), nil},
	} {
		diff(t, "CallerUsage of "+r.what, callerUsage(t, s, "a", r.from, r.to), r.want)
	}
	if got := getCaller(t, s, "a").LargestCharge; got != 250 {
		t.Errorf("LargestCharge = %d, want 250", got)
	}
	diff(t, "the other caller's hours", callerUsage(t, s, "b", math.MinInt64, allHours), []store.Bucket(nil))
	_, err := s.CallerUsage(t.Context(), "a", 10, 9)
	wantErr(t, err, store.ErrInvalid, "CallerUsage with from after to")
}

func testChargeCallerOnce(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"), newCaller("b"))
	if ss, ok := s.(store.Store); ok {
		// The same message counted for a subscription does not make the
		// caller's charge a duplicate: the callers' IDs are their own.
		create(t, ss, newSub("sub", 0))
		addUsage(t, ss, "", store.UsageRecord{ID: "m1", SubscriptionID: "sub", Time: t0, Now: t0, Cost: 1, Remember: week, RememberBytes: rememberBytes})
	}
	if !chargeCaller(t, s, "a", charge("m1", t0, 100, "s1")) {
		t.Fatal("the first charge of m1 was not counted")
	}
	before := callerSnapshot(t, s)
	for _, c := range []struct {
		who string
		c   store.Charge
	}{
		{"a", charge("m1", t0, 100, "s1")},
		{"a", charge("m1", at(time.Hour), 5000, "s2")}, // another time, cost and session
		{"b", charge("m1", t0, 100, "s1")},             // another caller
	} {
		if chargeCaller(t, s, c.who, c.c) {
			t.Errorf("charge m1 for %s at %v counted again", c.who, c.c.At)
		}
	}
	callersUnchanged(t, s, before, "duplicate charges")
	for range 2 {
		chargeCaller(t, s, "a", charge("", t0, 1, "s1"))
	}
	if got := callerUsage(t, s, "a", hourOf(0), hourOf(0)); len(got) != 1 || got[0].Requests != 3 || got[0].Cost != 102 {
		t.Errorf("after two charges without an ID: %+v; want 3 requests costing 102", got)
	}
}

func testChargeCallerForgotten(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	chargeCaller(t, s, "a", charge("m1", at(2*time.Hour), 1, ""))
	before := callerSnapshot(t, s)
	old := charge("m0", t0, 1, "")
	old.Now, old.Remember = at(3*time.Hour), time.Hour // remembered until t0+2h: t0 is past it
	added, err := s.ChargeCaller(t.Context(), "a", old)
	var fe *store.ForgottenError
	if !errors.As(err, &fe) || added {
		t.Fatalf("a charge older than its remembrance = %v, %v; want a *store.ForgottenError", added, err)
	}
	if fe.ID != "m0" || !fe.Time.Equal(t0) || !fe.Horizon.Equal(at(2*time.Hour)) {
		t.Errorf("ForgottenError = %+v; want m0 at t0, horizon t0+2h", fe)
	}
	callersUnchanged(t, s, before, "a forgotten charge")
}

func testChargeCallerRefused(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	chargeCaller(t, s, "a", charge("m1", t0, 1, "s1"))
	before := callerSnapshot(t, s)
	_, err := s.ChargeCaller(t.Context(), "nobody", charge("m2", t0, 1, ""))
	wantErr(t, err, store.ErrNotFound, "ChargeCaller of an unknown caller")
	bad := []struct {
		what string
		edit func(c *store.Charge)
		says string
	}{
		{"no time", func(c *store.Charge) { c.At = time.Time{} }, "at is zero"},
		{"a negative cost", func(c *store.Charge) { c.Cost = -1 }, "cost -1"},
		{"a cost past the maximum", func(c *store.Charge) { c.Cost = store.MaxUSD*1e9 + 1 }, "must be in 0.."},
		{"negative tokens", func(c *store.Charge) { c.Tokens.CacheRead = -5 }, "none may be negative"},
		// Totals of such counts overflow: Redis refuses the increment
		// midway through the charge, memstore wraps them negative.
		{"tokens past the maximum", func(c *store.Charge) { c.Tokens.Input = math.MaxInt64 }, "none may be above"},
		{"a usage ID too long", func(c *store.Charge) { c.UsageID = strings.Repeat("m", store.MaxCallerText+1) }, "usageId is 257 bytes"},
		{"a session with a line break", func(c *store.Charge) { c.Session = "s\n1" }, "session \"s\\n1\" holds a control character"},
		{"a session not UTF-8", func(c *store.Charge) { c.Session = "s\xff" }, "not valid UTF-8"},
		{"an ID without remembrance", func(c *store.Charge) { c.Remember = 0 }, "remember 0s"},
		{"an ID without memory", func(c *store.Charge) { c.RememberBytes = 0 }, "rememberBytes 0"},
		{"an ID without now", func(c *store.Charge) { c.Now = time.Time{} }, "now is zero"},
	}
	for _, b := range bad {
		c := charge("m2", at(time.Minute), 1, "s1")
		b.edit(&c)
		added, err := s.ChargeCaller(t.Context(), "a", c)
		wantErr(t, err, store.ErrInvalid, "ChargeCaller with "+b.what)
		if added || !strings.Contains(err.Error(), b.says) {
			t.Errorf("ChargeCaller with %s = %v, %v; want it to say %q", b.what, added, err, b.says)
		}
	}
	callersUnchanged(t, s, before, "refused charges")
	if !chargeCaller(t, s, "a", charge("m2", at(time.Minute), 1, "s1")) {
		t.Error("m2 was remembered by a refused charge")
	}
}

func testChargeCallerWeek(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	newest := at(store.WeekHours * time.Hour)
	chargeCaller(t, s, "a", charge("", newest, 10, "s"))
	chargeCaller(t, s, "a", charge("", at(time.Hour), 20, "s")) // the oldest hour of the week kept
	chargeCaller(t, s, "a", charge("", t0, 40, "s"))            // a week before the newest: not kept
	want := []store.Bucket{
		{Hour: hourOf(time.Hour), Cost: 20, Requests: 1, Tokens: tokensOf(1)},
		{Hour: store.HourOf(newest), Cost: 10, Requests: 1, Tokens: tokensOf(1)},
	}
	diff(t, "the week's hours", callerUsage(t, s, "a", math.MinInt64, allHours), want)
	sess := callerSessions(t, s, "a", math.MinInt64, allHours)
	if len(sess) != 1 || sess[0].Requests != 3 || sess[0].Cost != 70 {
		t.Errorf("sessions = %+v; want s counting all 3 charges", sess)
	}
}

func testCallerSessions(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	for _, c := range []store.Charge{
		charge("", at(time.Hour), 10, "s1"),
		charge("", t0, 20, "s1"), // an earlier charge counted later
		charge("", at(3*time.Hour), 5, "s2"),
		charge("", at(3*time.Hour), 7, ""),
		charge("", at(5*time.Hour), 1, "s3"),
	} {
		chargeCaller(t, s, "a", c)
	}
	s1 := store.CallerSession{Session: "s1", First: t0, Last: at(time.Hour), Requests: 2, Cost: 30, Tokens: tokensOf(2)}
	s2 := store.CallerSession{Session: "s2", First: at(3 * time.Hour), Last: at(3 * time.Hour), Requests: 1, Cost: 5, Tokens: tokensOf(1)}
	none := store.CallerSession{Session: "", First: at(3 * time.Hour), Last: at(3 * time.Hour), Requests: 1, Cost: 7, Tokens: tokensOf(1)}
	s3 := store.CallerSession{Session: "s3", First: at(5 * time.Hour), Last: at(5 * time.Hour), Requests: 1, Cost: 1, Tokens: tokensOf(1)}
	for _, r := range []struct {
		what     string
		from, to int64
		want     []store.CallerSession
	}{
		{"every hour", math.MinInt64, allHours, []store.CallerSession{s3, none, s2, s1}},
		{"the first hours", hourOf(0), hourOf(2 * time.Hour), []store.CallerSession{s1}},
		{"an hour inside s1's", hourOf(time.Hour), hourOf(time.Hour), []store.CallerSession{s1}},
		{"hours 3 and 4", hourOf(3 * time.Hour), hourOf(4 * time.Hour), []store.CallerSession{none, s2}},
		{"hours after all", hourOf(6 * time.Hour), allHours, nil},
	} {
		diff(t, "CallerSessions of "+r.what, callerSessions(t, s, "a", r.from, r.to), r.want)
	}
	_, err := s.CallerSessions(t.Context(), "a", 10, 9)
	wantErr(t, err, store.ErrInvalid, "CallerSessions with from after to")
}

func testCallerSessionAfterWeek(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"), newCaller("b"))
	later := at(8 * 24 * time.Hour) // more than a week after t0
	// a: another session's charge moves the newest hour past s's week
	// before s is charged again; b: s is charged again directly.
	chargeCaller(t, s, "a", charge("", t0, 10, "s"))
	chargeCaller(t, s, "a", charge("", later, 1, "other"))
	chargeCaller(t, s, "a", charge("", later.Add(time.Minute), 5, "s"))
	chargeCaller(t, s, "b", charge("", t0, 10, "s"))
	chargeCaller(t, s, "b", charge("", later, 5, "s"))
	for _, c := range []struct {
		who  string
		last time.Time
	}{{"a", later.Add(time.Minute)}, {"b", later}} {
		want := store.CallerSession{Session: "s", First: c.last, Last: c.last, Requests: 1, Cost: 5, Tokens: tokensOf(1)}
		var got *store.CallerSession
		for _, sess := range callerSessions(t, s, c.who, math.MinInt64, allHours) {
			if sess.Session == "s" {
				got = &sess
			}
		}
		if got == nil {
			t.Errorf("caller %s: session s is not kept", c.who)
			continue
		}
		diff(t, "caller "+c.who+"'s session s charged again after a week", *got, want)
	}
}

func testCallerSessionsBounded(t *testing.T, s store.CallerStore) {
	createCallers(t, s, newCaller("a"))
	n := store.MaxCallerSessions + 1
	for i := range n {
		// Session 0 is charged first and again last; session 1 is the least
		// recently charged when the last new one arrives.
		chargeCaller(t, s, "a", charge("", at(time.Duration(i)*time.Second), 1, fmt.Sprintf("s%04d", i)))
		if i == 0 {
			continue
		}
		if i == n-2 {
			chargeCaller(t, s, "a", charge("", at(time.Duration(i)*time.Second+time.Millisecond), 1, "s0000"))
		}
	}
	got := callerSessions(t, s, "a", math.MinInt64, allHours)
	if len(got) != store.MaxCallerSessions {
		t.Fatalf("the caller keeps %d sessions; want %d", len(got), store.MaxCallerSessions)
	}
	for _, sess := range got {
		if sess.Session == "s0001" {
			t.Error("the least recently charged session s0001 is still kept")
		}
	}
	if got[0].Session != fmt.Sprintf("s%04d", n-1) || got[1].Session != "s0000" || got[1].Requests != 2 {
		t.Errorf("the most recent sessions are %+v, %+v; want s%04d, then s0000 with 2 requests", got[0], got[1], n-1)
	}
}
