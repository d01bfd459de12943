package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Sweep runs one workload through several pool sizes and policies.
type Sweep struct {
	// Scenario is the template: its Subscriptions and Policy are replaced
	// by each of Sizes and Policies.
	Scenario Scenario
	Sizes    []int
	Policies []Policy
	// Parallel is how many runs go at once. The default value is 1.
	Parallel int
}

// Run runs every size with every policy and returns the results ordered by
// policy (in the order given), then size. The results do not depend on
// Parallel.
func (s Sweep) Run(ctx context.Context) ([]Result, error) {
	if len(s.Sizes) == 0 || len(s.Policies) == 0 {
		return nil, fmt.Errorf("sim: sweep: %d sizes and %d policies: want at least one of each", len(s.Sizes), len(s.Policies))
	}
	names := make(map[string]bool)
	for _, p := range s.Policies {
		if names[p.Name] {
			return nil, fmt.Errorf("sim: sweep: policy name %q used twice", p.Name)
		}
		names[p.Name] = true
	}
	type job struct{ i, size int }
	var jobs []job
	for pi := range s.Policies {
		for si, size := range s.Sizes {
			jobs = append(jobs, job{pi*len(s.Sizes) + si, size})
		}
	}
	results := make([]Result, len(jobs))
	errs := make([]error, len(jobs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan job)
	var wg sync.WaitGroup
	for range max(s.Parallel, 1) {
		wg.Go(func() {
			for j := range work {
				sc := s.Scenario
				sc.Subscriptions = j.size
				sc.Policy = s.Policies[j.i/len(s.Sizes)]
				results[j.i], errs[j.i] = Run(ctx, sc)
				if errs[j.i] != nil {
					cancel()
				}
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// Smallest returns, for each policy in results, the fewest subscriptions
// whose results (every seed's) meet every target, or 0 when no size does.
func Smallest(results []Result, t Targets) map[string]int {
	out := make(map[string]int)
	for _, s := range Summarize(results) {
		if _, ok := out[s.Policy]; !ok {
			out[s.Policy] = 0
		}
		if s.MeetsAll(t) && (out[s.Policy] == 0 || s.Subscriptions < out[s.Policy]) {
			out[s.Policy] = s.Subscriptions
		}
	}
	return out
}

// Best returns the policy and size whose results (every seed's) meet every
// target with the fewest subscriptions; among those, the one that spends
// least on the fallback (mean over seeds), then the one with the best
// success rate, then the best cache continuity, then the first in results.
// ok is false when none meets the targets.
func Best(results []Result, t Targets) (best Summary, ok bool) {
	for _, s := range Summarize(results) {
		if s.MeetsAll(t) && (!ok || better(s, best)) {
			best, ok = s, true
		}
	}
	return best, ok
}

// better orders the summaries that meet every target, for Best.
func better(a, b Summary) bool {
	switch {
	case a.Subscriptions != b.Subscriptions:
		return a.Subscriptions < b.Subscriptions
	case a.FallbackUSD != b.FallbackUSD:
		return a.FallbackUSD < b.FallbackUSD
	case a.SuccessRate != b.SuccessRate:
		return a.SuccessRate > b.SuccessRate
	}
	return a.CacheContinuity > b.CacheContinuity
}

// policyNames returns the policies of results in order of first appearance.
func policyNames(results []Result) []string {
	var names []string
	for _, r := range results {
		if !slices.Contains(names, r.Policy) {
			names = append(names, r.Policy)
		}
	}
	return names
}
