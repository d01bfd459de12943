package sim_test

import (
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

// TestMetrics runs tiny scenarios whose every number is computed by hand in
// the comments. Ticks (Rebalance and samples) come each minute from t0+1m
// to t0+59m: 59 samples.
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
		// and nothing else can take the client, so the third request
		// fails. From the tick at 2m to the last (59m) the subscription is
		// ineligible (block spent): 58 minutes.
		name: "block spent, no fallback",
		sc:   sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 1, Policy: sim.Policy{Name: "p"}},
		want: sim.Result{
			Policy: "p", Subscriptions: 1, Requests: 3, Served: 2, SuccessRate: 2.0 / 3,
			SubscriptionCostUSD: []float64{1.2}, GapsClosedShare: 1, LimitedHours: 58.0 / 60,
		},
		anyHealth: true,
	}, {
		// The third request finds the block spent and goes to the fallback:
		// a failover (the client left max-01 for want of budget), $0.60
		// spent on the fallback.
		name: "block spent, fallback",
		sc: sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 1, FallbackDailyUSD: 10,
			Policy: sim.Policy{Name: "p"}},
		want: sim.Result{
			Policy: "p", Subscriptions: 1, Requests: 3, Served: 3, SuccessRate: 1,
			SubscriptionCostUSD: []float64{1.2}, GapsClosedShare: 1, LimitedHours: 58.0 / 60,
			Failovers: 1, FailoverRate: 1.0 / 3, FallbackRequests: 1, FallbackUSD: 0.6,
		},
		anyHealth: true,
	}, {
		// Budgets twice the real limit: the pool keeps the client on max-01
		// for the third request, the upstream answers 429 (its $1 is
		// spent), the run marks max-01 limited until the block's end and
		// the client fails over to max-02. Costs $1.20 and $0.60: mean
		// $0.90, standard deviation $0.30, CV 1/3. max-01 is limited from
		// the tick at 3m: 57 minutes.
		name: "429 and failover",
		sc: sim.Scenario{Workload: hour(three), Plan: tiny, Subscriptions: 2,
			Policy: sim.Policy{Name: "p", BudgetShare: 2}},
		want: sim.Result{
			Policy: "p", Subscriptions: 2, Requests: 3, Served: 3, SuccessRate: 1,
			SubscriptionCostUSD: []float64{1.2, 0.6}, CostCV: 1.0 / 3, GapsClosedShare: 1, LimitedHours: 57.0 / 60,
			Failovers: 1, Refusals: 1, FailoverRate: 1.0 / 3,
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
			Policy: "p", Subscriptions: 1, Requests: 1, Served: 1, SuccessRate: 1,
			SubscriptionCostUSD: []float64{0}, AvgHealth: (5*95 + 54*100) / 59.0, GapsClosedShare: 1,
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

// TestGaps checks when a gap counts and when it is closed. Client a spends
// $6 on max-01 at 0:30 and idles; b arrives at 1:30 and goes to the
// healthier max-02 ($0). From the tick at 6m, a is idle (5 minutes) on a
// block with $4 of room while max-02 has $10: a gap of $6.
func TestGaps(t *testing.T) {
	t.Parallel()
	plan := sim.Plan{Kind: authpool.KindMax20x, BlockLimitUSD: 10, WeekLimitUSD: 100}
	w := &sim.Workload{Name: "gaps", Start: t0, Length: 10 * time.Minute, Sessions: []sim.Session{
		session("a", at(20, 0), 6, at(0, 30)),
		session("b", at(20, 0), 0, at(1, 30)),
	}}
	tests := []struct {
		name           string
		policy         sim.Policy
		gaps, closed   int
		share          float64
		wantCostSpread float64
	}{
		// The default policy moves a on a $5 gap at the first tick it is
		// idle (6m): one gap, closed; then none is left.
		{"default moves", sim.Policy{Name: "default"}, 1, 1, 1, 1},
		// A policy that waits for a $10 gap leaves it open at each tick
		// from 6m to 9m: four gaps, none closed.
		{"wide gap leaves it", sim.Policy{Name: "wide", Config: authpool.Config{
			Rebalance: authpool.RebalancePolicy{MinGapUSD: 10}}}, 4, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sim.Run(t.Context(), sim.Scenario{Workload: w, Plan: plan, Subscriptions: 2, Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if got.Gaps != tt.gaps || got.GapsClosed != tt.closed || got.GapsClosedShare != tt.share {
				t.Errorf("gaps %d, closed %d, share %v; want %d, %d, %v", got.Gaps, got.GapsClosed, got.GapsClosedShare,
					tt.gaps, tt.closed, tt.share)
			}
			if got.CostCV != tt.wantCostSpread { // $6 and $0: mean 3, sd 3
				t.Errorf("cost CV %v, want %v", got.CostCV, tt.wantCostSpread)
			}
		})
	}
}

// GapUSD is the pool's default MinGapUSD, so that every policy's gaps are
// judged as the default policy's are.
func TestGapUSDIsThePoolsDefault(t *testing.T) {
	if want := (authpool.Config{}).WithDefaults().Rebalance.MinGapUSD; sim.GapUSD != want {
		t.Errorf("GapUSD = %v, want the pool's default MinGapUSD, %v", sim.GapUSD, want)
	}
}
