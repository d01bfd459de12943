package sim_test

import (
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/sim"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// t0 is the start of the hand-computed scenarios: an hour's start, so the
// upstream's and the pool's blocks start there too.
var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// at returns t0 plus minutes and seconds.
func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

// session is a session of requests costing usd at the given times, ending
// at end.
func session(client string, end time.Time, usd float64, times ...time.Time) sim.Session {
	s := sim.Session{Client: client, Start: times[0], End: end}
	for _, t := range times {
		s.Requests = append(s.Requests, sim.Request{Time: t, CostUSD: usd})
	}
	return s
}

// tiny is a plan whose block allows $1 and whose week allows $100.
var tiny = sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 1, WeekLimitUSD: 100}

// TestMetrics runs tiny scenarios through the pool whose every number is
// computed by hand in the comments. Ticks (Rebalance and samples) come each
// minute from t0+1m to t0+59m: 59 samples. The plan's week allows $100
// and the run lasts an hour: a subscription's week, opened by its first
// request, is still running at the end and counts what it has left as
// unused prepaid capacity. Every session's requests come within the cache's
// hour of the one before, and carry no context: a move breaks a cache but
// costs nothing.
func TestMetrics(t *testing.T) {
	t.Parallel()
	hour := func(sessions ...sim.Session) *sim.Workload {
		return &sim.Workload{Name: "hand", Start: t0, Length: time.Hour, Sessions: sessions}
	}
	three := session("a", at(50, 0), 0.6, at(0, 30), at(1, 30), at(2, 30))
	tests := []struct {
		name string
		sc   sim.Scenario
		want sim.Result
		// anyHealth skips AvgHealth: computed by hand in the "health" case
		// alone (burn penalties make the others tedious).
		anyHealth bool
	}{{
		// $0.60 served, then $1.20: the pool's block is spent (budget $1)
		// by its own count, and the upstream has said nothing, so the
		// client stays for the third request (nothing else can take it);
		// the upstream answers 429 (its $1 is spent too), and the client
		// fails over to nothing: a client-visible 429. From the tick at 2m
		// to the last (59m) the subscription is ineligible (block spent,
		// then limited): 58 minutes. The second request stayed with its
		// warm cache. One subscription: no gap.
		name: "block spent, no fallback",
		sc:   sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 1, Policy: sim.Policy{Name: "p"}},
		want: sim.Result{
			Policy: "p", Subscriptions: 1, Requests: 3, Served: 2, SubscriptionRequests: 2, Client429s: 1, SuccessRate: 2.0 / 3,
			CostUSD: 1.2, SubscriptionCostUSD: []float64{1.2}, UnusedPrepaidUSD: 98.8,
			WarmRequests: 1, CacheContinuity: 1, LimitedHours: 58.0 / 60,
			Failovers: 1, Upstream429s: 1, FailoverRate: 1.0 / 3,
		},
		anyHealth: true,
	}, {
		// The third request stays on max-01, its block spent by the pool's
		// count (prepaid capacity before the fallback); the upstream
		// answers 429 and it goes to the fallback: a failover, $0.60 spent
		// on the fallback, and a cache broken (at no cost: no context).
		name: "block spent, fallback",
		sc: sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 1, FallbackDailyUSD: 10,
			Policy: sim.Policy{Name: "p"}},
		want: sim.Result{
			Policy: "p", Subscriptions: 1, Requests: 3, Served: 3, SubscriptionRequests: 2, FallbackRequests: 1, SuccessRate: 1,
			CostUSD: 1.8, SubscriptionCostUSD: []float64{1.2}, FallbackUSD: 0.6, UnusedPrepaidUSD: 98.8,
			WarmRequests: 2, BrokenCaches: 1, CacheContinuity: 0.5, LimitedHours: 58.0 / 60,
			Failovers: 1, Upstream429s: 1, FailoverRate: 1.0 / 3,
		},
		anyHealth: true,
	}, {
		// Budgets twice the real limit: the pool keeps the client on max-01
		// for the third request, the upstream answers 429 (its $1 is
		// spent), the run marks max-01 limited until the block's end and
		// the client fails over to max-02. Costs $1.20 and $0.60: mean
		// $0.90, standard deviation $0.30, CV 1/3. max-01 is limited from
		// the tick at 3m: 57 minutes.
		//
		// Block shares (max-01, max-02) at the ticks: 0.6, 0 at 1m; 1.2, 0
		// at 2m, a gap grown by (0.6 - 1.2) / 0.6 = -1; at 3m max-02's
		// window has started (1.2, 0.6): not counted; from 4m to 59m the
		// gap stays 0.6: 56 ticks of 0. GapReduction = -1/57.
		name: "429 and failover",
		sc: sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 2,
			Policy: sim.Policy{Name: "p", BudgetShare: 2}},
		want: sim.Result{
			Policy: "p", Subscriptions: 2, Requests: 3, Served: 3, SubscriptionRequests: 3, SuccessRate: 1,
			CostUSD: 1.8, SubscriptionCostUSD: []float64{1.2, 0.6}, CostCV: 1.0 / 3, UnusedPrepaidUSD: 98.8 + 99.4,
			WarmRequests: 2, BrokenCaches: 1, CacheContinuity: 0.5, GapReduction: -1.0 / 57, GapTicks: 57,
			LimitedHours: 57.0 / 60, Failovers: 1, Upstream429s: 1, FailoverRate: 1.0 / 3,
		},
		anyHealth: true,
	}, {
		// One $0 request at 0:30, released at 30:30. Health is 100 - 5 per
		// client, + 10 when no client was active within 5 minutes, at most
		// 100: 95 at the ticks 1m..5m (the client was active 4.5 minutes
		// before the last of them), 100 at the 54 others.
		name: "health",
		sc: sim.Scenario{Workload: hour(session("a", at(30, 30), 0, at(0, 30))), Plan: tiny, Subscriptions: 1,
			Policy: sim.Policy{Name: "p"}},
		want: sim.Result{
			Policy: "p", Subscriptions: 1, Requests: 1, Served: 1, SubscriptionRequests: 1, SuccessRate: 1,
			SubscriptionCostUSD: []float64{0}, UnusedPrepaidUSD: 100, CacheContinuity: 1,
			AvgHealth: (5*95 + 54*100) / 59.0,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sim.Run(t.Context(), tt.sc)
			if err != nil {
				t.Fatal(err)
			}
			opts := cmp.Options{cmpopts.EquateApprox(0, 1e-9)}
			if tt.anyHealth {
				if !(got.AvgHealth >= 0 && got.AvgHealth <= 100) {
					t.Errorf("average health %v, want 0..100", got.AvgHealth)
				}
				opts = append(opts, cmpopts.IgnoreFields(sim.Result{}, "AvgHealth"))
			}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGapReduction checks the gap between block shares tick by tick under
// round-robin (max-01, max-02 in turn), blocks of $10, a request at :30 and
// :40 of each minute.
func TestGapReduction(t *testing.T) {
	t.Parallel()
	plan := sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 10, WeekLimitUSD: 100}
	req := func(client string, min, sec int, usd float64) sim.Session {
		return session(client, at(10, 0), usd, at(min, sec))
	}
	tests := []struct {
		name       string
		sessions   []sim.Session
		wantTicks  int
		wantReduce float64
	}{{
		// Shares after each minute: (.2, .1) gap .1; (.3, .4) gap .1: none
		// of it gone; (.5, .43) gap .07: 30 % gone; (.6, .43) gap .17:
		// grown by (.07 - .17) / .07.
		name: "three ticks",
		sessions: []sim.Session{
			req("a", 0, 30, 2), req("b", 0, 40, 1), req("c", 1, 30, 1), req("d", 1, 40, 3),
			req("e", 2, 30, 2), req("f", 2, 40, 0.3), req("g", 3, 30, 1),
		},
		wantTicks: 3, wantReduce: (0 + 0.3 + (0.07-0.17)/0.07) / 3,
	}, {
		// max-02's window starts after the first tick, so the second is
		// not counted. Shares (.2, 0); (.5, .1) [not counted]; (.5, .4): a
		// gap of .4 cut to .1, 75 % gone; (.5, .4) again at 4m: none.
		name: "a window starts",
		sessions: []sim.Session{
			req("a", 0, 30, 2), req("b", 1, 20, 1), req("c", 1, 40, 3),
			req("d", 2, 30, 3), req("e", 2, 40, 0),
		},
		wantTicks: 2, wantReduce: (0.75 + 0) / 2,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &sim.Workload{Name: "gaps", Start: t0, Length: 4*time.Minute + 30*time.Second, Sessions: tt.sessions}
			got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: plan, Subscriptions: 2,
				Policy: sim.Peers()[0]})
			if err != nil {
				t.Fatal(err)
			}
			if got.GapTicks != tt.wantTicks || math.Abs(got.GapReduction-tt.wantReduce) > 1e-9 {
				t.Errorf("gap reduction %v over %d ticks, want %v over %d", got.GapReduction, got.GapTicks, tt.wantReduce, tt.wantTicks)
			}
		})
	}
}

// TestPoolKeepsWarmCaches: the host records each usage's cache life, as
// authpool's proxy does, so the pool leaves an idle client in place while
// its cache is warm. Client a spends $6 on max-01 at 0:30 and idles; b
// arrives at 1:30 and goes to max-02 ($0). From the tick at 6m, a is idle
// on a block with $4 of room while max-02 has $10: a gap the default
// policy closes — unless a's cache lives an hour. a's next request, $1 at
// 8:00, is then on max-01 with its cache warm; with 5-minute caches, it was
// moved to max-02, its cache cold anyway.
func TestPoolKeepsWarmCaches(t *testing.T) {
	t.Parallel()
	plan := sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 10, WeekLimitUSD: 100}
	a := session("a", at(20, 0), 6, at(0, 30))
	a.Requests = append(a.Requests, sim.Request{Time: at(8, 0), CostUSD: 1, ContextTokens: 10000})
	tests := []struct {
		ttl   time.Duration
		costs []float64
		warm  int
	}{
		{time.Hour, []float64{7, 0}, 1},
		{5 * time.Minute, []float64{6, 1}, 0},
	}
	for _, tt := range tests {
		w := &sim.Workload{Name: "warm", Start: t0, Length: 10 * time.Minute, CacheTTL: tt.ttl, Sessions: []sim.Session{
			a, session("b", at(20, 0), 0, at(1, 30)),
		}}
		got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: plan, Subscriptions: 2, Policy: sim.Policy{Name: "default"}})
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(got.SubscriptionCostUSD, tt.costs) || got.WarmRequests != tt.warm || got.BrokenCaches != 0 {
			t.Errorf("caches of %s: costs %v, %d warm, %d broken; want %v, %d, 0", tt.ttl, got.SubscriptionCostUSD,
				got.WarmRequests, got.BrokenCaches, tt.costs, tt.warm)
		}
	}
}
