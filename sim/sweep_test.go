package sim_test

import (
	"testing"

	"github.com/authpool/authpool/sim"
	"github.com/google/go-cmp/cmp"
)

func TestSmallestAndBest(t *testing.T) {
	t.Parallel()
	ok := func(policy string, subs int, fallback, health float64) sim.Result {
		return sim.Result{Policy: policy, Subscriptions: subs, SuccessRate: 1, AvgHealth: health, GapsClosedShare: 1, FallbackUSD: fallback}
	}
	bad := ok("a", 2, 0, 50) // health 50: misses a target
	results := []sim.Result{
		ok("a", 4, 0, 80), bad, ok("a", 3, 10, 75),
		ok("b", 3, 10, 76), ok("b", 5, 0, 90),
		ok("c", 3, 0, 71),
		{Policy: "d", Subscriptions: 9, SuccessRate: 0.5},
	}
	want := map[string]int{"a": 3, "b": 3, "c": 3, "d": 0}
	if diff := cmp.Diff(want, sim.Smallest(results, sim.DefaultTargets())); diff != "" {
		t.Errorf("smallest (-want +got):\n%s", diff)
	}
	// Three policies meet the targets with 3; c spends nothing on the
	// fallback there.
	best, found := sim.Best(results, sim.DefaultTargets())
	if !found || best.Policy != "c" || best.Subscriptions != 3 {
		t.Errorf("best %s/%d (%v), want c/3", best.Policy, best.Subscriptions, found)
	}
	// Without c, a and b tie on size and fallback: the healthier wins.
	best, _ = sim.Best(append(results[:5:5], results[6]), sim.DefaultTargets())
	if best.Policy != "b" {
		t.Errorf("best %s, want b", best.Policy)
	}
	if _, found := sim.Best([]sim.Result{bad}, sim.DefaultTargets()); found {
		t.Errorf("a best among results that miss a target")
	}
}
