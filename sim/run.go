package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool"
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
	// Policy is how the pool runs.
	Policy Policy
	// LimitNoise makes each upstream window's limit the plan's times a
	// factor drawn in [1-LimitNoise, 1+LimitNoise], in [0, 0.5]. The
	// default value is 0: the limits are the plan's exactly.
	LimitNoise float64
	// RebalanceEvery is how often the host calls Rebalance (and the
	// simulation samples the pool). The default value is 1 minute.
	RebalanceEvery time.Duration
	// Seed draws the limits' noise.
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
	if s.Plan.BlockLimitUSD < 0 || s.Plan.WeekLimitUSD < 0 {
		bad("Plan", fmt.Sprintf("%+v", s.Plan), "want limits of at least 0")
	}
	return errors.Join(errs...)
}

// event kinds, in the order events at the same instant are handled.
const (
	evTick    = iota // Rebalance, and sample the pool
	evEnd            // a session ends: Release
	evRequest        // a session's next request
)

type event struct {
	at   int64 // Unix nanoseconds
	kind uint8
	seq  int32 // insertion order, last tie-break: deterministic
	sess int32
	req  int32
}

type events []event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// runner is one simulation in progress: the pool, its virtual clock, the
// upstream's view of each subscription, and what was measured.
type runner struct {
	sc    Scenario
	w     *Workload
	pool  *authpool.Pool
	now   time.Time
	ups   map[string]*upstream
	ids   []string
	q     events
	seq   int32
	tally tally
}

// Run replays the scenario's workload through a real authpool.Pool (on
// memstore, with a virtual clock) and returns what it measured. It is
// deterministic: the same scenario gives the same Result.
//
// The host it plays does what a proxy in front of the pool does: for each
// request, Allocate the client's subscription and send the request there;
// if the upstream answers 429 (the subscription's real use reached its
// window's limit), MarkLimited the subscription until the window ends and
// Allocate again (a failover); Record what a served request cost. It calls
// Rebalance every RebalanceEvery, and Release when a session ends.
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
	r := &runner{sc: sc, w: sc.Workload, now: sc.Workload.Start, ups: make(map[string]*upstream)}
	cfg := sc.Policy.Config
	share := sc.Policy.budgetShare()
	cfg.Subscriptions = nil
	for i := range sc.Subscriptions {
		id := fmt.Sprintf("max-%02d", i+1)
		r.ids = append(r.ids, id)
		r.ups[id] = &upstream{plan: sc.Plan, noise: sc.LimitNoise, seed: sc.Seed, index: uint64(i)}
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
	pool, err := authpool.New(ctx, cfg, authpool.WithStore(memstore.New()), authpool.WithClock(func() time.Time { return r.now }))
	if err != nil {
		return Result{}, fmt.Errorf("sim: policy %q: %w", sc.Policy.Name, err)
	}
	defer pool.Close(context.WithoutCancel(ctx))
	r.pool = pool
	r.tally.init(r.ids)
	if err := r.loop(ctx); err != nil {
		return Result{}, fmt.Errorf("sim: policy %q, %d subscriptions, at %s: %w", sc.Policy.Name, sc.Subscriptions,
			r.now.Format(time.RFC3339), err)
	}
	return r.tally.result(sc, r.ids), nil
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
			if err := r.pool.Release(ctx, r.w.Sessions[e.sess].Client); err != nil {
				return err
			}
		case evRequest:
			s := &r.w.Sessions[e.sess]
			if err := r.request(ctx, s.Client, s.Requests[e.req].CostUSD); err != nil {
				return err
			}
			if n := int(e.req) + 1; n < len(s.Requests) && s.Requests[n].Time.Before(s.End) {
				r.push(s.Requests[n].Time, evRequest, int(e.sess), n)
			}
		}
	}
	return nil
}

// request plays one request of the client: Allocate, send, and on a 429
// MarkLimited and Allocate again.
func (r *runner) request(ctx context.Context, client string, usd float64) error {
	t := &r.tally
	t.requests++
	failedOver := false
	for range len(r.ids) + 2 {
		a, err := r.pool.Allocate(ctx, client)
		if errors.Is(err, authpool.ErrExhausted) {
			break
		}
		if err != nil {
			return err
		}
		if a.From != "" && a.From != authpool.FallbackID && a.Reason != authpool.ReasonFromFallback && a.Reason != authpool.ReasonPlaceTaken {
			failedOver = true // moved off a subscription that could no longer serve it
		}
		if up := r.ups[a.SubscriptionID]; up != nil {
			if refused, until, why := up.refuse(r.now); refused {
				t.refusals++
				failedOver = true
				if err := r.pool.MarkLimited(ctx, a.SubscriptionID, until, why); err != nil {
					return err
				}
				continue
			}
			up.serve(r.now, usd)
			t.subCost[a.SubscriptionID] += usd
		} else {
			t.fallbackRequests++
			t.fallbackUSD += usd
		}
		if err := r.pool.Record(ctx, client, authpool.Usage{SubscriptionID: a.SubscriptionID, Time: r.now, CostUSD: usd}); err != nil {
			return err
		}
		t.served++
		if failedOver {
			t.failovers++
		}
		return nil
	}
	if failedOver {
		t.failovers++
	}
	return nil
}

// tick samples the pool, then rebalances it and sees which gaps closed.
func (r *runner) tick(ctx context.Context) error {
	snap, err := r.pool.Snapshot(ctx)
	if err != nil {
		return err
	}
	sources := r.tally.sample(snap, r.sc.RebalanceEvery)
	report, err := r.pool.Rebalance(ctx)
	if err != nil {
		return err
	}
	r.tally.rebalanced(sources, report)
	return nil
}
