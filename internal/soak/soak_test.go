package soak

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
	"github.com/authpool/authpool/webhook"
)

// The soak test's flags; without -soak (or AUTHPOOL_SOAK) it is skipped.
var (
	soakFor     = flag.Duration("soak", 0, "run TestSoak for this long (e.g. 10m, 20s); 0 skips it unless "+envSoak+" is set")
	soakRate    = flag.Float64("soak.rate", 2000, "TestSoak: the workers' operations per second, all pools together")
	soakClients = flag.Int("soak.clients", 1000, "TestSoak: how many clients the workers drive")
)

// envSoak names the variable that, like -soak, asks for the soak test and
// says how long it runs.
const envSoak = "AUTHPOOL_SOAK"

// soakDuration returns how long the soak test runs: -soak, else
// AUTHPOOL_SOAK, else 0 (skip).
func soakDuration(t *testing.T) time.Duration {
	if *soakFor > 0 {
		return *soakFor
	}
	v := os.Getenv(envSoak)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 10m", envSoak, v)
	}
	return d
}

// The shape of the load.
const (
	numPools    = 3  // as if three processes shared the Redis
	numWorkers  = 48 // goroutines driving clients, each through a random pool per call
	numSubs     = 20 // 2 small Pro (3 clients), 9 Max 5x and 9 Max 20x (15 each): 276 places
	hookDelay   = 200 * time.Millisecond
	queueSize   = 256 // each pool's notification queues: small, so the slow webhook makes them drop
	opTimeout   = 2 * time.Second
	outageGrace = time.Second
)

// plan is the soak test's schedule, scaled to its duration.
type plan struct {
	Duration    time.Duration
	SampleEvery time.Duration // clamp(duration/40, 1 s, 10 s)
	OutageEvery time.Duration // clamp(duration/4, 5 s, 60 s): at least 3 outages
	Down        time.Duration // how long each outage lasts: clamp(duration/200, 1 s, 3 s)
	Remember    time.Duration // Config.RememberUsageIDs: clamp(duration/10, 2 s, 60 s)
	WarmUp      time.Duration // samples before it are not judged: the ID keys' TTL (2 × Remember) must have turned over
	Rate        float64
	Clients     int
}

func planFor(d time.Duration) plan {
	p := plan{Duration: d, Rate: *soakRate, Clients: *soakClients,
		SampleEvery: min(max(d/40, time.Second), 10*time.Second),
		OutageEvery: min(max(d/4, 5*time.Second), time.Minute),
		Remember:    min(max(d/10, 2*time.Second), time.Minute),
		Down:        min(max(d/200, time.Second), 3*time.Second),
	}
	p.WarmUp = max(d/5, 2*p.Remember+2*p.SampleEvery)
	return p
}

// config returns the pools' configuration: realistic budgets, except the
// two small Pro subscriptions, whose block budget is sized to be spent
// about 40 % into the run (so their thresholds fire and their clients fail
// over); a fallback whose day is never spent; sessions idle after 2 s and
// stale after 8 s, so Rebalance moves and releases clients; usage IDs
// remembered for plan.Remember. (Its webhook
// is a webhook.Notifier given to each pool.)
func (pl plan) config() authpool.Config {
	// What a client spends a second: a Record (with or without an ID) is
	// 45 % of the operations, a usage costs 1 m$ on average.
	perClient := pl.Rate * 0.45 * 0.001 / float64(pl.Clients)
	small := max(0.4*pl.Duration.Seconds()*perClient*3, 0.01)
	subs := make([]authpool.Subscription, 0, numSubs)
	for i := range numSubs {
		s := authpool.Subscription{ID: fmt.Sprintf("sub-%02d", i)}
		switch {
		case i < 2:
			s.Kind, s.MaxClients, s.BlockBudgetUSD, s.WeeklyBudgetUSD = authpool.KindPro, 3, small, 50
		case i < 11:
			s.Kind, s.BlockBudgetUSD, s.WeeklyBudgetUSD = authpool.KindMax5x, 35, 250
		default:
			s.Kind, s.BlockBudgetUSD, s.WeeklyBudgetUSD = authpool.KindMax20x, 140, 1000
		}
		s.Credential = credentialOf(s.ID)
		subs = append(subs, s)
	}
	return authpool.Config{
		Subscriptions:    subs,
		Fallback:         &authpool.Fallback{Credential: credentialOf(authpool.FallbackID), DailyBudgetUSD: 100000},
		Sessions:         authpool.SessionPolicy{IdleAfter: authpool.Duration(2 * time.Second), StaleAfter: authpool.Duration(8 * time.Second)},
		Rebalance:        authpool.RebalancePolicy{MinGapUSD: 0.001},
		RememberUsageIDs: authpool.Duration(pl.Remember),
		Notify:           authpool.NotifyConfig{QueueSize: queueSize},
	}
}

// newClient returns a go-redis client of srv as a process would make it:
// calls end at their deadline, a dead server fails a call in ~150 ms, and a
// command is never sent twice (a retry could count a usage without an ID
// twice; see package redisstore).
func newClient(srv *redistest.Server) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, DialerRetries: 1, MaxRetries: -1})
}

// TestSoak runs the pool under sustained load for the -soak duration:
// numWorkers goroutines drive plan.Clients clients through numPools Pools
// on one redisstore (every operation of the pool; usages with IDs, without,
// and resent), each pool's host goroutine rebalances and snapshots, an
// operator limits, disables, throttles and observes subscriptions, events
// go to a webhook that takes 200 ms an event, and Redis is killed (and
// restarted on its AOF) or paused, in turn, every plan.OutageEvery.
//
// It checks that calls during an outage fail with store.ErrUnavailable (or,
// when their deadline passed between two store calls, with
// context.DeadlineExceeded alone) and work again after it; that goroutines, live heap and Redis keys stay flat
// once warmed up (see flatness); that the store holds exactly what the pool
// acknowledged (between acknowledged and acknowledged + uncertain, to the
// nanodollar and the request); that no subscription ever held more clients
// than its maximum; that every webhook delivery is signed and well formed;
// and that closing the pools leaves no goroutine behind.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	if d == 0 {
		t.Skipf("the soak test runs only when asked: go test ./internal/soak -run TestSoak -soak 10m -timeout 30m -v (or %s=10m)", envSoak)
	}
	if d < 10*time.Second {
		t.Fatalf("-soak %v: the soak test needs at least 10s", d)
	}
	goroutinesBefore := runtime.NumGoroutine()
	pl := planFor(d)
	t.Logf("plan: %+v", pl)
	// go-redis logs each failed dial; during an outage that is every call.
	// Count the lines instead (the only Redis test of this binary is this).
	redisLog := new(countingLogger)
	redis.SetLogger(redisLog)

	// Every write acknowledged is on disk before the reply, so a kill
	// loses nothing the pool acknowledged.
	srv := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	admin := newClient(srv)
	adminStore := redisstore.New(admin, redisstore.WithPrefix("soak"))
	const secret = "soak-webhook-secret-0123456789"
	hook := &slowHook{secret: []byte(secret), delay: hookDelay}
	hs := httptest.NewServer(hook)
	cfg := pl.config()

	l := &load{remember: pl.Remember, opTimeout: opTimeout, limiter: rate.NewLimiter(rate.Limit(pl.Rate), numWorkers)}
	for _, s := range cfg.Subscriptions {
		l.subs = append(l.subs, s.ID)
	}
	var rdbs []*redis.Client
	for range numPools {
		c := newClient(srv)
		rdbs = append(rdbs, c)
		notifier, err := webhook.New(webhook.Config{URL: hs.URL, Secret: secret}, nil)
		if err != nil {
			t.Fatalf("webhook.New: %v", err)
		}
		p, err := authpool.New(t.Context(), cfg, authpool.WithStore(redisstore.New(c, redisstore.WithPrefix("soak"))),
			authpool.WithNotifier(notifier))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		l.pools = append(l.pools, p)
	}

	// The load.
	stop, stopLoad := context.WithCancel(context.Background())
	defer stopLoad() // on a t.Fatal; the end stops it first
	var wg sync.WaitGroup
	workers := make([]*worker, numWorkers)
	for i := range workers {
		w := &worker{l: l, name: fmt.Sprintf("w%02d", i), rng: rand.New(rand.NewPCG(uint64(i), 1))}
		for c := i; c < pl.Clients; c += numWorkers {
			w.clients = append(w.clients, client{id: fmt.Sprintf("client-%04d", c)})
		}
		workers[i] = w
		wg.Go(func() { w.run(stop) })
	}
	hosts := make([]tally, numPools+1) // the pools' hosts, then the operator
	for i, p := range l.pools {
		wg.Go(func() { l.host(stop, p, &hosts[i]) })
	}
	wg.Go(func() { l.operator(stop, &hosts[numPools]) })

	// The run: samples, and an outage now and then, from this goroutine.
	start := time.Now()
	var (
		samples  []sample
		outages  []outage
		snapshot = func() []authpool.Snapshot { return snapshots(t, l.pools) }
		mid      []authpool.Snapshot
		midStats []authpool.Stats
	)
	samples = append(samples, take(t, admin, l, start))
	nextSample, nextOutage := pl.SampleEvery, pl.OutageEvery
	for {
		next := min(nextSample, nextOutage, d)
		time.Sleep(time.Until(start.Add(next)))
		elapsed := time.Since(start)
		if elapsed >= d {
			break
		}
		if elapsed >= nextOutage {
			o := breakRedis(t, srv, l, len(outages)%2 == 0, pl.Down, outageGrace, start)
			outages = append(outages, o)
			t.Logf("%v: outage %d (%s): down %v, pools working again %v later", o.At.Round(time.Second), len(outages),
				o.Kind, o.Down.Round(time.Millisecond), o.Recovered.Round(time.Millisecond))
			nextOutage += pl.OutageEvery
			nextSample = max(nextSample, time.Since(start)+time.Second)
			continue
		}
		s := take(t, admin, l, start)
		samples = append(samples, s)
		if mid == nil && s.At >= d/2 {
			mid, midStats = snapshot(), poolStats(l.pools)
		}
		t.Logf("%v: %d goroutines, heap %.1f MiB, %d keys (%d usage IDs, %d claims, %d others), %d ops", s.At.Round(time.Second), s.Goroutines,
			float64(s.Heap)/(1<<20), s.Keys, s.IDKeys, s.ClaimKeys, s.StateKeys, s.Ops)
		nextSample += pl.SampleEvery
	}
	stopLoad()
	wg.Wait()
	ran := time.Since(start)
	samples = append(samples, take(t, admin, l, start))
	final, finalStats := snapshot(), poolStats(l.pools)

	var all tally
	for _, w := range workers {
		all.add(&w.t)
	}
	for i := range hosts {
		all.add(&hosts[i])
	}
	stored, storedReqs, capacity := storeTotals(t, adminStore)

	// Close everything, then count the goroutines left.
	var closeErrs []string
	for i, p := range l.pools {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := p.Close(ctx); err != nil {
			closeErrs = append(closeErrs, fmt.Sprintf("pool %d: %v", i, err)) // events still queued were dropped
		}
		cancel()
	}
	for _, c := range append(rdbs, admin) {
		if err := c.Close(); err != nil {
			t.Errorf("closing a Redis client: %v", err)
		}
	}
	hs.Close()
	goroutinesAfter := settle(goroutinesBefore)

	r := report{plan: pl, ran: ran, all: &all, samples: samples, outages: outages, mid: mid, final: final, midStats: midStats, finalStats: finalStats, hook: hook,
		stored: stored, storedReqs: storedReqs, closeErrs: closeErrs, redisLog: redisLog.n.Load(), goroutinesBefore: goroutinesBefore, goroutinesAfter: goroutinesAfter}
	t.Log("\n" + r.String())

	// The checks.
	if all.ackedReqs == 0 {
		t.Errorf("no usage was acknowledged: the load did not run")
	}
	if stored < all.acked || stored > all.acked+all.uncertain {
		t.Errorf("the store holds %d n$, want between the %d acknowledged and %d (+ %d uncertain)",
			stored, all.acked, all.acked+all.uncertain, all.uncertain)
	}
	if storedReqs < all.ackedReqs || storedReqs > all.ackedReqs+all.uncertainReqs {
		t.Errorf("the store counts %d requests, want between the %d acknowledged and %d (+ %d uncertain)",
			storedReqs, all.ackedReqs, all.ackedReqs+all.uncertainReqs, all.uncertainReqs)
	}
	for _, problem := range capacity {
		t.Error(problem)
	}
	// Redis up but slow: on a machine this busy a call may miss its 2 s
	// deadline now and then, but not one in a thousand.
	slow := all.errors(errUnavailable) + all.errors(errDeadline)
	if n := all.errors(errOther); n > 0 || slow > all.calls()/1000 || all.overCapacity > 0 {
		t.Errorf("%d calls failed with an unexpected error, %d of %d ran out of time while Redis was up; the first:\n%s",
			n, slow, all.calls(), strings.Join(all.noted, "\n"))
	} else if len(all.noted) > 0 {
		t.Logf("while Redis was up:\n%s", strings.Join(all.noted, "\n"))
	}
	if len(outages) < 2 {
		t.Errorf("%d outages: want a kill and a pause at least", len(outages))
	}
	if all.errors(errOutage) == 0 {
		t.Errorf("no call failed with ErrUnavailable during %d outages: were they outages?", len(outages))
	}
	if n := hook.bad.Load(); n > 0 {
		t.Errorf("the webhook refused %d deliveries (signature or payload)", n)
	}
	if got, want := hook.received.Load(), notifications(finalStats).Delivered; got < want {
		t.Errorf("the webhook received %d deliveries, fewer than the %d the pools counted delivered", got, want)
	}
	judge := func(what string, rule flatness, pick func(sample) float64) {
		var series []float64
		for _, s := range samples {
			if s.At >= pl.WarmUp {
				series = append(series, pick(s))
			}
		}
		if _, _, ok, why := rule.check(series); !ok {
			t.Errorf("%s grew: %s", what, why)
		} else {
			t.Logf("%s flat: %s", what, why)
		}
	}
	judge("goroutines", flatness{1.1, 5}, func(s sample) float64 { return float64(s.Goroutines) })
	judge("heap", flatness{1.2, 4 << 20}, func(s sample) float64 { return float64(s.Heap) })
	judge("Redis keys of subscriptions and sessions", flatness{1.2, 100}, func(s sample) float64 { return float64(s.StateKeys) })
	// The usage IDs remembered follow the load: each is forgotten once its
	// usage is RememberUsageIDs old, a few at each new ID (package
	// redisstore), so a sample holds at most those of the calls of twice
	// that long before it and one sampling period more (a generous bound:
	// the forgetting keeps up with the calls).
	for _, s := range samples {
		back := s.At - 2*pl.Remember - pl.SampleEvery
		if back < 0 || s.At < pl.WarmUp {
			continue
		}
		var then int64 // IDCalls at or before back
		for _, e := range samples {
			if e.At <= back {
				then = e.IDCalls
			}
		}
		if bound := s.IDCalls - then; s.IDKeys > bound {
			t.Errorf("at %v Redis remembers %d usage IDs, more than the %d calls with an ID since %v could have written: they are not forgotten",
				s.At.Round(time.Second), s.IDKeys, bound, back.Round(time.Second))
		}
	}
	// Claims outlive the run (a recovery's is kept 48 h), so they grow with
	// the limits the operator sets: at most a limited and a recovered claim
	// for each, and the thresholds' (2 for each block, week and day) and
	// exhaustions' few.
	for _, s := range samples {
		if bound := 2*s.LimitCalls + 2*3*(numSubs+1) + 50; s.ClaimKeys > bound {
			t.Errorf("at %v Redis holds %d claims, more than the %d that %d limits, thresholds and exhaustions could make",
				s.At.Round(time.Second), s.ClaimKeys, bound, s.LimitCalls)
		}
	}
	if goroutinesAfter > goroutinesBefore {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("%d goroutines after Close, %d before the test:\n%s", goroutinesAfter, goroutinesBefore, b.String())
	}
}

// poolStats returns the Stats of each pool.
func poolStats(pools []*authpool.Pool) []authpool.Stats {
	st := make([]authpool.Stats, len(pools))
	for i, p := range pools {
		st[i] = p.Stats()
	}
	return st
}

// snapshots returns a Snapshot of each pool (retrying a few times, for a
// Redis just back).
func snapshots(t *testing.T, pools []*authpool.Pool) []authpool.Snapshot {
	t.Helper()
	snaps := make([]authpool.Snapshot, len(pools))
	for i, p := range pools {
		var err error
		for range 10 {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			snaps[i], err = p.Snapshot(ctx)
			cancel()
			if err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("Snapshot of pool %d: %v", i, err)
		}
	}
	return snaps
}

// storeTotals reads the store itself: the cost and requests of every
// subscription's hourly buckets, to the nanodollar, and any subscription
// with more clients holding a slot than its maximum (the pools run on this
// process's clock) or disagreeing with its sessions.
func storeTotals(t *testing.T, s store.Store) (cost store.Nanodollars, requests int64, problems []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	sessions, err := s.Sessions(ctx, store.SessionQuery{})
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	on := make(map[string]int)
	for _, sess := range sessions {
		on[sess.SubscriptionID]++
	}
	for _, sub := range subs {
		for _, b := range sub.Usage {
			cost += b.Cost
			requests += b.Requests
		}
		now, holding := time.Now(), 0
		for _, h := range sub.Holds {
			if h.After(now) {
				holding++
			}
		}
		if sub.MaxClients > 0 && holding > sub.MaxClients {
			problems = append(problems, fmt.Sprintf("%d clients of subscription %q hold a slot, more than its %d", holding, sub.ID, sub.MaxClients))
		}
		if on[sub.ID] != sub.Clients {
			problems = append(problems, fmt.Sprintf("subscription %q counts %d clients, %d sessions are on it", sub.ID, sub.Clients, on[sub.ID]))
		}
		delete(on, sub.ID)
	}
	for id, n := range on {
		problems = append(problems, fmt.Sprintf("%d sessions are on %q, which the store does not list", n, id))
	}
	return cost, requests, problems
}

// countingLogger counts go-redis's log lines and drops them.
type countingLogger struct{ n atomic.Int64 }

func (l *countingLogger) Printf(context.Context, string, ...any) { l.n.Add(1) }

// settle waits up to 10 s for the goroutine count to come down to want,
// and returns it.
func settle(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}
