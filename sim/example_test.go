package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool/sim"
)

// Example replays an hour of one client through a pool of two
// subscriptions whose blocks allow $1: the third $0.60 request finds its
// subscription spent upstream (a 429), and fails over to the other, where
// its prompt cache is not.
func Example() {
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var reqs []sim.Request
	for i := range 3 {
		reqs = append(reqs, sim.Request{Time: start.Add(time.Duration(i)*time.Minute + 30*time.Second), CostUSD: 0.6})
	}
	w := &sim.Workload{Name: "example", Start: start, Length: time.Hour, Sessions: []sim.Session{
		{Client: "alice", Start: reqs[0].Time, End: start.Add(30 * time.Minute), Requests: reqs},
	}}
	r, err := sim.Run(context.Background(), sim.Scenario{
		Workload:      w,
		Plan:          sim.Plan{Kind: "max20x", BlockLimitUSD: 1, WeekLimitUSD: 100},
		Subscriptions: 2,
		// The pool believes the blocks allow $2: the upstream knows better.
		Policy: sim.Policy{Name: "optimistic", BudgetShare: 2},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("served %d of %d, %d failover after %d 429, costs %v, spread %.0f%%, caches kept %.0f%%\n",
		r.Served, r.Requests, r.Failovers, r.Upstream429s, r.SubscriptionCostUSD, 100*r.CostCV, 100*r.CacheContinuity)
	fmt.Println("targets met:", sim.DefaultTargets().MetString(r))
	// Output:
	// served 3 of 3, 1 failover after 1 429, costs [1.2 0.6], spread 33%, caches kept 50%
	// targets met: S---
}
