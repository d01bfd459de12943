package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

const (
	// failFast bounds a call to a Redis that is down: go-redis's few quick
	// retries of a refused connection, on a busy machine.
	failFast = time.Second
	// deadlineSlack is how late past its deadline a call may return, on a
	// busy machine.
	deadlineSlack = 500 * time.Millisecond
	// unitCost is the cost of every usage the fault tests record.
	unitCost = 1000
)

// TestFaults runs a store on a redis-server of its own and breaks it: killed
// mid-run, calls fail fast with ErrUnavailable; restarted on the same port,
// the store works again; paused, calls return by their deadline with
// ErrUnavailable, and every usage is counted whole or not at all (a session
// and its subscription's bucket always agree) and, thanks to its ID, once.
// It runs with a client that bounds its I/O by the deadline and with one
// that does not.
func TestFaults(t *testing.T) {
	t.Parallel()
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ctxTimeouts), func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			c := closing(t, redis.NewClient(&redis.Options{
				Addr: srv.Addr, ContextTimeoutEnabled: ctxTimeouts,
				DialerRetries: 1, // go-redis's default tries a refused dial 5 times, 100 ms apart
			}))
			s := redisstore.New(c, redisstore.WithPrefix("faults"))

			t.Log("killed mid-run")
			setUp(t, s, 8)
			killMidRun(t, s, srv)
			everyCallUnavailable(t, s)

			t.Log("back on the same port, empty (it kept nothing on disk)")
			srv.Start()
			worksAgain(t, s)
			setUp(t, s, 8)
			addUsages(t, s, 8, "after-restart")
			checkWhole(t, s, 8)

			t.Log("paused")
			pausedUsages(t, s, srv)
		})
	}
}

// worksAgain waits until the store works again after its Redis came back:
// as soon as the client reconnects (go-redis probes a server it failed to
// dial once a second).
func worksAgain(t *testing.T, s store.Store) {
	t.Helper()
	start := time.Now()
	for {
		_, err := s.Subscriptions(t.Context())
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Subscriptions after Redis came back: %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the store does not work 5 s after Redis came back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the store works again %v after Redis came back", time.Since(start).Round(time.Millisecond))
}

// setUp creates subscription "a" and assigns clients c0 ... c<n-1> to it.
func setUp(t *testing.T, s store.Store, clients int) {
	t.Helper()
	must(t, s.CreateSubscription(t.Context(), store.Subscription{ID: "a"}), "CreateSubscription")
	for i := range clients {
		_, err := s.Assign(t.Context(), store.Assignment{ClientID: fmt.Sprintf("c%d", i), SubscriptionID: "a", Now: t0})
		must(t, err, "Assign")
	}
}

// usageOf returns the usage with that ID: every usage costs unitCost.
func usageOf(id string) store.UsageRecord {
	return store.UsageRecord{ID: id, Remember: time.Hour, RememberBytes: 64 << 20, Time: t0, Now: t0, Cost: unitCost,
		Tokens: store.Tokens{Input: 1, Output: 2, CacheWrite: 3, CacheRead: 4}, Model: "m"}
}

// addUsages adds one usage for each of n clients, or fails the test.
func addUsages(t *testing.T, s store.Store, n int, idPrefix string) {
	t.Helper()
	for i := range n {
		_, err := s.AddUsage(t.Context(), fmt.Sprintf("c%d", i), usageOf(fmt.Sprintf("%s-%d", idPrefix, i)))
		must(t, err, "AddUsage")
	}
}

// killMidRun has 8 goroutines add usages while the server is killed under
// them, and checks that every call either succeeds or fails fast with
// ErrUnavailable.
func killMidRun(t *testing.T, s store.Store, srv *redistest.Server) {
	t.Helper()
	var (
		stop       atomic.Bool
		added      atomic.Int64
		mu         sync.Mutex
		failed     int
		slowest    time.Duration
		unexpected []error
		wg         sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				start := time.Now()
				_, err := s.AddUsage(context.Background(), fmt.Sprintf("c%d", w), usageOf(fmt.Sprintf("run-%d-%d", w, i)))
				took := time.Since(start)
				if err == nil {
					added.Add(1)
					continue
				}
				mu.Lock()
				if errors.Is(err, store.ErrUnavailable) {
					failed++
					slowest = max(slowest, took)
				} else {
					unexpected = append(unexpected, err)
				}
				mu.Unlock()
			}
		})
	}
	for waited := time.Duration(0); added.Load() < 200; waited += time.Millisecond {
		if waited > 10*time.Second {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("only %d usages added in 10 s (unexpected errors: %v)", added.Load(), unexpected)
		}
		time.Sleep(time.Millisecond)
	}
	srv.Kill()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, err := range unexpected {
		t.Errorf("AddUsage while Redis was killed: %v, want success or ErrUnavailable", err)
	}
	if failed == 0 {
		t.Errorf("no AddUsage failed after Redis was killed")
	}
	if slowest > failFast {
		t.Errorf("a failing AddUsage took %v, want at most %v", slowest, failFast)
	}
	t.Logf("%d usages added, then %d calls failed, the slowest in %v", added.Load(), failed, slowest)
}

// everyCallUnavailable checks that every method of a store whose Redis is
// down fails fast with ErrUnavailable.
func everyCallUnavailable(t *testing.T, s store.Store) {
	t.Helper()
	callEvery(t, s, "a", "c0", 10*time.Second, func(name string, err error, took time.Duration) {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
		}
		if took > failFast {
			t.Errorf("%s with Redis down took %v, want at most %v", name, took, failFast)
		}
	})
}

// callEvery calls every method at once (see calls), each under a context
// with that timeout, and checks each call's error and duration with check.
func callEvery(t *testing.T, s store.Store, sub, c string, timeout time.Duration, check func(name string, err error, took time.Duration)) {
	t.Helper()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for name, call := range calls(s, sub, c) {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			check(name, err, took)
		})
	}
	wg.Wait()
}

// calls returns a call of every method, by name: calls on subscription sub
// and client c.
func calls(s store.Store, sub, c string) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"CreateSubscription": func(ctx context.Context) error {
			return s.CreateSubscription(ctx, store.Subscription{ID: sub + "-new"})
		},
		"UpdateSubscription": func(ctx context.Context) error { return s.UpdateSubscription(ctx, store.Subscription{ID: sub}) },
		"SetStatus":          func(ctx context.Context) error { return s.SetStatus(ctx, sub, store.Status{State: store.Disabled}) },
		"SetModelLimit": func(ctx context.Context) error {
			return s.SetModelLimit(ctx, sub, store.ModelLimit{Model: "opus", Until: t0.Add(time.Hour)}, t0)
		},
		"SetReported":        func(ctx context.Context) error { return s.SetReported(ctx, sub, store.Reported{At: t0}, time.Time{}) },
		"DeleteSubscription": func(ctx context.Context) error { _, err := s.DeleteSubscription(ctx, sub); return err },
		"Subscription":       func(ctx context.Context) error { _, err := s.Subscription(ctx, sub); return err },
		"Subscriptions":      func(ctx context.Context) error { _, err := s.Subscriptions(ctx); return err },
		"Touch":              func(ctx context.Context) error { _, err := s.Touch(ctx, c, t0, t0.Add(5*time.Minute)); return err },
		"Assign": func(ctx context.Context) error {
			_, err := s.Assign(ctx, store.Assignment{ClientID: c + "-new", SubscriptionID: sub, Now: t0})
			return err
		},
		"Release":  func(ctx context.Context) error { _, err := s.Release(ctx, c, time.Time{}); return err },
		"Sessions": func(ctx context.Context) error { _, err := s.Sessions(ctx, store.SessionQuery{}); return err },
		"AddUsage": func(ctx context.Context) error { _, err := s.AddUsage(ctx, c, usageOf(sub+"/usage")); return err },
		"Claim": func(ctx context.Context) error {
			_, err := s.Claim(ctx, sub+"/claim", t0, t0.Add(time.Hour))
			return err
		},
	}
}

// checkWhole checks that subscription "a" and its sessions agree: as many
// requests, and as much cost, in its buckets as in its sessions, and every
// usage's tokens with each request. It returns the requests counted.
func checkWhole(t *testing.T, s store.Store, want int64) int64 {
	t.Helper()
	sub, err := s.Subscription(t.Context(), "a")
	must(t, err, "Subscription")
	sessions, err := s.Sessions(t.Context(), store.SessionQuery{SubscriptionID: "a"})
	must(t, err, "Sessions")
	var inBuckets, inSessions store.Bucket
	for _, b := range sub.Usage {
		inBuckets.Requests += b.Requests
		inBuckets.Cost += b.Cost
	}
	for _, sess := range sessions {
		inSessions.Requests += sess.Requests
		inSessions.Cost += sess.Cost
		if sess.Cost != store.Nanodollars(sess.Requests*unitCost) || sess.Tokens != (store.Tokens{Input: sess.Requests, Output: 2 * sess.Requests, CacheWrite: 3 * sess.Requests, CacheRead: 4 * sess.Requests}) {
			t.Errorf("session %s counts %d requests, cost %d and tokens %+v: not whole usages", sess.ClientID, sess.Requests, sess.Cost, sess.Tokens)
		}
	}
	if inBuckets != inSessions || inBuckets.Cost != store.Nanodollars(inBuckets.Requests*unitCost) {
		t.Errorf("the buckets count %d requests costing %d, the sessions %d costing %d: want them equal, at %d each",
			inBuckets.Requests, inBuckets.Cost, inSessions.Requests, inSessions.Cost, unitCost)
	}
	if want >= 0 && inBuckets.Requests != want {
		t.Errorf("%d requests counted, want %d", inBuckets.Requests, want)
	}
	return inBuckets.Requests
}

// pausedUsages pauses the server under calls with a deadline: they return by
// it, with ErrUnavailable. Once the server resumes, it may run the scripts
// it was sent; sent again, every usage counts once, whole. (The calls of
// every method go to another subscription and client, so that they change
// nothing checked.)
func pausedUsages(t *testing.T, s store.Store, srv *redistest.Server) {
	t.Helper()
	const (
		n        = 16
		deadline = 200 * time.Millisecond
	)
	before := checkWhole(t, s, -1)
	srv.Pause()
	var wg sync.WaitGroup
	errs := make([]error, n)
	took := make([]time.Duration, n)
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			_, errs[i] = s.AddUsage(ctx, fmt.Sprintf("c%d", i%8), usageOf(fmt.Sprintf("paused-%d", i)))
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	callEvery(t, s, "x", "cx", deadline, func(name string, err error, took time.Duration) {
		if took > deadline+deadlineSlack {
			t.Errorf("%s with Redis paused took %v, want it back by its deadline (%v)", name, took, deadline)
		}
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with Redis paused: %v, want ErrUnavailable and DeadlineExceeded", name, err)
		}
	})
	srv.Resume()
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("AddUsage with Redis paused: %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if took[i] > deadline+deadlineSlack {
			t.Errorf("AddUsage with Redis paused took %v, want it back by its deadline (%v)", took[i], deadline)
		}
	}

	// The paused server may take some of the usages it was sent, when it
	// resumes or even later, each whole: sent again, each is counted once.
	var again, dup int
	for i := range n {
		_, err := s.AddUsage(t.Context(), fmt.Sprintf("c%d", i%8), usageOf(fmt.Sprintf("paused-%d", i)))
		switch {
		case err == nil:
			again++
		case errors.Is(err, store.ErrDuplicate):
			dup++
		default:
			t.Errorf("AddUsage after Redis resumed: %v", err)
		}
	}
	checkWhole(t, s, before+n)
	t.Logf("of %d usages sent to the paused server, %d had been counted when they were sent again (%d had not)", n, dup, again)
}
