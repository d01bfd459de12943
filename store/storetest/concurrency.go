package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// race runs f(0) ... f(n-1) in n goroutines released at once, and waits for
// them. f must report failures with t.Error, not t.Fatal.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// outcomes counts the results of concurrent calls by kind.
type outcomes struct {
	mu     sync.Mutex
	counts map[string]int
	other  []error
}

// note counts err as "ok", as the first of kinds it matches, or as other.
func (o *outcomes) note(err error, kinds ...error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = make(map[string]int)
	}
	if err == nil {
		o.counts["ok"]++
		return
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			o.counts[k.Error()]++
			return
		}
	}
	o.other = append(o.other, err)
}

// check fails the test unless the counts are want and no call returned an
// unexpected error.
func (o *outcomes) check(t *testing.T, what string, want map[string]int) {
	t.Helper()
	for _, err := range o.other {
		t.Errorf("%s: unexpected error: %v", what, err)
	}
	diff(t, what+": outcomes", o.counts, want)
}

func testConcurrentAssignCap(t *testing.T, s store.Store) {
	const clientsRacing, maxClients = 100, 10
	create(t, s, newSub("a", maxClients))
	var o outcomes
	race(clientsRacing, func(i int) {
		_, err := s.Assign(t.Context(), store.Assignment{ClientID: fmt.Sprintf("c%03d", i), SubscriptionID: "a", Now: t0, HoldUntil: at(holdFor)})
		o.note(err, store.ErrFull)
	})
	o.check(t, "100 concurrent Assigns to a subscription capped at 10", map[string]int{
		"ok": maxClients, store.ErrFull.Error(): clientsRacing - maxClients,
	})
	if n := clients(t, s, "a"); n != maxClients {
		t.Errorf("Clients = %d, want %d", n, maxClients)
	}
	if n := holding(t, s, "a", t0); n != maxClients {
		t.Errorf("%d clients hold a slot, want %d", n, maxClients)
	}
	if n := len(sessions(t, s, store.SessionQuery{})); n != maxClients {
		t.Errorf("Sessions lists %d sessions, want %d", n, maxClients)
	}
}

func testConcurrentAssignOneClient(t *testing.T, s store.Store) {
	const racers, subs = 40, 4
	for i := range subs {
		create(t, s, newSub(fmt.Sprintf("s%d", i), 0))
	}
	var o outcomes
	race(racers, func(i int) {
		_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c", SubscriptionID: fmt.Sprintf("s%d", i%subs), Now: t0})
		o.note(err, store.ErrConflict)
	})
	o.check(t, "concurrent Assigns of one new client", map[string]int{"ok": 1, store.ErrConflict.Error(): racers - 1})
	total := 0
	for i := range subs {
		total += clients(t, s, fmt.Sprintf("s%d", i))
	}
	if total != 1 {
		t.Errorf("the subscriptions count %d clients in all, want 1", total)
	}
}

// The script of testConcurrentAddUsage: raceWorkers goroutines each add
// racePerWorker usages, from raceClients clients of a, over raceHours hours.
const (
	raceWorkers   = 16
	racePerWorker = 40
	raceClients   = 4
	raceHours     = 3
)

func testConcurrentAddUsage(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	for c := range raceClients {
		join(t, s, fmt.Sprintf("c%d", c), "a", t0)
	}
	want := raceTotals()
	var o outcomes
	race(raceWorkers, func(w int) {
		for i := range racePerWorker {
			client, u := raceUsage(w, i)
			_, err := s.AddUsage(t.Context(), client, u)
			o.note(err)
		}
	})
	o.check(t, "concurrent AddUsage", map[string]int{"ok": raceWorkers * racePerWorker})
	want.check(t, s)
}

// raceUsage is the i-th usage of worker w; every fourth bills b, every
// other one has an ID.
func raceUsage(w, i int) (client string, u store.UsageRecord) {
	u = store.UsageRecord{
		Time:   at(time.Duration(i%raceHours)*time.Hour + time.Duration(w)*time.Second),
		Now:    at(raceHours * time.Hour),
		Cost:   store.Nanodollars(1 + (w*racePerWorker+i)%7),
		Tokens: store.Tokens{Input: 1, Output: int64(i), CacheWrite: 3, CacheRead: int64(w)},
		Model:  "m",
	}
	if i%4 == 3 {
		u.SubscriptionID = "b"
	}
	if i%2 == 0 {
		u = withID(u, fmt.Sprintf("w%d-u%d", w, i), week)
	}
	return fmt.Sprintf("c%d", w%raceClients), u
}

// usageTotals is what the usages of testConcurrentAddUsage add up to: per
// client, and per subscription billed by hour and by minute.
type usageTotals struct {
	sessions map[string]store.Session
	buckets  map[string]map[int64]store.Bucket
	minutes  map[string]map[int64]store.Nanodollars
}

// raceTotals adds up the usages of raceUsage one by one.
func raceTotals() usageTotals {
	tot := usageTotals{
		sessions: make(map[string]store.Session),
		buckets:  map[string]map[int64]store.Bucket{"a": {}, "b": {}},
		minutes:  map[string]map[int64]store.Nanodollars{"a": {}, "b": {}},
	}
	for w := range raceWorkers {
		for i := range racePerWorker {
			client, u := raceUsage(w, i)
			sess := tot.sessions[client]
			sess.Requests++
			sess.Cost += u.Cost
			sess.Tokens.Add(u.Tokens)
			tot.sessions[client] = sess
			billed := "a"
			if u.SubscriptionID != "" {
				billed = u.SubscriptionID
			}
			if u.Cost != 0 {
				tot.minutes[billed][store.MinuteOf(u.Time)] += u.Cost
			}
			h := store.HourOf(u.Time)
			b := tot.buckets[billed][h]
			b.Hour, b.Cost, b.Requests = h, b.Cost+u.Cost, b.Requests+1
			b.Tokens.Add(u.Tokens)
			tot.buckets[billed][h] = b
		}
	}
	return tot
}

// check fails the test unless s's sessions, hourly buckets and minutes
// match the totals.
func (tot usageTotals) check(t *testing.T, s store.Store) {
	t.Helper()
	for c := range raceClients {
		client := fmt.Sprintf("c%d", c)
		got := session(t, s, client)
		want := tot.sessions[client]
		if got.Requests != want.Requests || got.Cost != want.Cost || got.Tokens != want.Tokens {
			t.Errorf("session %s counts %d requests, cost %d, tokens %+v; want %d, %d, %+v",
				client, got.Requests, got.Cost, got.Tokens, want.Requests, want.Cost, want.Tokens)
		}
	}
	for sub, buckets := range tot.buckets {
		var want []store.Bucket
		for h := range raceHours {
			if b, ok := buckets[hourOf(time.Duration(h)*time.Hour)]; ok {
				want = append(want, b)
			}
		}
		diff(t, "usage of "+sub, get(t, s, sub).Usage, want)
	}
	for sub, minutes := range tot.minutes {
		newest := int64(0)
		for m := range minutes {
			newest = max(newest, m)
		}
		var want []store.Minute
		for m := newest - store.BurnMinutes + 1; m <= newest; m++ {
			if c, ok := minutes[m]; ok {
				want = append(want, store.Minute{Minute: m, Cost: c})
			}
		}
		diff(t, "minutes of "+sub, get(t, s, sub).Minutes, want)
	}
}

func testConcurrentDuplicateUsage(t *testing.T, s store.Store) {
	const racers = 40
	create(t, s, newSub("a", 0))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "a", t0)
	var o outcomes
	race(racers, func(i int) {
		_, err := s.AddUsage(t.Context(), fmt.Sprintf("c%d", 1+i%2), withID(usage(at(time.Minute), 5), "msg-1", time.Hour))
		o.note(err, store.ErrDuplicate)
	})
	o.check(t, "concurrent AddUsage of one ID", map[string]int{"ok": 1, store.ErrDuplicate.Error(): racers - 1})
	diff(t, "usage", get(t, s, "a").Usage, []store.Bucket{{Hour: hourOf(time.Minute), Cost: 5, Requests: 1, Tokens: tokensOf(1)}})
	if n := session(t, s, "c1").Requests + session(t, s, "c2").Requests; n != 1 {
		t.Errorf("the sessions count %d requests, want 1", n)
	}
}

func testConcurrentClaim(t *testing.T, s store.Store) {
	const racers = 100
	var o outcomes
	race(racers, func(i int) {
		ok, err := s.Claim(t.Context(), "alert/a/block/80", at(time.Duration(i)*time.Millisecond), at(time.Hour))
		if err == nil && !ok {
			err = errNotClaimed
		}
		o.note(err, errNotClaimed)
	})
	o.check(t, "concurrent Claims of one key", map[string]int{"ok": 1, errNotClaimed.Error(): racers - 1})
}

// errNotClaimed stands for a Claim that returned false.
var errNotClaimed = errors.New("not claimed")

func testConcurrentRelease(t *testing.T, s store.Store) {
	const nClients, racers = 10, 4
	create(t, s, newSub("a", 0))
	for c := range nClients {
		join(t, s, fmt.Sprintf("c%d", c), "a", t0)
	}
	var o outcomes
	race(nClients*racers, func(i int) {
		_, err := s.Release(t.Context(), fmt.Sprintf("c%d", i%nClients), time.Time{})
		o.note(err, store.ErrNotFound)
	})
	o.check(t, "concurrent Releases", map[string]int{"ok": nClients, store.ErrNotFound.Error(): nClients * (racers - 1)})
	if n := clients(t, s, "a"); n != 0 {
		t.Errorf("Clients after releasing every client = %d, want 0", n)
	}
}

func testConcurrentMoves(t *testing.T, s store.Store) {
	const (
		maxClients = 5
		nClients   = 8
		moves      = 30
	)
	create(t, s, newSub("a", maxClients), newSub("b", maxClients))
	for c := range nClients {
		sub := "a"
		if c >= maxClients {
			sub = "b"
		}
		join(t, s, fmt.Sprintf("c%d", c), sub, t0)
	}
	other := map[string]string{"a": "b", "b": "a"}
	end := at(moves * time.Second) // every hold made lasts past the last move

	var done atomic.Bool
	var watcher sync.WaitGroup
	watcher.Go(func() { // reads the counts while clients move
		for !done.Load() {
			subs, err := s.Subscriptions(t.Context())
			if err != nil {
				t.Errorf("Subscriptions: %v", err)
				return
			}
			total := 0
			for _, sub := range subs {
				total += sub.Clients
				n := 0
				for _, h := range sub.Holds {
					if h.After(end) {
						n++
					}
				}
				if n > maxClients {
					t.Errorf("%d clients of subscription %s hold a slot, above its MaxClients %d", n, sub.ID, maxClients)
					return
				}
			}
			if total != nClients {
				t.Errorf("the subscriptions hold %d clients in all, want %d", total, nClients)
				return
			}
		}
	})

	var o outcomes
	race(nClients, func(c int) {
		client := fmt.Sprintf("c%d", c)
		from := "a"
		if c >= maxClients {
			from = "b"
		}
		for i := range moves {
			to := other[from]
			now := at(time.Duration(i) * time.Second)
			_, err := s.Assign(t.Context(), store.Assignment{ClientID: client, SubscriptionID: to, From: from, Now: now, HoldUntil: now.Add(holdFor)})
			o.note(err, store.ErrFull)
			if err == nil {
				from = to
			}
		}
	})
	done.Store(true)
	watcher.Wait()
	for _, err := range o.other {
		t.Errorf("concurrent moves: unexpected error: %v", err)
	}

	for _, sub := range []string{"a", "b"} {
		on := len(sessions(t, s, store.SessionQuery{SubscriptionID: sub}))
		if n, h := clients(t, s, sub), holding(t, s, sub, end); n != on || h != on || n > maxClients {
			t.Errorf("subscription %s counts %d clients, %d holding a slot, and has %d sessions; want them equal and at most %d", sub, n, h, on, maxClients)
		}
	}
	if n := len(sessions(t, s, store.SessionQuery{})); n != nClients {
		t.Errorf("%d sessions after the moves, want %d", n, nClients)
	}
}
