package storetest

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// benchSessions is how many sessions the benchmarks' store holds.
const benchSessions = 1000

// Benchmark measures the hot-path methods of the stores newStore returns,
// from many goroutines at once (b.RunParallel), so that under -race it also
// hunts for data races. newStore is called once per sub-benchmark run and
// must return an empty store.
//
// Touch, AddUsage and Sessions run against 10 subscriptions holding 1,000
// sessions, each holding a slot; Touch and AddUsage extend the holds. The allocations reported for AddUsage/WithID include the one of
// building each usage's ID. Callers/... measure a store.CallerStore's
// per-request calls (see benchCallers), and skip a store that is not one.
func Benchmark(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Touch", func(b *testing.B) { benchTouch(b, newStore) })
	b.Run("AssignRelease", func(b *testing.B) { benchAssignRelease(b, newStore) })
	b.Run("AddUsage/WithoutID", func(b *testing.B) { benchAddUsage(b, newStore, false) })
	b.Run("AddUsage/WithID", func(b *testing.B) { benchAddUsage(b, newStore, true) })
	for _, q := range []struct {
		name string
		q    store.SessionQuery
	}{
		{"Sessions/All", store.SessionQuery{}},
		{"Sessions/OfSubscription", store.SessionQuery{SubscriptionID: "s3"}},
		{"Sessions/IdleLimit", store.SessionQuery{SubscriptionID: "s3", ActiveBefore: at(benchSessions / 2), Limit: 4}},
	} {
		b.Run(q.name, func(b *testing.B) { benchQuery(b, newStore, q.q) })
	}
	b.Run("Callers", func(b *testing.B) { benchCallers(b, newStore) })
}

// benchTouch touches the sessions of benchStore, each goroutine from its
// own place in the list.
func benchTouch(b *testing.B, newStore func(b *testing.B) store.Store) {
	s, clients := benchStore(b, newStore)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for i := int(next.Add(1)) * 7919; pb.Next(); i++ {
			now := at(time.Duration(i))
			if _, err := s.Touch(ctx, clients[i%len(clients)], now, now.Add(holdFor)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchAssignRelease assigns and releases clients of one uncapped
// subscription, each goroutine 64 clients of its own.
func benchAssignRelease(b *testing.B, newStore func(b *testing.B) store.Store) {
	s := newStore(b)
	if err := s.CreateSubscription(context.Background(), newSub("a", 0)); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		g := next.Add(1)
		ids := make([]string, 64) // this goroutine's own clients
		for i := range ids {
			ids[i] = fmt.Sprintf("g%d-c%d", g, i)
		}
		for i := 0; pb.Next(); i++ {
			id := ids[i%len(ids)]
			now := at(time.Duration(i))
			if _, err := s.Assign(ctx, store.Assignment{ClientID: id, SubscriptionID: "a", Now: now, HoldUntil: now.Add(holdFor)}); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Release(ctx, id, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchAddUsage adds usages to the sessions of benchStore; withID gives each
// a new ID, remembered for a week.
func benchAddUsage(b *testing.B, newStore func(b *testing.B) store.Store, withID bool) {
	s, clients := benchStore(b, newStore)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		g := next.Add(1)
		prefix := "g" + strconv.FormatInt(g, 10) + "-"
		for i := int(g) * 7919; pb.Next(); i++ {
			now := at(time.Duration(i) * time.Millisecond)
			u := store.UsageRecord{
				Time: now, Now: now, Cost: 1000, Tokens: store.Tokens{Input: 10, Output: 100, CacheRead: 1000}, Model: "claude-bench",
				HoldUntil: now.Add(holdFor),
			}
			if withID {
				u.ID, u.Remember, u.RememberBytes = prefix+strconv.Itoa(i), store.WeekHours*time.Hour, 64<<20
			}
			if _, err := s.AddUsage(ctx, clients[i%len(clients)], u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchQuery runs the query q against benchStore.
func benchQuery(b *testing.B, newStore func(b *testing.B) store.Store, q store.SessionQuery) {
	s, _ := benchStore(b, newStore)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := s.Sessions(ctx, q); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchStore returns a store with 10 uncapped subscriptions s0 ... s9 and
// benchSessions sessions spread over them, with their client IDs. Session i
// is last active at t0 + i ns.
func benchStore(b *testing.B, newStore func(b *testing.B) store.Store) (store.Store, []string) {
	b.Helper()
	ctx := context.Background()
	s := newStore(b)
	for i := range 10 {
		if err := s.CreateSubscription(ctx, newSub(fmt.Sprintf("s%d", i), 0)); err != nil {
			b.Fatal(err)
		}
	}
	clients := make([]string, benchSessions)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%04d", i)
		a := store.Assignment{ClientID: clients[i], SubscriptionID: fmt.Sprintf("s%d", i%10), Now: at(time.Duration(i)), HoldUntil: at(time.Duration(i) + holdFor)}
		if _, err := s.Assign(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	return s, clients
}
