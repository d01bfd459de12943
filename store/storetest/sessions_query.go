package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// This file checks the sessions Sessions selects: by subscription, by
// activity and hold, a limited number, and many more than one step reads.

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
