package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// load is what the load's goroutines share.
type load struct {
	pools     []*authpool.Pool
	subs      []string // the subscriptions' IDs, fallback excluded
	remember  time.Duration
	opTimeout time.Duration
	limiter   *rate.Limiter // paces the workers' operations
	outage    atomic.Bool   // Redis is down, or just back
	// outageEnded is when the outage flag was last cleared (Unix
	// nanoseconds; 0 before any outage), to say when a slow call happened.
	outageEnded atomic.Int64
	ops         atomic.Int64 // operations so far, for the samples' rates
	idCalls     atomic.Int64 // calls with a usage ID so far: each may write the ID's key
	// limitCalls counts MarkLimited and Throttled calls so far: each may
	// make a limited and a recovered event's claims.
	limitCalls atomic.Int64
}

// models are the models of the usages; Allocate asks for them with
// ForModel, and the operator limits "opus" now and then.
var models = []string{"claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"}

// credentialOf is the credential of a subscription: each Allocation must
// carry its subscription's.
func credentialOf(id string) authpool.Credential { return authpool.Credential("soak-credential-" + id) }

// do runs one call of kind with its own deadline and counts it in t,
// returning the class of its error and the error.
func (l *load) do(t *tally, kind opKind, f func(ctx context.Context) error) (errClass, error) {
	during := l.outage.Load()
	timeout := l.opTimeout
	if kind == opRebalance {
		timeout *= 5 // a host's ticker job: it releases stale sessions one round trip each
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := f(ctx)
	cancel()
	t.ops[kind]++
	l.ops.Add(1)
	if err == nil {
		return -1, nil
	}
	c := classify(err, during || l.outage.Load())
	t.errs[kind][c]++
	if c == errOther || c == errUnavailable || c == errDeadline {
		since := "before any outage"
		if end := l.outageEnded.Load(); end != 0 {
			since = fmt.Sprintf("%.1fs after the last outage", time.Since(time.Unix(0, end)).Seconds())
		}
		t.note("%s (%s): %s: %v", opNames[kind], since, errNames[c], err)
	}
	return c, err
}

// client is a worker's client, as far as the worker knows.
type client struct {
	id string
	on string // the subscription of its last allocation; "" without a session
	// lastID is the latest usage ID the pool acknowledged for it, at lastAt,
	// which a resend sends again.
	lastID string
	lastAt time.Time
}

// worker drives its own clients (no other worker touches them) through
// random pools until stop ends.
type worker struct {
	l       *load
	name    string
	rng     *rand.Rand
	clients []client
	seq     int
	t       tally
}

func (w *worker) run(stop context.Context) {
	for stop.Err() == nil {
		if w.l.limiter.Wait(stop) != nil {
			return
		}
		c := &w.clients[w.rng.IntN(len(w.clients))]
		p := w.l.pools[w.rng.IntN(len(w.l.pools))]
		switch n := w.rng.IntN(100); {
		case c.on == "" || n < 40:
			w.allocate(p, c)
		case n < 65:
			w.record(p, c, true)
		case n < 85:
			w.record(p, c, false)
		case n < 92:
			w.resend(p, c)
		case n < 93:
			w.charge(p)
		default:
			w.release(p, c)
		}
	}
}

func (w *worker) allocate(p *authpool.Pool, c *client) {
	kind, model := opAllocate, ""
	if w.rng.IntN(3) == 0 {
		kind, model = opAllocateModel, models[w.rng.IntN(len(models))]
	}
	var a authpool.Allocation
	class, err := w.l.do(&w.t, kind, func(ctx context.Context) (err error) {
		if model != "" {
			a, err = p.Allocate(ctx, c.id, authpool.ForModel(model))
		} else {
			a, err = p.Allocate(ctx, c.id)
		}
		return err
	})
	switch {
	case err == nil:
		if a.Credential != credentialOf(a.SubscriptionID) {
			w.t.note("Allocate %s: subscription %q came with another's credential", c.id, a.SubscriptionID)
		}
		c.on = a.SubscriptionID
	case class == errExhausted:
		c.on = "" // it may have lost its session; a Record will tell
	}
}

// usage returns a new usage of the client, with a cost of 1 µ$ to 2 m$.
func (w *worker) usage(c *client) (authpool.Usage, store.Nanodollars) {
	cost := store.Nanodollars(1000 + w.rng.Int64N(2_000_000))
	u := authpool.Usage{Time: time.Now(), CostUSD: cost.USD(), Model: models[w.rng.IntN(len(models))],
		Tokens: authpool.Tokens{Input: w.rng.Int64N(100), Output: w.rng.Int64N(1000), CacheRead: w.rng.Int64N(10000)}}
	if c != nil && w.rng.IntN(2) == 0 {
		u.SubscriptionID = c.on // bill where it was allocated, wherever it is now
	}
	return u, cost
}

// record records a usage of the client, with a new ID or none.
func (w *worker) record(p *authpool.Pool, c *client, withID bool) {
	u, cost := w.usage(c)
	if !withID {
		class, err := w.l.do(&w.t, opRecordNoID, func(ctx context.Context) error { return p.Record(ctx, c.id, u) })
		switch {
		case err == nil:
			w.t.acked += cost
			w.t.ackedReqs++
		case class == errUnknownClient: // refused, nothing counted
			c.on = ""
		default: // it may or may not have landed
			w.t.uncertain += cost
			w.t.uncertainReqs++
		}
		return
	}
	w.seq++
	u.ID = fmt.Sprintf("%s-%d", w.name, w.seq)
	if w.sendUntilAcked(opRecordID, cost, func(ctx context.Context) error { return p.Record(ctx, c.id, u) }) {
		c.lastID, c.lastAt = u.ID, time.Now()
	} else {
		c.on = ""
	}
}

// sendUntilAcked sends a usage with an ID until the pool acknowledges it,
// resending it after a failure that leaves open whether it landed (its ID
// makes it count once), for at most half the time the ID is remembered.
// It counts the cost as acknowledged or uncertain, and reports whether it
// was acknowledged.
func (w *worker) sendUntilAcked(kind opKind, cost store.Nanodollars, send func(ctx context.Context) error) bool {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		w.l.idCalls.Add(1)
		class, err := w.l.do(&w.t, kind, send)
		switch {
		case err == nil:
			w.t.acked += cost
			w.t.ackedReqs++
			return true
		case class == errUnknownClient && attempt == 0: // refused, nothing counted
			return false
		case class <= errDeadline: // an outage, or Redis slow: it may have landed
			if time.Since(start) < w.l.remember/2 {
				w.t.retries++
				time.Sleep(time.Duration(50+w.rng.IntN(150)) * time.Millisecond)
				continue
			}
		}
		// Given up: an earlier attempt may have landed.
		w.t.uncertain += cost
		w.t.uncertainReqs++
		return false
	}
}

// resend records again the client's last acknowledged usage ID, with
// another cost: the pool must accept it and count nothing.
func (w *worker) resend(p *authpool.Pool, c *client) {
	if c.lastID == "" || time.Since(c.lastAt) > w.l.remember/2 {
		w.record(p, c, true)
		return
	}
	u, _ := w.usage(c)
	u.ID = c.lastID
	w.l.idCalls.Add(1)
	if _, err := w.l.do(&w.t, opRecordResent, func(ctx context.Context) error { return p.Record(ctx, c.id, u) }); err == nil {
		w.t.resendsAcked++
	}
}

// charge counts a usage against a random subscription, with no client.
func (w *worker) charge(p *authpool.Pool) {
	u, cost := w.usage(nil)
	w.seq++
	u.ID = fmt.Sprintf("%s-%d", w.name, w.seq)
	sub := w.l.subs[w.rng.IntN(len(w.l.subs))]
	w.sendUntilAcked(opCharge, cost, func(ctx context.Context) error { return p.Charge(ctx, sub, u) })
}

func (w *worker) release(p *authpool.Pool, c *client) {
	if _, err := w.l.do(&w.t, opRelease, func(ctx context.Context) error { return p.Release(ctx, c.id) }); err == nil {
		c.on = ""
	}
}

// host does what a process hosting a pool does on its tickers: Rebalance
// every second, and a Snapshot every two, checking that no subscription
// holds more clients than its maximum.
func (l *load) host(stop context.Context, p *authpool.Pool, t *tally) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop.Done():
			return
		case <-tick.C:
		}
		l.do(t, opRebalance, func(ctx context.Context) error { _, err := p.Rebalance(ctx); return err })
		if i%2 == 1 {
			continue
		}
		var snap authpool.Snapshot
		if _, err := l.do(t, opSnapshot, func(ctx context.Context) (err error) { snap, err = p.Snapshot(ctx); return err }); err != nil {
			continue
		}
		for _, s := range snap.Subscriptions {
			if s.MaxClients > 0 && s.ActiveClients > s.MaxClients {
				t.overCapacity++
				t.note("Snapshot: %d clients of subscription %q hold a slot, more than its %d", s.ActiveClients, s.ID, s.MaxClients)
			}
		}
	}
}

// operator does what a person or the upstream's answers do, once a second
// on a random subscription through a random pool, in turn: a limit that
// ends by itself, a disabling (enabled again a second later), a model's
// limit, a throttle, an observation, and a long limit lifted early.
func (l *load) operator(stop context.Context, t *tally) {
	rng := rand.New(rand.NewPCG(7, 7))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var pending []string // to enable
	for i := 0; ; i++ {
		select {
		case <-stop.Done():
			return
		case <-tick.C:
		}
		p := l.pools[rng.IntN(len(l.pools))]
		for len(pending) > 0 {
			if _, err := l.do(t, opEnable, func(ctx context.Context) error { return p.Enable(ctx, pending[0]) }); err != nil {
				break // again next second
			}
			pending = pending[1:]
		}
		sub := l.subs[rng.IntN(len(l.subs))]
		now := time.Now()
		if i%6 == 0 || i%6 == 3 || i%6 == 5 {
			l.limitCalls.Add(1)
		}
		var err error
		switch i % 6 {
		case 0:
			_, err = l.do(t, opMarkLimited, func(ctx context.Context) error {
				return p.MarkLimited(ctx, sub, now.Add(3*time.Second), "soak: limited for 3 s")
			})
		case 1:
			_, err = l.do(t, opDisable, func(ctx context.Context) error { return p.Disable(ctx, sub, "soak: disabled") })
		case 2:
			_, err = l.do(t, opModelLimit, func(ctx context.Context) error {
				return p.MarkModelLimited(ctx, sub, "opus", now.Add(5*time.Second), "soak: opus limited for 5 s")
			})
		case 3:
			_, err = l.do(t, opThrottled, func(ctx context.Context) error {
				_, err := p.Throttled(ctx, sub, time.Second, "soak: throttled")
				return err
			})
		case 4:
			_, err = l.do(t, opObserve, func(ctx context.Context) error {
				return p.Observe(ctx, sub, authpool.Observation{Time: now,
					Block: &authpool.WindowObservation{Share: rng.Float64() / 2, Reset: now.Add(2 * time.Hour)},
					Week:  &authpool.WindowObservation{Share: rng.Float64() / 2, Reset: now.Add(100 * time.Hour)}})
			})
		case 5:
			_, err = l.do(t, opMarkLimited, func(ctx context.Context) error {
				return p.MarkLimited(ctx, sub, now.Add(time.Hour), "soak: limited for an hour")
			})
		}
		// Enable what was disabled or limited for an hour, or may have been
		// (a call that failed on an outage may have landed).
		if (i%6 == 1 || i%6 == 5) && (err == nil || errors.Is(err, store.ErrUnavailable)) {
			pending = append(pending, sub)
		}
	}
}
