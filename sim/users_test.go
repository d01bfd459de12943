package sim_test

import (
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/sim"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// peer returns the peer's policy.
func peer(p sim.Peer) sim.Policy { return sim.Policy{Name: string(p), Peer: p} }

// turns is a session of requests, each at a time, costing usd and carrying
// a context of so many tokens.
type turn struct {
	at  time.Time
	usd float64
	ctx int64
}

func turns(client string, ts ...turn) sim.Session {
	s := sim.Session{Client: client, Start: ts[0].at, End: at(59, 0)}
	for _, t := range ts {
		s.Requests = append(s.Requests, sim.Request{Time: t.at, CostUSD: t.usd, ContextTokens: t.ctx})
	}
	return s
}

// The prices the broken caches are charged at: claude-sonnet-4-5's, per
// token, from claude/prices.json ($3 input, $6 a 1-hour cache write, $3.75
// a 5-minute one, $0.30 a cache read, per million tokens).
const (
	rewrite1h = (6 - 0.3) / 1e6
	rewrite5m = (3.75 - 0.3) / 1e6
)

func TestPricesAreSonnet45s(t *testing.T) {
	t.Parallel()
	p, ok := claude.DefaultPrices().Lookup(sim.DefaultModel)
	if !ok {
		t.Fatalf("prices.json has no %s", sim.DefaultModel)
	}
	got := [4]float64{p.Input, p.CacheWrite1h, p.CacheWrite5m, p.CacheRead}
	if want := [4]float64{3, 6, 3.75, 0.3}; got != want {
		t.Errorf("%s: input, 1-hour write, 5-minute write, read = %v, want %v", sim.DefaultModel, got, want)
	}
}

// TestCacheContinuity: under fill-first, with blocks of $1, a's second
// request stays on max-01 (its cache kept); b's second finds max-01 spent
// (a 429) and moves to max-02 with its cache warm a minute: one of the two
// warm requests broke its cache, and writes its 30,000 tokens to max-02's
// cache: 30,000 × ($6 - $0.30) / 1M = $0.171.
func TestCacheContinuity(t *testing.T) {
	t.Parallel()
	w := &sim.Workload{Name: "cache", Start: t0, Length: time.Hour, Sessions: []sim.Session{
		turns("a", turn{at(0, 30), 0.4, 50000}, turn{at(1, 30), 0.4, 60000}),
		turns("b", turn{at(1, 0), 0.4, 20000}, turn{at(2, 0), 0.4, 30000}),
	}}
	got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: tiny, Subscriptions: 2, Policy: peer(sim.PeerFillFirst)})
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		Warm, Broken, Upstream429s int
		Continuity, BrokenUSD      float64
		Costs                      []float64
	}{2, 1, 1, 0.5, 0.171, []float64{1.2, 0.4 + 0.171}}
	gotten := struct {
		Warm, Broken, Upstream429s int
		Continuity, BrokenUSD      float64
		Costs                      []float64
	}{got.WarmRequests, got.BrokenCaches, got.Upstream429s, got.CacheContinuity, got.BrokenCacheUSD, got.SubscriptionCostUSD}
	if diff := cmp.Diff(want, gotten, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if math.Round(100*got.BrokenCacheUSD) != 17 {
		t.Errorf("broken caches cost $%.4f, want $0.17", got.BrokenCacheUSD)
	}
}

// TestCacheRewrite checks what a move costs under round-robin over two
// subscriptions (a session alternates), for the cache's two lifetimes.
func TestCacheRewrite(t *testing.T) {
	t.Parallel()
	big := sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 100, WeekLimitUSD: 1000}
	tests := []struct {
		name       string
		ttl        time.Duration
		turns      []turn
		warm, brok int
		tokens     float64 // rewritten
		perToken   float64
	}{{
		// 1: max-01, cold. 2: max-02, warm on max-01 a minute: writes its
		// 12,000 tokens. 3: max-01, where the session left 12,000 tokens
		// (its next request's context) a minute ago: writes the 3,000 it
		// added since.
		name: "back to a warm account", ttl: time.Hour,
		turns: []turn{{at(0, 0), 0.1, 10000}, {at(1, 0), 0.1, 12000}, {at(2, 0), 0.1, 15000}},
		warm:  2, brok: 2, tokens: 12000 + 3000, perToken: rewrite1h,
	}, {
		// The second request comes after the cache's hour: cold everywhere,
		// every policy writes it: nothing broken.
		name: "after the cache's life", ttl: time.Hour,
		turns: []turn{{at(0, 0), 0.1, 10000}, {at(61, 0), 0.1, 12000}},
		warm:  0, brok: 0, tokens: 0, perToken: rewrite1h,
	}, {
		// 5-minute caches: the second request moves within 4 minutes (a
		// 5-minute write); the third comes 6 minutes later: cold.
		name: "5-minute caches", ttl: 5 * time.Minute,
		turns: []turn{{at(0, 0), 0.1, 10000}, {at(4, 0), 0.1, 12000}, {at(10, 0), 0.1, 15000}},
		warm:  1, brok: 1, tokens: 12000, perToken: rewrite5m,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &sim.Workload{Name: "rewrite", Start: t0, Length: 2 * time.Hour, CacheTTL: tt.ttl,
				Sessions: []sim.Session{turns("a", tt.turns...)}}
			w.Sessions[0].End = t0.Add(2 * time.Hour)
			got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: big, Subscriptions: 2, Policy: peer(sim.PeerRoundRobin)})
			if err != nil {
				t.Fatal(err)
			}
			wantUSD := tt.tokens * tt.perToken
			if got.WarmRequests != tt.warm || got.BrokenCaches != tt.brok || math.Abs(got.BrokenCacheUSD-wantUSD) > 1e-12 ||
				math.Abs(got.CostUSD-(0.1*float64(len(tt.turns))+wantUSD)) > 1e-12 {
				t.Errorf("warm %d, broken %d, $%v (cost $%v); want %d, %d, $%v", got.WarmRequests, got.BrokenCaches,
					got.BrokenCacheUSD, got.CostUSD, tt.warm, tt.brok, wantUSD)
			}
		})
	}
}

// TestServedAndRefused: fill-first over one subscription whose block
// allows $1, a fallback capped at $0.50 a day, four $0.60 requests. Two
// served by max-01 ($1.20: the second crosses the limit); the third meets
// a 429 and goes to the fallback (a failover); the fourth finds max-01
// cooling down and the fallback's day spent: refused, a client-visible 429.
func TestServedAndRefused(t *testing.T) {
	t.Parallel()
	w := &sim.Workload{Name: "refused", Start: t0, Length: time.Hour, Sessions: []sim.Session{
		session("a", at(50, 0), 0.6, at(0, 30), at(1, 30), at(2, 30), at(3, 30)),
	}}
	got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: tiny, Subscriptions: 1, FallbackDailyUSD: 0.5,
		Policy: peer(sim.PeerFillFirst)})
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Result{
		Policy: "fill-first", Peer: true, Subscriptions: 1, Requests: 4, Served: 3, SubscriptionRequests: 2,
		FallbackRequests: 1, Client429s: 1, SuccessRate: 0.75, CostUSD: 1.8, SubscriptionCostUSD: []float64{1.2},
		FallbackUSD: 0.6, UnusedPrepaidUSD: 98.8, WarmRequests: 2, BrokenCaches: 1, CacheContinuity: 0.5,
		// max-01 cools down from 2:30 to its block's end: the ticks 3m..59m.
		Failovers: 1, Upstream429s: 1, FailoverRate: 0.25, LimitedHours: 57.0 / 60,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// TestUnusedPrepaid: weeks of $100. max-01 serves $30 at t0 and its week
// resets 7 days later with $70 unused; then it serves nothing: its last
// day counts a seventh of a week, $14.29. max-02 never serves: 8 days
// count a week, $100.
func TestUnusedPrepaid(t *testing.T) {
	t.Parallel()
	plan := sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 50, WeekLimitUSD: 100}
	w := &sim.Workload{Name: "prepaid", Start: t0, Length: 8 * 24 * time.Hour, Sessions: []sim.Session{
		session("a", at(1, 0), 30, t0),
	}}
	got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: plan, Subscriptions: 2, Policy: peer(sim.PeerFillFirst),
		RebalanceEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if want := 70 + 100.0/7 + 100; math.Abs(got.UnusedPrepaidUSD-want) > 1e-9 {
		t.Errorf("unused prepaid $%v, want $%v", got.UnusedPrepaidUSD, want)
	}
}

// A peer has no health score; the pool does.
func TestPeerHasNoHealth(t *testing.T) {
	t.Parallel()
	w := &sim.Workload{Name: "health", Start: t0, Length: time.Hour, Sessions: []sim.Session{session("a", at(30, 0), 0, at(0, 30))}}
	for _, p := range append(sim.Peers(), sim.Policy{Name: "default"}) {
		got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: tiny, Subscriptions: 1, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		if isPeer := p.Peer != ""; got.Peer != isPeer || (got.AvgHealth == 0) != isPeer {
			t.Errorf("%s: peer %v, health %v", p.Name, got.Peer, got.AvgHealth)
		}
	}
}
