package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/memstore"
)

// Scenario is one simulation: a workload replayed through a pool of
// Subscriptions identical plans (and a fallback) run with a policy.
type Scenario struct {
	// Workload is replayed; it is not changed.
	Workload *Workload
	// Plan is every subscription's plan. The default value is MaxPlan().
	Plan Plan
	// Subscriptions is how many subscriptions the pool has: "max-01",
	// "max-02", ... Required, 1 to 1000.
	Subscriptions int
	// FallbackDailyUSD is the fallback API key's daily budget; 0 means no
	// fallback.
	FallbackDailyUSD float64
	// Policy is how requests are placed: a pool's policy, or a peer's.
	Policy Policy
	// LimitNoise makes each upstream window's limit the plan's times a
	// factor drawn in [1-LimitNoise, 1+LimitNoise], in [0, 0.5]. The
	// default value is 0: the limits are the plan's exactly.
	LimitNoise float64
	// RebalanceEvery is how often the host calls Rebalance (and the
	// simulation samples the pool). The default value is 1 minute.
	RebalanceEvery time.Duration
	// Seed draws the limits' noise (and a random peer's choices); it is
	// the Result's Seed.
	Seed uint64
}

// check reports every field out of range.
func (s Scenario) check() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("sim: scenario: %s = %v: %s", field, v, want))
	}
	if s.Workload == nil {
		bad("Workload", nil, "want a workload")
	} else if s.Workload.Length <= 0 {
		bad("Workload.Length", s.Workload.Length, "want a positive duration")
	}
	if s.Subscriptions < 1 || s.Subscriptions > 1000 {
		bad("Subscriptions", s.Subscriptions, "want 1 to 1000")
	}
	if !(s.FallbackDailyUSD >= 0) || math.IsInf(s.FallbackDailyUSD, 0) {
		bad("FallbackDailyUSD", s.FallbackDailyUSD, "want 0 (none) or a positive amount")
	}
	if !(s.LimitNoise >= 0 && s.LimitNoise <= 0.5) {
		bad("LimitNoise", s.LimitNoise, "want 0 to 0.5")
	}
	if s.RebalanceEvery < 0 {
		bad("RebalanceEvery", s.RebalanceEvery, "want a positive duration, or 0 for 1 minute")
	}
	if b := s.Policy.budgetShare(); !(b > 0 && b <= 2) {
		bad("Policy.BudgetShare", b, "want a share in (0, 2]")
	}
	if s.Policy.Peer != "" && !s.Policy.Peer.known() {
		bad("Policy.Peer", s.Policy.Peer, "want one of round-robin, lru-sticky, weighted-random, fill-first")
	}
	if s.Plan.BlockLimitUSD < 0 || s.Plan.WeekLimitUSD < 0 {
		bad("Plan", fmt.Sprintf("%+v", s.Plan), "want limits of at least 0")
	}
	return errors.Join(errs...)
}

// runner is one simulation in progress: the allocator, the virtual clock,
// the upstream's view of each subscription and of the fallback, and what
// was measured.
type runner struct {
	sc       Scenario
	w        *Workload
	alloc    Allocator
	now      time.Time
	ids      []string
	ups      map[string]*upstream
	fallback *fallbackKey // nil: none
	q        events
	seq      int32
	tally    tally
	caches   []promptCache // by session
	ttl      time.Duration
	prices   *claude.Prices
	rewrite  map[string]float64 // by model: the extra cost of a token rewritten
	windows  []time.Time        // each subscription's block's start at the last tick
}

// Run replays the scenario's workload through its policy and returns what
// it measured. It is deterministic: the same scenario gives the same
// Result.
//
// The host it plays does what a proxy does: for each request, ask the
// Allocator where it goes and send it there; if the subscription's upstream
// answers 429 (its real use reached its window's limit), tell the
// allocator (Limited, until the window ends) and ask again: a failover.
// Every RebalanceEvery it ticks the allocator. A pool's policy runs a real
// authpool.Pool (on memstore, with a virtual clock): Allocate, Record
// (with Usage.CacheTTL an hour when the workload's caches live an hour, as
// authpool's proxy records Claude Code's 1-hour cache writes, so the pool
// holds an idle client's place while its cache is warm), MarkLimited,
// Release, and Snapshot then Rebalance each tick. A peer's policy runs the
// peer's model (Peers).
//
// Unless the policy sets it, the pool's RefreshInterval is RebalanceEvery
// rather than a second: a single pool keeps its own picture current as it
// allocates and records, and rereads the store only for what other
// processes changed, so a longer interval changes nothing here but the time
// a week takes (most of it, at a second: the virtual clock passes a second
// between most requests).
func Run(ctx context.Context, sc Scenario) (Result, error) {
	if err := sc.check(); err != nil {
		return Result{}, err
	}
	if sc.Plan == (Plan{}) {
		sc.Plan = MaxPlan()
	}
	if sc.RebalanceEvery == 0 {
		sc.RebalanceEvery = time.Minute
	}
	r := &runner{sc: sc, w: sc.Workload, now: sc.Workload.Start, ups: make(map[string]*upstream),
		caches: make([]promptCache, len(sc.Workload.Sessions)), ttl: sc.Workload.cacheTTL(),
		prices: claude.DefaultPrices(), rewrite: make(map[string]float64)}
	for i := range sc.Subscriptions {
		id := fmt.Sprintf("max-%02d", i+1)
		r.ids = append(r.ids, id)
		r.ups[id] = &upstream{plan: sc.Plan, noise: sc.LimitNoise, seed: sc.Seed, index: uint64(i)}
	}
	if sc.FallbackDailyUSD > 0 {
		r.fallback = &fallbackKey{dailyUSD: sc.FallbackDailyUSD}
	}
	alloc, err := r.allocator(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("sim: policy %q: %w", sc.Policy.Name, err)
	}
	defer alloc.Close(context.WithoutCancel(ctx))
	r.alloc = alloc
	r.tally.init(r.ids)
	if err := r.loop(ctx); err != nil {
		return Result{}, fmt.Errorf("sim: policy %q, %d subscriptions, at %s: %w", sc.Policy.Name, sc.Subscriptions,
			r.now.Format(time.RFC3339), err)
	}
	end := r.w.Start.Add(r.w.Length)
	for _, id := range r.ids {
		r.tally.unusedPrepaidUSD += r.ups[id].unusedUSD(r.w.Start, end)
	}
	return r.tally.result(sc, r.ids), nil
}

// allocator returns the scenario's policy: a peer's, or a pool on memstore
// with the run's clock.
func (r *runner) allocator(ctx context.Context) (Allocator, error) {
	sc := r.sc
	clock := func() time.Time { return r.now }
	if sc.Policy.Peer != "" {
		rng := rand.New(rand.NewPCG(sc.Seed, 0x9ee7))
		return newPeer(sc.Policy.Peer, r.ids, r.fallback != nil, clock, rng), nil
	}
	cfg := sc.Policy.Config
	share := sc.Policy.budgetShare()
	cfg.Subscriptions = nil
	for _, id := range r.ids {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: id, Kind: sc.Plan.Kind, Credential: authpool.Credential("sim-" + id),
			BlockBudgetUSD: sc.Plan.BlockLimitUSD * share, WeeklyBudgetUSD: sc.Plan.WeekLimitUSD * share,
		})
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = authpool.Duration(sc.RebalanceEvery)
	}
	cfg.Fallback = nil
	if sc.FallbackDailyUSD > 0 {
		cfg.Fallback = &authpool.Fallback{Credential: "sim-fallback", DailyBudgetUSD: sc.FallbackDailyUSD}
	}
	pool, err := authpool.New(ctx, cfg, authpool.WithStore(memstore.New()), authpool.WithClock(clock))
	if err != nil {
		return nil, err
	}
	a := &poolAllocator{pool: pool}
	if r.ttl > 5*time.Minute {
		a.cacheTTL = min(r.ttl, time.Hour) // the longest the API caches: Usage.CacheTTL's most
	}
	return a, nil
}

func (r *runner) push(at time.Time, kind uint8, sess, req int) {
	r.seq++
	heap.Push(&r.q, event{at: at.UnixNano(), kind: kind, seq: r.seq, sess: int32(sess), req: int32(req)})
}

// loop runs the events until the workload's end.
func (r *runner) loop(ctx context.Context) error {
	end := r.w.Start.Add(r.w.Length)
	for i, s := range r.w.Sessions {
		if len(s.Requests) > 0 && s.Start.Before(end) {
			r.push(s.Requests[0].Time, evRequest, i, 0)
			r.push(s.End, evEnd, i, 0)
		}
	}
	r.push(r.w.Start.Add(r.sc.RebalanceEvery), evTick, 0, 0)
	for r.q.Len() > 0 {
		e := heap.Pop(&r.q).(event)
		at := time.Unix(0, e.at).UTC()
		if !at.Before(end) {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r.now = at
		switch e.kind {
		case evTick:
			if err := r.tick(ctx); err != nil {
				return err
			}
			r.push(at.Add(r.sc.RebalanceEvery), evTick, 0, 0)
		case evEnd:
			if err := r.alloc.Release(ctx, r.w.Sessions[e.sess].Client); err != nil {
				return err
			}
		case evRequest:
			s := &r.w.Sessions[e.sess]
			if err := r.request(ctx, int(e.sess), int(e.req)); err != nil {
				return err
			}
			if n := int(e.req) + 1; n < len(s.Requests) && s.Requests[n].Time.Before(s.End) {
				r.push(s.Requests[n].Time, evRequest, int(e.sess), n)
			}
		}
	}
	return nil
}

// request plays request ri of session si: place it, send it, and on a 429
// tell the allocator and place it again.
func (r *runner) request(ctx context.Context, si, ri int) error {
	s, c, t := &r.w.Sessions[si], &r.caches[si], &r.tally
	client, req := s.Client, s.Requests[ri]
	t.requests++
	failedOver := false
	for range len(r.ids) + 2 {
		p, err := r.alloc.Place(ctx, client)
		if err != nil {
			return err
		}
		if p.Account == "" {
			break
		}
		failedOver = failedOver || p.Failover
		warm := c.follows(r.now, r.ttl)
		extra, err := r.rewriteUSD(req, c.rewrite(p.Account, req.ContextTokens, r.now, r.ttl))
		if err != nil {
			return err
		}
		usd := req.CostUSD + extra
		if up := r.ups[p.Account]; up != nil {
			if refused, until, why := up.refuse(r.now); refused {
				t.upstream429s++
				failedOver = true
				if err := r.alloc.Limited(ctx, p.Account, until, why); err != nil {
					return err
				}
				continue
			}
			up.serve(r.now, usd)
			t.subRequests++
			t.subCost[p.Account] += usd
		} else {
			if r.fallback == nil || r.fallback.refuse(r.now) {
				break
			}
			r.fallback.serve(r.now, usd)
			t.fallbackRequests++
			t.fallbackUSD += usd
		}
		if err := r.alloc.Served(ctx, client, p.Account, usd); err != nil {
			return err
		}
		t.served++
		if failedOver {
			t.failovers++
		}
		if warm {
			t.warm++
			if p.Account != c.last {
				t.broken++
				t.brokenUSD += extra
			}
		}
		after := req.ContextTokens
		if ri+1 < len(s.Requests) {
			after = s.Requests[ri+1].ContextTokens
		}
		c.served(p.Account, after, r.now)
		return nil
	}
	if failedOver {
		t.failovers++
	}
	return nil
}

// rewriteUSD is what a request costs more when it writes tokens of its
// context to its account's cache rather than reading them, at its model's
// prices.
func (r *runner) rewriteUSD(req Request, tokens int64) (float64, error) {
	if tokens == 0 {
		return 0, nil
	}
	model := req.Model
	if model == "" {
		model = r.w.Model
	}
	if model == "" {
		model = DefaultModel
	}
	perToken, ok := r.rewrite[model]
	if !ok {
		price, _, err := r.prices.PriceOf(model)
		if err != nil {
			return 0, err
		}
		write := price.CacheWrite5m
		if r.ttl > 5*time.Minute {
			write = price.CacheWrite1h
		}
		perToken = (write - price.CacheRead) / 1e6
		r.rewrite[model] = perToken
	}
	return float64(tokens) * perToken, nil
}

// tick measures the gap between the subscriptions' block shares, then
// ticks the allocator and counts its sample.
func (r *runner) tick(ctx context.Context) error {
	if r.windows == nil {
		r.windows = make([]time.Time, len(r.ids))
	}
	lo, hi, same := math.Inf(1), math.Inf(-1), true
	for i, id := range r.ids {
		up := r.ups[id]
		share := up.blockShare(r.now)
		lo, hi = min(lo, share), max(hi, share)
		same = same && up.blockStart.Equal(r.windows[i])
		r.windows[i] = up.blockStart
	}
	r.tally.gap(hi-lo, same)
	s, err := r.alloc.Tick(ctx)
	if err != nil {
		return err
	}
	r.tally.sample(s, r.sc.RebalanceEvery)
	return nil
}
