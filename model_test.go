package authpool_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// The model-based test drives a pool with a random sequence of operations
// (Allocate, Record, Charge, Release, Rebalance, MarkLimited, Disable,
// Enable and clock steps) and checks it against modelPool, a small
// reference model, after every step.
//
// The model holds the sessions (client -> subscription, cost, last
// activity, hold on a slot), each subscription's status, usage by hour,
// block anchor and last activity, the claims events take, and the clock.
// It predicts:
//
//   - Allocate: sticky on an in-service subscription where the client holds
//     its slot or finds one free; else the healthiest eligible one
//     (exactly: health, clients holding a slot, weekly cost, ID) with its
//     outcome and reason (a place taken while the client was idle
//     included); else the fallback; else ErrExhausted with its RetryAt (a
//     full subscription's when enough holds end);
//   - Record and Charge: what the session and each window hold, to the
//     nanodollar (usage IDs recorded twice count once), and the client's
//     hold (IdleAfter, or an hour for a usage that wrote 1-hour cache);
//   - Rebalance: exactly the stale sessions released and the idle clients
//     moved (neither while the client holds its slot).
//
// After each step it checks the snapshot and the store: sessions and
// clients holding a slot per subscription (at most its maximum, after every
// step), each session's hold, each subscription's week and block cost,
// status, last activity and health (0..100, and its exact value), and that
// the windows hold exactly what the sessions, live and released, and the
// charges spent.
//
// Events: after each step the test waits until every emitted event is
// delivered or deduplicated, then compares them with the model's: failover,
// exhausted (once per key, as the claims and the pool's last key allow),
// limited (once per subscription and until), disabled, rotation, and
// recovered (required when Enable or Rebalance must notice the end of a
// limit; accepted at most once at any step after the limit ended). Any
// other event fails the test (no budget is set, so no threshold event).
//
// To replay a failure, run it with the seed it printed:
//
//	go test -run '^TestModel$' -modelseed N [-modelsteps N] .
//
// or set AUTHPOOL_MODEL_SEED (and AUTHPOOL_MODEL_STEPS), which the run on
// Redis (TestPoolTestsOnRedis) inherits.
var (
	modelSeed  = flag.Uint64("modelseed", 0, "run the model-based test with this seed only (0: the default seeds)")
	modelSteps = flag.Int("modelsteps", 0, "steps per seed of the model-based test (0: the default)")
)

// modelSeeds returns the seeds to run and the steps for each: the flags or
// the environment, else a few fixed seeds plus a fresh one.
func modelSeeds(t *testing.T) ([]uint64, int) {
	seed, steps := *modelSeed, *modelSteps
	if v := os.Getenv("AUTHPOOL_MODEL_SEED"); seed == 0 && v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("AUTHPOOL_MODEL_SEED=%q: %v", v, err)
		}
		seed = n
	}
	if v := os.Getenv("AUTHPOOL_MODEL_STEPS"); steps == 0 && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("AUTHPOOL_MODEL_STEPS=%q: %v", v, err)
		}
		steps = n
	}
	if steps <= 0 {
		steps = 400
		if authpool.OnRedis() {
			steps = 250 // about 2.5 s under -race
		}
		if testing.Short() {
			steps = 150
		}
	}
	if seed != 0 {
		return []uint64{seed}, steps
	}
	return []uint64{1, 2, 3, rand.Uint64()}, steps
}

// The pool under test: three subscriptions with small maximums, no budgets
// (so eligibility is status and capacity only, which the model predicts
// exactly), and a fallback whose daily budget is never reached.
var modelSubs = []struct {
	id  string
	max int
}{{"s-a", 2}, {"s-b", 3}, {"s-c", 2}}

const modelClients = 9 // more than the subscriptions hold: they fill up

func modelConfig() authpool.Config {
	cfg := authpool.Config{Fallback: &authpool.Fallback{Credential: authpool.Credential(secret + "-fb"), DailyBudgetUSD: 1e6}}
	for _, s := range modelSubs {
		cfg.Subscriptions = append(cfg.Subscriptions, sub(s.id, maxClients(s.max)))
	}
	return cfg
}

func TestModel(t *testing.T) {
	t.Parallel()
	seeds, steps := modelSeeds(t)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runModel(t, seed, steps)
		})
	}
}

// mSub is a subscription (or the fallback) as the model sees it.
type mSub struct {
	id    string
	max   int // 0: no maximum (the fallback)
	state authpool.State
	until time.Time         // of a limit
	cost  store.Nanodollars // recorded on it; every usage stays in the week
	last  time.Time         // its clients' latest activity (Store.AddUsage: only the subscription billed moves)
	// The usage by hour, and the hour the latest 5-hour block started at
	// (anchored: the first usage at or after the previous block's end).
	hours  map[int64]store.Nanodollars
	anchor int64
	// pending is the end of the last limit the pool saw (MarkLimited) and has
	// not reported recovered yet; sure is false when the pool may have
	// noticed the recovery without an event (the claim was taken).
	pending time.Time
	sure    bool
}

// mSess is a client's session as the model sees it.
type mSess struct {
	sub  string
	cost store.Nanodollars // everything the client recorded, across moves
	last time.Time
	hold time.Time // the end of its hold on a slot of sub
}

// modelPool is the reference model.
type modelPool struct {
	now           time.Time
	subs          map[string]*mSub // with the fallback
	order         []string         // subscription IDs, without the fallback
	sess          map[string]*mSess
	released      store.Nanodollars // the costs of released sessions
	charged       store.Nanodollars // Charge's: in the windows, in no session
	usageIDs      map[string]time.Time
	duplicates    int64
	claims        map[string]time.Time // until, by key
	lastExhausted string
}

func newModel(now time.Time) *modelPool {
	m := &modelPool{now: now, subs: map[string]*mSub{}, sess: map[string]*mSess{}, claims: map[string]time.Time{},
		usageIDs: map[string]time.Time{}}
	for _, s := range modelSubs {
		m.subs[s.id] = &mSub{id: s.id, max: s.max, state: authpool.Active, hours: map[int64]store.Nanodollars{}, anchor: noBlock}
		m.order = append(m.order, s.id)
	}
	m.subs[authpool.FallbackID] = &mSub{id: authpool.FallbackID, state: authpool.Active, hours: map[int64]store.Nanodollars{},
		anchor: noBlock}
	return m
}

func (m *modelPool) inService(id string) bool {
	s := m.subs[id]
	return s.state == authpool.Active || s.state == authpool.Limited && !m.now.Before(s.until)
}

func (m *modelPool) clients(id string) int {
	n := 0
	for _, s := range m.sess {
		if s.sub == id {
			n++
		}
	}
	return n
}

// holding reports whether a session holds its slot now.
func (m *modelPool) holding(s *mSess) bool { return s.hold.After(m.now) }

// active returns how many clients hold a slot of the subscription now.
func (m *modelPool) active(id string) int {
	n := 0
	for _, s := range m.sess {
		if s.sub == id && m.holding(s) {
			n++
		}
	}
	return n
}

func (m *modelPool) full(id string) bool {
	s := m.subs[id]
	return s.max > 0 && m.active(id) >= s.max
}

// frees returns when a full subscription has room again: when all but
// max-1 of the holds after now have ended.
func (m *modelPool) frees(id string) time.Time {
	var holds []time.Time
	for _, s := range m.sess {
		if s.sub == id && m.holding(s) {
			holds = append(holds, s.hold)
		}
	}
	slices.SortFunc(holds, time.Time.Compare)
	return holds[len(holds)-m.subs[id].max]
}

// extend moves a session's hold to until, never back, as the store does: a
// hold that has ended is renewed only while its subscription has room. It
// reports whether the session holds its slot after.
func (m *modelPool) extend(s *mSess, until time.Time) bool {
	if !m.holding(s) && m.full(s.sub) {
		return false
	}
	if until.After(s.hold) {
		s.hold = until
	}
	return true
}

// eligible returns the subscriptions other than from that take a new client.
func (m *modelPool) eligible(from string) []string {
	var out []string
	for _, id := range m.order {
		if id != from && m.inService(id) && !m.full(id) {
			out = append(out, id)
		}
	}
	return out
}

// health is a subscription's health without budgets: 100, less 5 a
// client holding a slot, plus 10 when none of its clients was active in the
// last 5 minutes, clamped to 0..100.
func (m *modelPool) health(id string, last time.Time) float64 {
	h := 100 - 5*float64(m.active(id))
	if m.now.Sub(last) >= defaultIdleAfter {
		h += 10
	}
	return min(max(h, 0), 100)
}

// best returns the healthiest eligible subscription other than from: ties
// go to fewer clients holding a slot, then the lower weekly cost, then the
// smaller ID.
func (m *modelPool) best(from string) string {
	best := ""
	health := func(id string) float64 { return m.health(id, m.subs[id].last) }
	for _, id := range m.eligible(from) {
		if best == "" {
			best = id
			continue
		}
		hi, hb := health(id), health(best)
		ci, cb := m.active(id), m.active(best)
		if hi > hb || hi == hb && (ci < cb || ci == cb && m.subs[id].cost < m.subs[best].cost) {
			best = id
		}
	}
	return best
}

func (m *modelPool) describe() string {
	var b strings.Builder
	for _, id := range m.order {
		s := m.subs[id]
		fmt.Fprintf(&b, "[%s %v clients=%d active=%d health=%v last=-%v block=%d cost=%d] ", id, s.state, m.clients(id), m.active(id),
			m.health(id, s.last), m.now.Sub(s.last), m.block(id), s.cost)
	}
	return b.String()
}

const noBlock = -1 << 40

// active marks a subscription active at now.
func (s *mSub) active(now time.Time) { s.last = now }

// add counts a usage of n at t on subscription id.
func (m *modelPool) add(id string, t time.Time, n store.Nanodollars) {
	s := m.subs[id]
	h := store.HourOf(t)
	s.cost += n
	s.hours[h] += n
	if h >= s.anchor+defaultBlockHours {
		s.anchor = h
	}
}

// block returns the cost of the subscription's current block: 0 when none
// is running.
func (m *modelPool) block(id string) store.Nanodollars {
	s := m.subs[id]
	now := store.HourOf(m.now)
	if now < s.anchor || now >= s.anchor+defaultBlockHours {
		return 0
	}
	var sum store.Nanodollars
	for h := s.anchor; h <= now; h++ {
		sum += s.hours[h]
	}
	return sum
}

// predictMoves moves idle clients as Rebalance does and returns the moves
// ("client from->to"): while fewer than 3, from the subscription with
// clients whose block cost is highest (the first in ID order on a tie; one
// without an idle client is skipped after) to the eligible one whose block
// cost is lowest (ties: fewer clients, then the first in ID order), when
// the gap is at least $5; the idle client (one that holds no slot) last
// active first (ties: by client ID) moves first, and holds no slot where it
// lands.
func (m *modelPool) predictMoves() []string {
	var moves []string
	drained := map[string]bool{}
	gap, _ := store.FromUSD(defaultMinGapUSD)
	idleSince := m.now.Add(-defaultIdleAfter)
	for range 4 * (defaultMaxMoves + 1) {
		if len(moves) >= defaultMaxMoves {
			break
		}
		from, to := "", ""
		for _, id := range m.order {
			if m.clients(id) > 0 && !drained[id] && (from == "" || m.block(id) > m.block(from)) {
				from = id
			}
			if m.inService(id) && !m.full(id) && (to == "" || m.block(id) < m.block(to) ||
				m.block(id) == m.block(to) && m.clients(id) < m.clients(to)) {
				to = id
			}
		}
		if from == "" || to == "" || from == to || m.block(from)-m.block(to) < gap {
			break
		}
		var idle []string
		for c, s := range m.sess {
			if s.sub == from && !s.last.After(idleSince) && !m.holding(s) {
				idle = append(idle, c)
			}
		}
		if len(idle) == 0 {
			drained[from] = true
			continue
		}
		slices.SortFunc(idle, func(a, b string) int {
			if c := m.sess[a].last.Compare(m.sess[b].last); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		m.sess[idle[0]].sub = to // an idle move is no activity: last stays
		m.sess[idle[0]].hold = time.Time{}
		moves = append(moves, fmt.Sprintf("%s %s->%s", idle[0], from, to))
	}
	return moves
}

// mostTelling is why no subscription takes a new client: the reason most
// of them refuse it for, a tie going to limited, then disabled, then full
// (the order of an ExhaustedError's reasons).
func (m *modelPool) mostTelling() authpool.Reason {
	counts := map[authpool.Reason]int{}
	for _, id := range m.order {
		switch {
		case !m.inService(id):
			counts[m.hardReason(id)]++
		case m.full(id):
			counts[authpool.ReasonFull]++
		}
	}
	best := authpool.ReasonNoneEligible
	for _, why := range []authpool.Reason{authpool.ReasonLimited, authpool.ReasonDisabled, authpool.ReasonFull} {
		if counts[why] > counts[best] {
			best = why
		}
	}
	return best
}

// hardReason is why an out-of-service subscription cannot keep a client.
func (m *modelPool) hardReason(id string) authpool.Reason {
	if m.subs[id].state == authpool.Disabled {
		return authpool.ReasonDisabled
	}
	return authpool.ReasonLimited
}

// claim is Store.Claim: whether an event with key is delivered at now.
func (m *modelPool) claim(key string, until time.Time) bool {
	if u, ok := m.claims[key]; ok && u.After(m.now) {
		return false
	}
	m.claims[key] = until
	return true
}

func recoveredKey(id string, until time.Time) string {
	return fmt.Sprintf("recovered/%s/%d", id, until.Unix())
}

// expectRecovered returns the recovered event the pool must emit now for s
// (whose limit the pool is certain to look at now), and whether it must.
// With an uncertain pending recovery it may or may not: the returned event
// is then optional.
func (m *modelPool) expectRecovered(s *mSub) (ev string, must, may bool) {
	if s.pending.IsZero() {
		return "", false, false
	}
	ev = evRecovered(s.id, s.pending)
	key := recoveredKey(s.id, s.pending)
	live := false
	if u, ok := m.claims[key]; ok && u.After(m.now) {
		live = true
	}
	switch {
	case live:
		return "", false, false
	case s.sure:
		m.claims[key] = m.now.Add(24 * time.Hour)
		return ev, true, true
	default:
		return ev, false, true
	}
}

// Event lines: what the test compares of an event.
func evLine(e authpool.Event) string {
	s := string(e.Type) + " sub=" + e.SubscriptionID
	if e.ClientID != "" {
		s += " client=" + e.ClientID
	}
	switch {
	case e.Move != nil:
		s += fmt.Sprintf(" %s->%s (%s)", e.Move.From, e.Move.To, e.Move.Reason)
	case e.Limit != nil && !e.Limit.Until.IsZero():
		s += " until=" + e.Limit.Until.UTC().Format(time.RFC3339)
	case e.Exhausted != nil:
		s += " retry=" + e.Exhausted.RetryAt.UTC().Format(time.RFC3339)
	}
	return s
}

func evMove(typ authpool.EventType, client, from, to string, why authpool.Reason) string {
	return evLine(authpool.Event{Type: typ, SubscriptionID: to, ClientID: client,
		Move: &authpool.Move{ClientID: client, From: from, To: to, Reason: why}})
}

func evLimited(id string, until time.Time) string {
	return evLine(authpool.Event{Type: authpool.EventLimited, SubscriptionID: id, Limit: &authpool.Status{State: authpool.Limited, Until: until}})
}

func evRecovered(id string, until time.Time) string {
	return evLine(authpool.Event{Type: authpool.EventRecovered, SubscriptionID: id, Limit: &authpool.Status{State: authpool.Limited, Until: until}})
}

// eventLog is a Notifier that keeps the lines of the events it gets.
type eventLog struct {
	mu     sync.Mutex
	events []string
	got    chan struct{} // a token after each event
}

func (l *eventLog) Notify(_ context.Context, e authpool.Event) error {
	l.mu.Lock()
	l.events = append(l.events, evLine(e))
	l.mu.Unlock()
	select {
	case l.got <- struct{}{}:
	default:
	}
	return nil
}

func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// modelRun is one seed's run: the pool, its store, the model, and the
// steps so far, printed when a check fails.
type modelRun struct {
	t     *testing.T
	ctx   context.Context
	seed  uint64
	rng   *rand.Rand
	clk   *clock
	st    store.Store
	p     *authpool.Pool
	log   *eventLog
	m     *modelPool
	steps []string
	start time.Time
	seen  map[string]int // what happened, for the log: outcomes and events
	may   []string       // events the step may emit besides those step collects
}

func (r *modelRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d, step %d (%s): %s\nreplay: go test -run '^TestModel$' -modelseed %d -modelsteps %d .\nsteps:\n  %s",
		r.seed, len(r.steps), r.steps[len(r.steps)-1], fmt.Sprintf(format, args...), r.seed, len(r.steps),
		strings.Join(r.steps, "\n  "))
}

func runModel(t *testing.T, seed uint64, steps int) {
	t.Logf("seed %d, %d steps (replay: go test -run '^TestModel$' -modelseed %d -modelsteps %d .)", seed, steps, seed, steps)
	clk := newClock(t0)
	st := authpool.NewTestStore(t)
	log := &eventLog{got: make(chan struct{}, 1)}
	r := &modelRun{
		t: t, ctx: context.Background(), seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		clk: clk, st: st, log: log, m: newModel(t0), start: t0,
	}
	r.p = newPool(t, modelConfig(), clk, authpool.WithStore(st), authpool.WithNotifier(log))
	r.seen = map[string]int{}
	for range steps {
		r.step()
	}
	keys := slices.Sorted(maps.Keys(r.seen))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, r.seen[k])
	}
	t.Logf("seen:%s", b.String())
}

func (r *modelRun) client() string { return fmt.Sprintf("c%d", r.rng.IntN(modelClients)) }

// target is a subscription or, now and then, the fallback.
func (r *modelRun) target() string {
	if r.rng.IntN(8) == 0 {
		return authpool.FallbackID
	}
	return r.m.order[r.rng.IntN(len(r.m.order))]
}

// step does one random operation, checks its result against the model's
// prediction, waits for the events it caused and checks them, then checks
// the invariants.
func (r *modelRun) step() {
	r.t.Helper()
	var want, may []string // events the model expects, and may accept
	m := r.m
	// Any subscription whose limit has passed may be noticed by any call:
	// its recovered event is acceptable at any step.
	for _, id := range slices.Concat(m.order, []string{authpool.FallbackID}) {
		if s := m.subs[id]; !s.pending.IsZero() && m.inService(id) {
			may = append(may, evRecovered(id, s.pending))
		}
	}
	switch n := r.rng.IntN(100); {
	case n < 30:
		want = r.allocate(r.client())
	case n < 55:
		r.record(r.client())
	case n < 57:
		r.charge(r.target())
	case n < 63:
		r.release(r.client())
	case n < 70:
		want, may = r.rebalance(may)
	case n < 77:
		want = r.markLimited(r.target())
	case n < 79:
		want = r.disable(r.target())
	case n < 84:
		want, may = r.enable(r.target(), may)
	default:
		r.advance()
	}
	may = append(may, r.may...)
	r.may = nil
	snap := r.settle()
	r.checkEvents(want, may)
	r.checkInvariants(snap)
}

func (r *modelRun) note(format string, args ...any) {
	r.steps = append(r.steps, fmt.Sprintf("%s ", r.m.now.Sub(r.start))+fmt.Sprintf(format, args...))
}

func (r *modelRun) allocate(c string) []string {
	m := r.m
	r.note("Allocate(%s)", c)
	prev := m.sess[c]
	a, err := r.p.Allocate(r.ctx, c)
	if err != nil {
		r.seen["allocate error"]++
	} else {
		r.seen["allocate "+a.Outcome.String()]++
		if a.Reason == authpool.ReasonPlaceTaken {
			r.seen["allocate place taken"]++
		}
	}
	hold := m.now.Add(defaultIdleAfter)
	taken := false // the client's place was taken while it was idle
	if prev != nil {
		// Touch extends the client's hold and marks the session and its
		// subscription active, whatever follows; unless the client's hold
		// ended and the subscription filled up meanwhile: then nothing.
		if taken = !m.extend(prev, hold); !taken {
			prev.last = m.now
			m.subs[prev.sub].active(m.now)
		}
	}
	from := ""
	if prev != nil {
		from = prev.sub
	}
	// why a client that has a session leaves it
	left := func() authpool.Reason {
		if !m.inService(from) {
			return m.hardReason(from)
		}
		return authpool.ReasonPlaceTaken
	}
	var want []string
	switch {
	case prev != nil && from != authpool.FallbackID && m.inService(from) && !taken:
		if err != nil || a.Outcome != authpool.OutcomeSticky || a.SubscriptionID != from || a.From != "" || a.Reason != "" {
			r.fail("Allocate(%s) = %+v, %v; want sticky on %s", c, a, err, from)
		}
		return nil
	case len(m.eligible(from)) > 0:
		var why authpool.Reason // none for a new client
		outcome := authpool.OutcomeNew
		switch {
		case from == authpool.FallbackID:
			why, outcome = authpool.ReasonFromFallback, authpool.OutcomeMoved
		case from != "":
			why, outcome = left(), authpool.OutcomeMoved
		}
		// One pool: its view is the store's, so the healthiest is known.
		if best := m.best(from); err != nil || a.SubscriptionID != best || a.Outcome != outcome ||
			a.From != from || a.Reason != why {
			r.fail("Allocate(%s) from %q = %+v, %v; want %v to %v (eligible: %v), reason %q; model: %s", c, from, a, err, outcome,
				best, m.eligible(from), why, m.describe())
		}
		if why == authpool.ReasonLimited {
			want = append(want, evMove(authpool.EventFailover, c, from, a.SubscriptionID, why))
		}
	case m.inService(authpool.FallbackID):
		wantFrom, why := from, m.mostTelling()
		switch {
		case from == authpool.FallbackID:
			wantFrom, why = "", authpool.ReasonNoneEligible
		case from != "":
			why = left()
		}
		if err != nil || a.SubscriptionID != authpool.FallbackID || a.Outcome != authpool.OutcomeFallback ||
			a.From != wantFrom || a.Reason != why {
			r.fail("Allocate(%s) from %q = %+v, %v; want the fallback, from %q, reason %q", c, from, a, err, wantFrom, why)
		}
		if why != authpool.ReasonNoneEligible {
			want = append(want, evMove(authpool.EventFailover, c, from, authpool.FallbackID, why))
		}
	default:
		var e *authpool.ExhaustedError
		if !errors.As(err, &e) || !errors.Is(err, authpool.ErrExhausted) {
			r.fail("Allocate(%s) from %q = %+v, %v; want ErrExhausted", c, from, a, err)
		}
		retry, byCapacity := m.retryAt()
		n := 0
		for _, k := range e.Reasons {
			n += k
		}
		if !e.RetryAt.Equal(retry) || e.ClientID != c || n != len(m.order) || e.Fallback != m.hardReason(authpool.FallbackID) {
			r.fail("Allocate(%s): %+v; want RetryAt %v, %d subscriptions' reasons, fallback %q", c, e, retry, len(m.order),
				m.hardReason(authpool.FallbackID))
		}
		key, until := fmt.Sprintf("exhausted/%d", retry.Unix()), retry
		if h := store.HourOf(m.now); retry.IsZero() {
			key, until = fmt.Sprintf("exhausted/none/%d", h), store.HourStart(h+1)
		} else if byCapacity {
			key, until = fmt.Sprintf("exhausted/full/%d", h), store.HourStart(h+1)
		}
		if key != m.lastExhausted {
			ev := evLine(authpool.Event{Type: authpool.EventExhausted, ClientID: c, Exhausted: &authpool.ExhaustedError{RetryAt: retry}})
			if m.claim(key, until) {
				want = append(want, ev)
			}
		}
		m.lastExhausted = key
		return want
	}
	// Placed: the client's session is on a.SubscriptionID, active now, and
	// that is in service.
	if !m.inService(a.SubscriptionID) {
		r.fail("Allocate(%s) = %+v: on a subscription out of service", c, a)
	}
	if prev == nil {
		prev = &mSess{}
		m.sess[c] = prev
	}
	if prev.sub != a.SubscriptionID {
		prev.hold = hold // a move: the hold on the new subscription
	}
	prev.sub, prev.last = a.SubscriptionID, m.now
	m.subs[a.SubscriptionID].active(m.now)
	return want
}

// retryAt is when the first subscription (or the fallback) is expected
// back: the earliest of when each that is not disabled takes a client again
// (the later of its limit's end and, when it is full, the end of enough
// holds), the first on a tie; and whether that is when a full one's holds
// end.
func (m *modelPool) retryAt() (time.Time, bool) {
	var first time.Time
	byCapacity := false
	for _, id := range slices.Concat(m.order, []string{authpool.FallbackID}) {
		s := m.subs[id]
		if s.state == authpool.Disabled {
			continue
		}
		var at time.Time
		capacity := false
		if !m.inService(id) {
			at = s.until
		}
		if m.full(id) {
			if f := m.frees(id); f.After(at) {
				at, capacity = f, true
			}
		}
		if !at.IsZero() && (first.IsZero() || at.Before(first)) {
			first, byCapacity = at, capacity
		}
	}
	return first, byCapacity
}

func (r *modelRun) record(c string) {
	m := r.m
	// Costs from a nanodollar to a few dollars, some not exact in binary.
	usd := [...]float64{1e-9, 0.1, 0.3, 1.25, 7, 0.003, 2.5, 12}[r.rng.IntN(8)] * float64(1+r.rng.IntN(4))
	u := authpool.Usage{Time: m.now.Add(-time.Duration(r.rng.IntN(20)) * time.Minute), CostUSD: usd}
	s := m.sess[c]
	if s != nil {
		// Some usages have an ID, now and then one recorded before (within
		// the day Record remembers IDs: counted once); some bill a named
		// subscription rather than the client's.
		switch k := r.rng.IntN(10); {
		case k < 3:
			u.ID = fmt.Sprintf("msg_%d", len(m.usageIDs))
		case k < 5 && len(m.usageIDs) > 0:
			u.ID = fmt.Sprintf("msg_%d", r.rng.IntN(len(m.usageIDs)))
		}
		if r.rng.IntN(6) == 0 {
			u.SubscriptionID = r.target()
		}
		if r.rng.IntN(5) == 0 {
			u.CacheTTL = time.Hour // the request wrote 1-hour cache
		}
	}
	r.note("Record(%s, $%v at -%v, id %q, subscription %q, cache TTL %v)", c, usd, m.now.Sub(u.Time), u.ID, u.SubscriptionID, u.CacheTTL)
	err := r.p.Record(r.ctx, c, u)
	if s == nil {
		if !errors.Is(err, authpool.ErrUnknownClient) {
			r.fail("Record(%s) without a session: %v, want ErrUnknownClient", c, err)
		}
		return
	}
	if err != nil {
		r.fail("Record(%s): %v", c, err)
	}
	if u.ID != "" {
		if at, ok := m.usageIDs[u.ID]; ok && m.now.Sub(at) < defaultRememberUsageIDs {
			m.duplicates++
			return // counted once: nothing changes
		}
		m.usageIDs[u.ID] = m.now
	}
	n, err := store.FromUSD(usd)
	if err != nil {
		r.t.Fatal(err)
	}
	billed := s.sub
	if u.SubscriptionID != "" {
		billed = u.SubscriptionID
	}
	s.cost += n
	s.last = m.now
	m.extend(s, m.now.Add(max(defaultIdleAfter, u.CacheTTL))) // a full subscription: counted all the same
	m.add(billed, u.Time, n)
	m.subs[billed].active(m.now)
}

// charge charges a subscription for spending no client made.
func (r *modelRun) charge(id string) {
	usd := float64(1+r.rng.IntN(300)) / 100
	r.note("Charge(%s, $%v)", id, usd)
	if err := r.p.Charge(r.ctx, id, authpool.Usage{Time: r.m.now, CostUSD: usd}); err != nil {
		r.fail("Charge(%s): %v", id, err)
	}
	n, _ := store.FromUSD(usd)
	r.m.add(id, r.m.now, n)
	r.m.charged += n
}

func (r *modelRun) release(c string) {
	r.note("Release(%s)", c)
	if err := r.p.Release(r.ctx, c); err != nil {
		r.fail("Release(%s): %v", c, err)
	}
	if s := r.m.sess[c]; s != nil {
		r.m.released += s.cost
		delete(r.m.sess, c)
	}
}

func (r *modelRun) rebalance(may []string) (want, mayOut []string) {
	m := r.m
	r.note("Rebalance")
	rep, err := r.p.Rebalance(r.ctx)
	if err != nil {
		r.fail("Rebalance: %v", err)
	}
	// Rebalance reads the view again, looking at every subscription: a limit
	// that has passed is reported now.
	for _, id := range slices.Concat(m.order, []string{authpool.FallbackID}) {
		s := m.subs[id]
		if s.pending.IsZero() || !m.inService(id) {
			continue
		}
		ev, must, _ := m.expectRecovered(s)
		if must {
			want = append(want, ev)
		}
		s.pending = time.Time{}
	}
	// Stale sessions (idle for 30 minutes, holding no slot) are released:
	// exactly those.
	staleSince := m.now.Add(-defaultStaleAfter)
	var stale, got []string
	for c, s := range m.sess {
		if !s.last.After(staleSince) && !m.holding(s) {
			stale = append(stale, c)
		}
	}
	slices.Sort(stale)
	for _, rel := range rep.Released {
		got = append(got, rel.ClientID)
		if s := m.sess[rel.ClientID]; s == nil || s.sub != rel.SubscriptionID {
			r.fail("Rebalance released %+v; the model has %+v", rel, s)
		}
	}
	if !slices.Equal(stale, got) {
		r.fail("Rebalance released %v, want the stale sessions %v", got, stale)
	}
	for _, c := range stale {
		m.released += m.sess[c].cost
		delete(m.sess, c)
	}
	// Moves: predicted exactly (see predictMoves).
	var gotMoves []string
	for _, mv := range rep.Moves {
		gotMoves = append(gotMoves, fmt.Sprintf("%s %s->%s", mv.ClientID, mv.From, mv.To))
	}
	wantMoves := m.predictMoves()
	if !slices.Equal(gotMoves, wantMoves) {
		r.fail("Rebalance moved %q, want %q; model: %s", gotMoves, wantMoves, m.describe())
	}
	for _, mv := range rep.Moves {
		want = append(want, evMove(authpool.EventRotation, mv.ClientID, mv.From, mv.To, authpool.ReasonBlockGap))
	}
	if len(rep.Moves) > 0 || len(rep.Released) > 0 {
		r.note("  moved %v, released %v", rep.Moves, got)
		r.seen["rebalance move"] += len(rep.Moves)
		r.seen["rebalance release"] += len(rep.Released)
	}
	return want, may
}

func (r *modelRun) markLimited(id string) []string {
	m := r.m
	// Untils on a coarse grid, so that marking again with the same until
	// (no change: no second event) happens.
	until := m.now.Truncate(30 * time.Minute).Add(time.Duration(1+r.rng.IntN(4)) * 30 * time.Minute)
	r.note("MarkLimited(%s, until +%v)", id, until.Sub(r.start))
	if err := r.p.MarkLimited(r.ctx, id, until, "model"); err != nil {
		r.fail("MarkLimited(%s): %v", id, err)
	}
	s := m.subs[id]
	s.state, s.until = authpool.Limited, until
	s.pending, s.sure = until, true
	if m.claim(fmt.Sprintf("limited/%s/%d", id, until.Unix()), until) {
		return []string{evLimited(id, until)}
	}
	return nil
}

func (r *modelRun) disable(id string) []string {
	r.note("Disable(%s)", id)
	if err := r.p.Disable(r.ctx, id, "model"); err != nil {
		r.fail("Disable(%s): %v", id, err)
	}
	s := r.m.subs[id]
	was := s.state
	s.state, s.until = authpool.Disabled, time.Time{}
	if was == authpool.Disabled {
		return nil // disabled already: not reported again
	}
	return []string{evLine(authpool.Event{Type: authpool.EventDisabled, SubscriptionID: id})}
}

func (r *modelRun) enable(id string, may []string) (want, mayOut []string) {
	r.note("Enable(%s)", id)
	if err := r.p.Enable(r.ctx, id); err != nil {
		r.fail("Enable(%s): %v", id, err)
	}
	s := r.m.subs[id]
	s.state, s.until = authpool.Active, time.Time{}
	if ev, must, ok := r.m.expectRecovered(s); must {
		want = append(want, ev)
	} else if ok {
		may = append(may, ev)
	}
	s.pending = time.Time{}
	return want, may
}

func (r *modelRun) advance() {
	var d time.Duration
	switch n := r.rng.IntN(10); {
	case n < 6:
		d = time.Duration(r.rng.IntN(180)) * time.Second
	case n < 8:
		d = time.Duration(5+r.rng.IntN(40)) * time.Minute
	default:
		d = time.Duration(1+r.rng.IntN(3)) * time.Hour
	}
	if r.rng.IntN(3) == 0 {
		// To an edge, give or take a nanosecond: when a session turns idle or
		// stale, or a limit ends.
		var edges []time.Time
		for _, s := range r.m.sess {
			edges = append(edges, s.last.Add(defaultIdleAfter), s.last.Add(defaultStaleAfter), s.hold)
		}
		for _, s := range r.m.subs {
			if s.state == authpool.Limited {
				edges = append(edges, s.until)
			}
		}
		edges = slices.DeleteFunc(edges, func(t time.Time) bool { return !t.After(r.m.now.Add(time.Nanosecond)) })
		if len(edges) > 0 {
			slices.SortFunc(edges, time.Time.Compare)
			d = edges[r.rng.IntN(len(edges))].Sub(r.m.now) + time.Duration(r.rng.IntN(3)-1)
		}
	}
	// Stay well inside the week, so that every usage stays in the windows.
	if r.m.now.Add(d).Sub(r.start) > 6*24*time.Hour {
		d = 0
	}
	r.m.now = r.clk.Advance(d)
	r.note("advance %v", d)
}

// settle waits until every event emitted so far is delivered (or
// deduplicated) and returns the snapshot that shows it.
func (r *modelRun) settle() authpool.Snapshot {
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := r.p.Snapshot(r.ctx)
		if err != nil {
			r.fail("Snapshot: %v", err)
		}
		n := r.p.Stats().Notifications
		if n.Failed != 0 || n.Dropped != 0 {
			r.fail("notifications failed or dropped: %+v", n)
		}
		if n.Emitted == n.Delivered+n.Deduplicated {
			return snap
		}
		if time.Now().After(deadline) {
			r.fail("events not delivered after 10s: %+v", n)
		}
		select {
		case <-r.log.got:
		case <-time.After(time.Millisecond):
		}
	}
}

// checkEvents compares the events delivered during the step with those the
// model wants (each exactly once) and may accept (the recoveries the pool
// may notice early).
func (r *modelRun) checkEvents(want, may []string) {
	got := r.log.take()
	for _, e := range got {
		r.seen["event "+e[:strings.IndexByte(e, ' ')]]++
	}
	rest := slices.Clone(got)
	for _, w := range want {
		i := slices.Index(rest, w)
		if i < 0 {
			r.fail("events: want %q; got %q (want %q)", w, got, want)
		}
		rest = slices.Delete(rest, i, i+1)
	}
	for _, e := range rest {
		i := slices.Index(may, e)
		if i < 0 {
			r.fail("unexpected event %q; got %q, want %q, may %q", e, got, want, may)
		}
		may = slices.Delete(may, i, i+1)
		// The pool reported a recovery the model allowed: it has no pending
		// one for that subscription now.
		for _, s := range r.m.subs {
			if !s.pending.IsZero() && e == evRecovered(s.id, s.pending) {
				r.m.claims[recoveredKey(s.id, s.pending)] = r.m.now.Add(24 * time.Hour)
				s.pending = time.Time{}
			}
		}
	}
	// A recovery the pool may have noticed while its claim was taken gives
	// no event: the model is no longer sure it is pending.
	for _, s := range r.m.subs {
		if s.pending.IsZero() || !r.m.inService(s.id) {
			continue
		}
		if u, ok := r.m.claims[recoveredKey(s.id, s.pending)]; ok && u.After(r.m.now) {
			s.sure = false
		}
	}
}

// checkInvariants checks the snapshot and the store against the model.
func (r *modelRun) checkInvariants(snap authpool.Snapshot) {
	m := r.m
	stats := append(slices.Clone(snap.Subscriptions), *snap.Fallback)
	if len(stats) != len(m.subs) {
		r.fail("snapshot has %d subscriptions with the fallback, want %d", len(stats), len(m.subs))
	}
	for _, ss := range stats {
		s := m.subs[ss.ID]
		if s == nil {
			r.fail("snapshot has an unknown subscription %q", ss.ID)
		}
		effective := s.state
		if m.inService(s.id) {
			effective = authpool.Active
		}
		switch {
		case ss.Health < 0 || ss.Health > 100:
			r.fail("%s: health %v outside 0..100", ss.ID, ss.Health)
		case !ss.LastActive.Equal(s.last):
			r.fail("%s: snapshot's last activity %v, the model's %v", ss.ID, ss.LastActive, s.last)
		case ss.Health != m.health(s.id, s.last):
			r.fail("%s: health %v, the model's %v (%d clients, last active %v)", ss.ID, ss.Health, m.health(s.id, s.last),
				m.clients(s.id), s.last)
		case ss.Clients != m.clients(s.id) || ss.ActiveClients != m.active(s.id):
			r.fail("%s: snapshot says %d clients, %d holding a slot; the model %d, %d", ss.ID, ss.Clients, ss.ActiveClients,
				m.clients(s.id), m.active(s.id))
		case s.max > 0 && (ss.ActiveClients > s.max || ss.MaxClients != s.max):
			r.fail("%s: %d clients holding a slot, maximum %d (want %d)", ss.ID, ss.ActiveClients, ss.MaxClients, s.max)
		case ss.Week.CostUSD != s.cost.USD():
			r.fail("%s: snapshot's week cost $%v, the model's $%v", ss.ID, ss.Week.CostUSD, s.cost.USD())
		case ss.Block.CostUSD != m.block(s.id).USD():
			r.fail("%s: snapshot's block cost $%v (%+v), the model's $%v (anchor %v)", ss.ID, ss.Block.CostUSD, ss.Block,
				m.block(s.id).USD(), store.HourStart(s.anchor))
		case ss.Status.State != effective:
			r.fail("%s: snapshot's status %v, the model's %v (until %v)", ss.ID, ss.Status.State, effective, s.until)
		}
	}
	if len(snap.Sessions) != len(m.sess) {
		r.fail("snapshot has %d sessions, the model %d", len(snap.Sessions), len(m.sess))
	}
	for _, ss := range snap.Sessions {
		s := m.sess[ss.ClientID]
		if s == nil || ss.SubscriptionID != s.sub || ss.CostUSD != s.cost.USD() || !ss.HoldUntil.Equal(s.hold) {
			r.fail("snapshot's session %+v; the model's %+v", ss, s)
		}
	}
	// The store, exactly in nanodollars: each subscription's buckets hold
	// what was recorded on it, and all the buckets together hold what the
	// sessions, live and released, recorded.
	recs, err := r.st.Subscriptions(r.ctx)
	if err != nil {
		r.fail("store: %v", err)
	}
	var windows store.Nanodollars
	for _, rec := range recs {
		var sum store.Nanodollars
		for _, b := range rec.Usage {
			sum += b.Cost
		}
		windows += sum
		if s := m.subs[rec.ID]; s == nil || sum != s.cost || rec.Clients != m.clients(rec.ID) {
			r.fail("store's %s: %d clients, buckets sum to %d; the model: %+v, %d clients", rec.ID, rec.Clients, sum, s, m.clients(rec.ID))
		}
	}
	sessions, err := r.st.Sessions(r.ctx, store.SessionQuery{})
	if err != nil {
		r.fail("store: %v", err)
	}
	holding := map[string]int{}
	sessionCosts := m.released + m.charged
	for _, ss := range sessions {
		if ss.HoldUntil.After(m.now) {
			holding[ss.SubscriptionID]++
		}
		s := m.sess[ss.ClientID]
		if s == nil || s.sub != ss.SubscriptionID || s.cost != ss.Cost || !s.last.Equal(ss.LastActive) || !s.hold.Equal(ss.HoldUntil) {
			r.fail("store's session %+v; the model's %+v", ss, s)
		}
		sessionCosts += ss.Cost
	}
	if len(sessions) != len(m.sess) {
		r.fail("store has %d sessions, the model %d", len(sessions), len(m.sess))
	}
	for id, n := range holding {
		if s := m.subs[id]; s == nil || s.max > 0 && n > s.max {
			r.fail("store has %d sessions holding a slot of %s, over its maximum", n, id)
		}
	}
	if windows != sessionCosts {
		r.fail("the windows hold %d nanodollars, the sessions (with the released ones and the charges) %d", windows, sessionCosts)
	}
	if d := r.p.Stats().DuplicateRecords; d != m.duplicates {
		r.fail("%d duplicate records, the model %d", d, m.duplicates)
	}
}
