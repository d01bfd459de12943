package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// The Pool on Redis: round trips, a restart, and a Redis that fails under
// it. (The Pool's own tests run on Redis too: see the root package's
// TestPoolTestsOnRedis.)

// poolClock is a clock a test sets, safe for concurrent use.
type poolClock struct{ ns atomic.Int64 }

func newPoolClock(t time.Time) *poolClock {
	c := new(poolClock)
	c.Set(t)
	return c
}

func (c *poolClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *poolClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// poolT0 is when the Pool tests start: a Thursday, 12:30 UTC.
var poolT0 = time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)

// newRedisPool returns a pool on a Store of c under prefix, closed when t
// ends.
func newRedisPool(t testing.TB, c redisstore.Client, prefix string, cfg authpool.Config, opts ...authpool.Option) *authpool.Pool {
	t.Helper()
	opts = append([]authpool.Option{authpool.WithStore(redisstore.New(c, redisstore.WithPrefix(prefix)))}, opts...)
	p, err := authpool.New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// poolSub returns a subscription with the given maximum and budgets.
func poolSub(id string, maxClients int, weekly, block float64) authpool.Subscription {
	return authpool.Subscription{ID: id, Kind: authpool.KindMax5x, Credential: authpool.Credential("sk-ant-" + id),
		MaxClients: maxClients, WeeklyBudgetUSD: weekly, BlockBudgetUSD: block}
}

// roundTrips is a go-redis hook that counts round trips: each command, and
// each pipeline, is one. It keeps the commands' names (with an EVALSHA's
// script hash shortened) for a failure message.
type roundTrips struct {
	mu   sync.Mutex
	cmds []string
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		name := cmd.Name()
		if args := cmd.Args(); len(args) > 1 && (name == "evalsha" || name == "eval") {
			name += fmt.Sprintf(" %.8v", args[1])
		}
		h.note(name)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.note(fmt.Sprintf("pipeline of %d", len(cmds)))
		return next(ctx, cmds)
	}
}

func (h *roundTrips) note(name string) {
	h.mu.Lock()
	h.cmds = append(h.cmds, name)
	h.mu.Unlock()
}

// take returns the round trips since the last take.
func (h *roundTrips) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds := h.cmds
	h.cmds = nil
	return cmds
}

// TestPoolRoundTrips counts the round trips to Redis of each Pool call in
// the steady state (the pool's picture of the subscriptions is fresh, the
// scripts are loaded): a sticky Allocate and a Record, with an ID or
// without, are one each; so is a Release; a new client's Allocate is two
// (the sticky path's Touch finds no session, then Assign).
func TestPoolRoundTrips(t *testing.T) {
	t.Parallel()
	hook := &roundTrips{}
	c := closing(t, redis.NewClient(redistest.Options(t)))
	c.AddHook(hook)
	clk := newPoolClock(poolT0) // stands still: the picture never needs reading again
	p := newRedisPool(t, c, redistest.Prefix(t, redistest.Client(t)),
		authpool.Config{Subscriptions: []authpool.Subscription{poolSub("s-a", 50, 1000, 100), poolSub("s-b", 50, 1000, 100)}},
		authpool.WithClock(clk.Now))
	ctx := t.Context()
	const n = 20
	usage := func(id, sub string) authpool.Usage {
		return authpool.Usage{ID: id, SubscriptionID: sub, Time: clk.Now(), CostUSD: 0.0123, Model: "claude-sonnet-4-5",
			Tokens: authpool.Tokens{Input: 12, Output: 640, CacheWrite: 1200, CacheRead: 18300}}
	}
	type step struct {
		name string
		want int // round trips a call
		call func(client string) error
	}
	outcome := func(want authpool.Outcome) func(string) error {
		return func(client string) error {
			a, err := p.Allocate(ctx, client)
			if err == nil && a.Outcome != want {
				err = fmt.Errorf("outcome %v, want %v", a.Outcome, want)
			}
			return err
		}
	}
	var on sync.Map // client -> its subscription
	steps := []step{
		{"Allocate new", 2, func(client string) error {
			a, err := p.Allocate(ctx, client)
			if err == nil && a.Outcome != authpool.OutcomeNew {
				err = fmt.Errorf("outcome %v, want new", a.Outcome)
			}
			on.Store(client, a.SubscriptionID)
			return err
		}},
		{"Allocate sticky", 1, outcome(authpool.OutcomeSticky)},
		{"Record", 1, func(client string) error { return p.Record(ctx, client, usage("", "")) }},
		{"Record with an ID", 1, func(client string) error { return p.Record(ctx, client, usage("msg-"+client, "")) }},
		{"Record of an ID recorded", 1, func(client string) error { return p.Record(ctx, client, usage("msg-"+client, "")) }},
		{"Record naming its subscription", 1, func(client string) error {
			sub, _ := on.Load(client)
			return p.Record(ctx, client, usage("msg-named-"+client, sub.(string)))
		}},
		{"Release", 1, func(client string) error { return p.Release(ctx, client) }},
	}
	// The first pass loads the scripts (EVALSHA, then EVAL where Redis does
	// not have one yet); the second counts.
	for pass := range 2 {
		for _, s := range steps {
			hook.take()
			for i := range n {
				if err := s.call(fmt.Sprintf("pass%d-c%02d", pass, i)); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			got := hook.take()
			if pass == 0 {
				continue
			}
			if len(got) != s.want*n {
				t.Errorf("%d calls of %s made %d round trips, want %d each: %q", n, s.name, len(got), s.want, got)
			} else {
				t.Logf("%s: %d round trip(s) a call", s.name, len(got)/n)
			}
		}
	}
	if d := p.Stats().DuplicateRecords; d != 2*n {
		t.Errorf("DuplicateRecords = %d, want %d", d, 2*n)
	}
}

// TestPoolRestart checks that a pool made again, with a new client, on the
// same Redis and prefix sees everything the old one wrote: subscriptions
// with their clients, usage windows (block, week, the fallback's day),
// status (limited until a time, disabled, limited for a model), upstream
// reports, and sessions with their totals; that it honours them (a full
// subscription takes no one, a limited one takes clients again when its
// time is up, a client keeps its subscription); and that it remembers the
// old pool's usage IDs: a usage recorded again counts nothing.
func TestPoolRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	admin := redistest.Client(t)
	prefix := redistest.Prefix(t, admin)
	clk := newPoolClock(poolT0)
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			poolSub("s-a", 2, 500, 50),
			poolSub("s-b", 4, 500, 50),
			poolSub("s-c", 4, 300, 30),
		},
		Fallback: &authpool.Fallback{Credential: "sk-ant-fallback", DailyBudgetUSD: 40},
	}

	before := redis.NewClient(redistest.Options(t))
	p1 := newRedisPool(t, before, prefix, cfg, authpool.WithClock(clk.Now))
	must(t, p1.MarkLimited(ctx, "s-b", poolT0.Add(2*time.Hour), "429 from upstream"), "MarkLimited")
	must(t, p1.Disable(ctx, "s-c", "by hand"), "Disable")
	must(t, p1.MarkModelLimited(ctx, "s-a", "opus", poolT0.Add(48*time.Hour), "7d_opus"), "MarkModelLimited")
	must(t, p1.Observe(ctx, "s-a", authpool.Observation{Time: poolT0,
		Block: &authpool.WindowObservation{Share: 0.25, Reset: poolT0.Add(2 * time.Hour)},
		Week:  &authpool.WindowObservation{Share: 0.125, Reset: poolT0.Add(100 * time.Hour)}}), "Observe")
	where := map[string]string{}
	for _, c := range []string{"alice", "bob", "carol"} {
		a, err := p1.Allocate(ctx, c)
		must(t, err, "Allocate")
		where[c] = a.SubscriptionID
	}
	if want := map[string]string{"alice": "s-a", "bob": "s-a", "carol": authpool.FallbackID}; !maps(where, want) {
		t.Fatalf("allocations %v, want %v", where, want)
	}
	// Usages over the week: some in the current block, some a day ago.
	for i, c := range []string{"alice", "bob", "carol", "alice", "bob", "carol"} {
		when := poolT0.Add(-time.Duration(i%2) * 26 * time.Hour).Add(-time.Duration(i) * time.Minute)
		u := authpool.Usage{ID: fmt.Sprintf("msg-%d", i), Time: when, CostUSD: float64(100+i) / 100, Model: "claude-sonnet-4-5",
			Tokens: authpool.Tokens{Input: int64(i), Output: 2, CacheWrite: 3, CacheRead: 4}}
		must(t, p1.Record(ctx, c, u), "Record")
	}
	old := poolSnapshot(t, p1)
	must(t, p1.Close(ctx), "Close")
	must(t, before.Close(), "closing the old client")

	after := closing(t, redis.NewClient(redistest.Options(t)))
	p2 := newRedisPool(t, after, prefix, cfg, authpool.WithClock(clk.Now))
	if diff := gocmp.Diff(old, poolSnapshot(t, p2)); diff != "" {
		t.Errorf("the new pool's snapshot differs from the old one's (-old +new):\n%s", diff)
	}
	// What the old pool wrote, as its snapshot shows it (so that the
	// comparison above compares something).
	type seen struct {
		ID                 string
		State              authpool.State
		Until              time.Time
		Clients            int
		Block, Week        float64
		BlockReported      float64
		Day                float64
		Sessions, Requests int
		SessionCost        float64
	}
	var got []seen
	for _, st := range append(old.Subscriptions, *old.Fallback) {
		g := seen{ID: st.ID, State: st.Status.State, Until: st.Status.Until, Clients: st.Clients,
			Block: st.Block.CostUSD, Week: st.Week.CostUSD, BlockReported: st.Block.ReportedPercent}
		if st.Day != nil {
			g.Day = st.Day.CostUSD
		}
		for _, ss := range old.Sessions {
			if ss.SubscriptionID == st.ID {
				g.Sessions++
				g.Requests += int(ss.Requests)
				g.SessionCost += ss.CostUSD
			}
		}
		got = append(got, g)
	}
	want := []seen{
		{ID: "s-a", Clients: 2, Block: 1.00 + 1.04, Week: 1.00 + 1.01 + 1.03 + 1.04, BlockReported: 25, Sessions: 2, Requests: 4, SessionCost: 4.08},
		{ID: "s-b", State: authpool.Limited, Until: poolT0.Add(2 * time.Hour)},
		{ID: "s-c", State: authpool.Disabled},
		{ID: authpool.FallbackID, Clients: 1, Block: 1.02, Week: 1.02 + 1.05, Day: 1.02, Sessions: 1, Requests: 2, SessionCost: 2.07},
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("the old pool's snapshot (-want +got):\n%s", diff)
	}

	// The usage IDs: recorded again, they count nothing.
	for i, c := range []string{"alice", "bob", "carol"} {
		must(t, p2.Record(ctx, c, authpool.Usage{ID: fmt.Sprintf("msg-%d", i), Time: poolT0, CostUSD: 99}), "Record again")
	}
	if d := p2.Stats().DuplicateRecords; d != 3 {
		t.Errorf("the new pool refused %d usages as recorded, want 3", d)
	}
	if diff := gocmp.Diff(old, poolSnapshot(t, p2)); diff != "" {
		t.Errorf("usages recorded again changed the pool (-before +after):\n%s", diff)
	}

	// The clients, capacity and statuses.
	for c, sub := range where {
		// A client on the fallback is placed again each time (and stays).
		want := authpool.OutcomeSticky
		if sub == authpool.FallbackID {
			want = authpool.OutcomeFallback
		}
		if a, err := p2.Allocate(ctx, c); err != nil || a.SubscriptionID != sub || a.Outcome != want {
			t.Errorf("Allocate(%s) on the new pool = %+v, %v; want it %v on %s", c, a, err, want, sub)
		}
	}
	if a, err := p2.Allocate(ctx, "dave"); err != nil || a.SubscriptionID != authpool.FallbackID {
		t.Errorf("Allocate(dave) with s-a full, s-b limited and s-c disabled = %+v, %v; want the fallback", a, err)
	}
	clk.Set(poolT0.Add(2*time.Hour + time.Minute)) // s-b's limit is over
	if a, err := p2.Allocate(ctx, "frank"); err != nil || a.SubscriptionID != "s-b" {
		t.Errorf("Allocate(frank) once s-b's limit is over = %+v, %v; want s-b", a, err)
	}
	// s-a's limit for opus holds: alice moves for an opus request.
	if a, err := p2.Allocate(ctx, "alice", authpool.ForModel("claude-opus-4-5")); err != nil ||
		a.SubscriptionID != "s-b" || a.Reason != authpool.ReasonModelLimited {
		t.Errorf("Allocate(alice, opus) = %+v, %v; want a move to s-b for the model limit", a, err)
	}
}

// maps reports whether two maps of strings are equal.
func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// poolSnapshot takes a snapshot, failing the test on an error.
func poolSnapshot(t *testing.T, p *authpool.Pool) authpool.Snapshot {
	t.Helper()
	s, err := p.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

// poolUnitCost is the cost of every usage the Pool fault tests record, in
// dollars and in nanodollars.
const (
	poolUnitUSD  = 0.01
	poolUnitCost = store.Nanodollars(10_000_000)
)

// TestPoolFaults runs a pool on a redis-server of its own that keeps every
// write it acknowledges (an append-only file, fsynced each write), and
// breaks it. Killed mid-run under 8 clients that allocate and record:
// calls fail fast with ErrUnavailable, and the pool works again as soon as
// Redis is back, where every usage acknowledged is found and no usage is
// counted in part (each session and its subscription's buckets agree,
// whole usages); sent again, every usage counts once. Killed, every kind of
// call fails fast with ErrUnavailable. Paused, every kind of call with a
// 200 ms deadline returns by then, with ErrUnavailable and
// DeadlineExceeded, and the usages sent meanwhile count whole or not at
// all, and once when sent again. It runs with a client that bounds its I/O
// by the deadline and with one that does not.
func TestPoolFaults(t *testing.T) {
	t.Parallel()
	// spare is disabled throughout: the calls of every kind disable it again.
	spare := poolSub("spare", 8, 0, 0)
	spare.Status = authpool.Status{State: authpool.Disabled, Reason: "spare"}
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ctxTimeouts), func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
			c := closing(t, redis.NewClient(&redis.Options{
				Addr: srv.Addr, ContextTimeoutEnabled: ctxTimeouts,
				DialerRetries: 1, // go-redis's default tries a refused dial 5 times, 100 ms apart
			}))
			st := redisstore.New(c, redisstore.WithPrefix("poolfaults"))
			p, err := authpool.New(t.Context(), authpool.Config{
				Subscriptions: []authpool.Subscription{poolSub("s-a", 8, 0, 0), poolSub("s-b", 8, 0, 0), spare},
			}, authpool.WithStore(st))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			f := &poolFaults{t: t, p: p, st: st, srv: srv}
			if _, err := p.Allocate(t.Context(), "leaver"); err != nil {
				t.Fatal(err)
			}

			t.Log("killed mid-run")
			f.killMidRun()
			f.everyCall(time.Minute, func(name string, err error, took time.Duration) {
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
				}
				if took > failFast {
					t.Errorf("%s with Redis down took %v, want at most %v", name, took, failFast)
				}
			})
			t.Log("back, with what it had written")
			srv.Start()
			f.worksAgain()
			f.sendAgain()

			t.Log("paused")
			f.paused()
			f.worksAgain()
			f.sendAgain()
		})
	}
}

// poolFaults is the state of one TestPoolFaults run.
type poolFaults struct {
	t   *testing.T
	p   *authpool.Pool
	st  store.Store
	srv *redistest.Server

	callN  atomic.Int64 // makes IDs for everyCall's Records
	mu     sync.Mutex
	acked  []string       // IDs of the usages Record accepted
	failed []string       // IDs of the usages Record failed to send
	client map[string]int // usage ID -> its client's number
}

// usage returns the usage with that ID: each costs poolUnitCost, with one
// token of each kind.
func (f *poolFaults) usage(id string) authpool.Usage {
	return authpool.Usage{ID: id, Time: time.Now(), CostUSD: poolUnitUSD, Model: "m",
		Tokens: authpool.Tokens{Input: 1, Output: 1, CacheWrite: 1, CacheRead: 1}}
}

// record records a usage of client number c and notes whether it was
// accepted.
func (f *poolFaults) record(ctx context.Context, c int, id string) error {
	err := f.p.Record(ctx, fmt.Sprintf("c%d", c), f.usage(id))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client == nil {
		f.client = map[string]int{}
	}
	f.client[id] = c
	if err == nil {
		f.acked = append(f.acked, id)
	} else {
		f.failed = append(f.failed, id)
	}
	return err
}

// killMidRun has 8 clients allocate and record in a loop while the server is
// killed under them: every call succeeds, or fails fast with
// ErrUnavailable.
func (f *poolFaults) killMidRun() {
	t := f.t
	var (
		stop                atomic.Bool
		recorded            atomic.Int64
		mu                  sync.Mutex
		failures            int
		slowest             time.Duration
		unexpected          []error
		wg                  sync.WaitGroup
		allocated, recorder = "Allocate", "Record"
	)
	check := func(what string, err error, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, store.ErrUnavailable) {
			failures++
			slowest = max(slowest, took)
		} else {
			unexpected = append(unexpected, fmt.Errorf("%s: %w", what, err))
		}
	}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				start := time.Now()
				if _, err := f.p.Allocate(context.Background(), fmt.Sprintf("c%d", w)); err != nil {
					check(allocated, err, time.Since(start))
					continue
				}
				start = time.Now()
				if err := f.record(context.Background(), w, fmt.Sprintf("run-%d-%d", w, i)); err != nil {
					check(recorder, err, time.Since(start))
					continue
				}
				recorded.Add(1)
			}
		})
	}
	for waited := time.Duration(0); recorded.Load() < 200; waited += time.Millisecond {
		if waited > 10*time.Second {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("only %d usages recorded in 10 s (unexpected errors: %v)", recorded.Load(), unexpected)
		}
		time.Sleep(time.Millisecond)
	}
	f.srv.Kill()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, err := range unexpected {
		t.Errorf("a call while Redis was killed: %v, want success or ErrUnavailable", err)
	}
	if failures == 0 {
		t.Errorf("no call failed after Redis was killed")
	}
	if slowest > failFast {
		t.Errorf("a failing call took %v, want at most %v", slowest, failFast)
	}
	t.Logf("%d usages recorded, then %d calls failed, the slowest in %v", recorded.Load(), failures, slowest)
}

// calls returns a call of each kind the pool makes of the store, by name.
// They leave the counts whole: Record's usage has an ID (noted like the
// others), Release is of a client that records nothing, MarkLimited is of
// a disabled spare subscription, and the newcomer records nothing.
func (f *poolFaults) calls() map[string]func(ctx context.Context) error {
	p := f.p
	return map[string]func(ctx context.Context) error{
		"Allocate sticky": func(ctx context.Context) error { _, err := p.Allocate(ctx, "c0"); return err },
		"Allocate new":    func(ctx context.Context) error { _, err := p.Allocate(ctx, "newcomer"); return err },
		"Record": func(ctx context.Context) error {
			return f.record(ctx, 1, fmt.Sprintf("call-%d", f.callN.Add(1)))
		},
		"Release":       func(ctx context.Context) error { return p.Release(ctx, "leaver") },
		"Snapshot":      func(ctx context.Context) error { _, err := p.Snapshot(ctx); return err },
		"Rebalance":     func(ctx context.Context) error { _, err := p.Rebalance(ctx); return err },
		"Disable":       func(ctx context.Context) error { return p.Disable(ctx, "spare", "again") },
		"Subscriptions": func(ctx context.Context) error { _, err := p.Subscriptions(ctx); return err },
	}
}

// everyCall makes every call of calls at once, each under a context with
// that timeout, and checks each call's error and duration with check.
func (f *poolFaults) everyCall(timeout time.Duration, check func(name string, err error, took time.Duration)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, call := range f.calls() {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(f.t.Context(), timeout)
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

// worksAgain waits until the pool works again: a client is allocated (go-redis
// probes a server it failed to dial once a second).
func (f *poolFaults) worksAgain() {
	t := f.t
	start := time.Now()
	for {
		_, err := f.p.Allocate(t.Context(), "c0")
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Allocate after Redis came back: %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the pool does not work 5 s after Redis came back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the pool works again %v after Redis came back", time.Since(start).Round(time.Millisecond))
}

// whole checks that the store holds whole usages only: the subscriptions'
// buckets and the sessions count the same requests and cost, and each
// session's cost and tokens are its requests'. It returns the requests
// the sessions count.
//
// It reads the buckets and the sessions in two calls, and a script sent
// before Redis paused may still run in between (the Store's doc says so):
// it reads again until they agree, for up to 5 s; usages counted in part
// would never agree.
func (f *poolFaults) whole() int64 {
	t := f.t
	start := time.Now()
	for reads := 1; ; reads++ {
		subs, err := f.st.Subscriptions(t.Context())
		must(t, err, "Subscriptions")
		sessions, err := f.st.Sessions(t.Context(), store.SessionQuery{})
		must(t, err, "Sessions")
		var inBuckets, inSessions store.Bucket
		for _, s := range subs {
			for _, b := range s.Usage {
				inBuckets.Requests += b.Requests
				inBuckets.Cost += b.Cost
			}
		}
		for _, s := range sessions {
			inSessions.Requests += s.Requests
			inSessions.Cost += s.Cost
			r := s.Requests
			if s.Cost != store.Nanodollars(r)*poolUnitCost || s.Tokens != (store.Tokens{Input: r, Output: r, CacheWrite: r, CacheRead: r}) {
				t.Errorf("session %s counts %d requests, cost %d and tokens %+v: not whole usages", s.ClientID, r, s.Cost, s.Tokens)
			}
		}
		if inBuckets == inSessions && inBuckets.Cost == store.Nanodollars(inBuckets.Requests)*poolUnitCost {
			if reads > 1 {
				t.Logf("the buckets and the sessions agreed on reading %d, after %v", reads, time.Since(start).Round(time.Millisecond))
			}
			return inSessions.Requests
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("the buckets count %d requests costing %d, the sessions %d costing %d: want them equal, at %d each",
				inBuckets.Requests, inBuckets.Cost, inSessions.Requests, inSessions.Cost, poolUnitCost)
			return inSessions.Requests
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendAgain checks the store (whole usages; every usage acknowledged is
// there), then records every usage sent so far again: each acknowledged one
// is refused as recorded, each failed one counts if Redis had not run it,
// so that in the end every usage counts once.
func (f *poolFaults) sendAgain() {
	t := f.t
	f.mu.Lock()
	acked, failed := slices.Clone(f.acked), slices.Clone(f.failed)
	f.mu.Unlock()
	if n := f.whole(); n < int64(len(acked)) {
		t.Errorf("the sessions count %d requests; %d usages were acknowledged", n, len(acked))
	}
	dups := f.p.Stats().DuplicateRecords
	for _, id := range append(acked, failed...) {
		if err := f.p.Record(t.Context(), fmt.Sprintf("c%d", f.client[id]), f.usage(id)); err != nil {
			t.Fatalf("Record(%s) again: %v", id, err)
		}
	}
	refused := f.p.Stats().DuplicateRecords - dups
	if refused < int64(len(acked)) {
		t.Errorf("%d of the %d usages acknowledged were counted again", int64(len(acked))-refused, len(acked))
	}
	if n := f.whole(); n != int64(len(acked)+len(failed)) {
		t.Errorf("after sending every usage again the sessions count %d requests, want %d", n, len(acked)+len(failed))
	}
	t.Logf("%d usages acknowledged, %d failed, of which %d had been counted", len(acked), len(failed), refused-int64(len(acked)))
	f.mu.Lock()
	f.acked, f.failed = append(acked, failed...), nil
	f.mu.Unlock()
}

// paused pauses the server under 16 usages and every kind of call, each
// with a 200 ms deadline: they return by it, with ErrUnavailable and
// DeadlineExceeded.
func (f *poolFaults) paused() {
	t := f.t
	const (
		n        = 16
		deadline = 200 * time.Millisecond
	)
	check := func(name string, err error, took time.Duration) {
		if took > deadline+deadlineSlack {
			t.Errorf("%s with Redis paused took %v, want it back by its deadline (%v)", name, took, deadline)
		}
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with Redis paused: %v, want ErrUnavailable and DeadlineExceeded", name, err)
		}
	}
	f.srv.Pause()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := f.record(ctx, i%8, fmt.Sprintf("paused-%d", i))
			check("Record", err, time.Since(start))
		})
	}
	wg.Wait()
	f.everyCall(deadline, check)
	f.srv.Resume()
	if t.Failed() {
		t.FailNow()
	}
}
