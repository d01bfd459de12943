package sim_test

import (
	"testing"

	"github.com/authpool/authpool/sim"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSmallestAndBest(t *testing.T) {
	t.Parallel()
	ok := func(policy string, subs int, seed uint64, fallback, continuity float64) sim.Result {
		return sim.Result{Policy: policy, Subscriptions: subs, Seed: seed, SuccessRate: 1, GapReduction: 0.01,
			FallbackUSD: fallback, CacheContinuity: continuity}
	}
	bad := ok("a", 2, 1, 0, 1)
	bad.CostCV = 0.5 // misses the spread target
	results := []sim.Result{
		ok("a", 4, 1, 0, 0.9), bad, ok("a", 3, 1, 10, 0.9),
		ok("b", 3, 1, 10, 0.95), ok("b", 5, 1, 0, 0.9),
		ok("c", 3, 1, 0, 0.9), ok("c", 3, 2, 0, 0.9),
		{Policy: "d", Subscriptions: 9, SuccessRate: 0.5},
		// e meets every target at 3 with seed 1, not with seed 2.
		ok("e", 3, 1, 0, 1), {Policy: "e", Subscriptions: 3, Seed: 2, SuccessRate: 0.5},
	}
	want := map[string]int{"a": 3, "b": 3, "c": 3, "d": 0, "e": 0}
	if diff := cmp.Diff(want, sim.Smallest(results, sim.DefaultTargets())); diff != "" {
		t.Errorf("smallest (-want +got):\n%s", diff)
	}
	// Three policies meet the targets with 3 in every seed; c spends
	// nothing on the fallback there.
	best, found := sim.Best(results, sim.DefaultTargets())
	if !found || best.Policy != "c" || best.Subscriptions != 3 || len(best.Runs) != 2 {
		t.Errorf("best %s/%d over %d seeds (%v), want c/3 over 2", best.Policy, best.Subscriptions, len(best.Runs), found)
	}
	// Without c, a and b tie on size and fallback: the one that kept more
	// caches wins.
	best, _ = sim.Best(append(results[:5:5], results[7]), sim.DefaultTargets())
	if best.Policy != "b" {
		t.Errorf("best %s, want b", best.Policy)
	}
	if _, found := sim.Best([]sim.Result{bad}, sim.DefaultTargets()); found {
		t.Errorf("a best among results that miss a target")
	}
}

// TestSummarize checks the means over seeds.
func TestSummarize(t *testing.T) {
	t.Parallel()
	results := []sim.Result{
		{Policy: "p", Subscriptions: 2, Seed: 1, Requests: 10, SubscriptionRequests: 8, SuccessRate: 1, Client429s: 0,
			FallbackUSD: 10, CacheContinuity: 1},
		{Policy: "q", Subscriptions: 2, Seed: 1, SuccessRate: 0.5},
		{Policy: "p", Subscriptions: 2, Seed: 2, Requests: 50, SubscriptionRequests: 20, SuccessRate: 0.9, Client429s: 5,
			FallbackUSD: 20, CacheContinuity: 0.9},
	}
	got := sim.Summarize(results)
	if len(got) != 2 || got[0].Policy != "p" || got[1].Policy != "q" || len(got[0].Runs) != 2 {
		t.Fatalf("summaries %+v: want p (2 runs), then q", got)
	}
	p := got[0]
	got5 := [5]float64{p.SuccessRate, p.SubscriptionShare, p.Client429s, p.FallbackUSD, p.CacheContinuity}
	if diff := cmp.Diff([5]float64{0.95, (0.8 + 0.4) / 2, 2.5, 15, 0.95}, got5, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("p's means: success, by subscriptions, 429s, fallback, continuity (-want +got):\n%s", diff)
	}
}
