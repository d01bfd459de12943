package sim

import (
	"fmt"
	"time"

	"github.com/authpool/authpool"
)

// Policy is a way to place requests: an authpool.Pool run with the policy
// fields of its Config and how much of each plan's limits the operator
// writes down as budgets, or, with Peer set, a peer's policy.
type Policy struct {
	// Name names the policy in tables and charts.
	Name string
	// Peer, when set, runs the peer's policy (Peers) instead of a pool:
	// Config and BudgetShare are then ignored.
	Peer Peer
	// Config holds the pool's policy (MaxClients, WeeklyThreshold, Block,
	// Health, Sessions, Rebalance, ...). Its Subscriptions and Fallback are
	// ignored: the run sets them.
	Config authpool.Config
	// BudgetShare is the share of the plan's limits configured as each
	// subscription's block and weekly budgets, in (0, 2]. The default value
	// is 1: the budgets are the plan's nominal limits.
	BudgetShare float64
}

// budgetShare returns BudgetShare or its default.
func (p Policy) budgetShare() float64 {
	if p.BudgetShare == 0 {
		return 1
	}
	return p.BudgetShare
}

// Policies returns the named policies the command compares by default:
//
//   - default: Config{}, every default of docs/how-it-decides.md; budgets = the plan's
//     limits.
//   - eager: Rebalance moves clients on a $1 gap, up to 10 a call, and a
//     client is idle (movable) after 2 minutes.
//   - spread: at most 8 clients a subscription (MaxClients), so clients
//     spread over more subscriptions before any fills.
//   - headroom: budgets at 90 % of the plan's limits, so the pool moves
//     clients before the upstream refuses them.
//   - fixed: blocks on the fixed UTC grid, which does not match the
//     upstream's anchored windows.
//   - classic: the policy before the weekly forecast (ForecastMargin -1,
//     StrictBudgets, FallbackFirst): a fixed weekly threshold whose
//     subscriptions let their clients go as soon as another is eligible and
//     take new ones only after the fallback, and budgets as caps.
//   - no-forecast, strict-budgets, fallback-first: the default with one of
//     classic's three settings, to measure what each change brings.
//
// On the standard workload, the grid search (Grid) found no policy better
// than eager, which is its point i2m-g1-c15-w85-b100.
func Policies() []Policy {
	return []Policy{
		{Name: "default"},
		{Name: "eager", Config: authpool.Config{
			Rebalance: authpool.RebalancePolicy{MinGapUSD: 1, MaxMoves: 10},
			Sessions:  authpool.SessionPolicy{IdleAfter: authpool.Duration(2 * time.Minute)},
		}},
		{Name: "spread", Config: authpool.Config{MaxClients: 8}},
		{Name: "headroom", BudgetShare: 0.9},
		{Name: "fixed", Config: authpool.Config{Block: authpool.BlockPolicy{Fixed: true}}},
		{Name: "classic", Config: authpool.Config{ForecastMargin: -1, StrictBudgets: true, FallbackFirst: true}},
		{Name: "no-forecast", Config: authpool.Config{ForecastMargin: -1}},
		{Name: "strict-budgets", Config: authpool.Config{StrictBudgets: true}},
		{Name: "fallback-first", Config: authpool.Config{FallbackFirst: true}},
	}
}

// Grid returns the policies of the grid search: every combination of the
// idle time (2 and 5 minutes), the rebalance gap ($1 and $5, with 10 and 3
// moves a call), the clients a subscription holds (8 and 15), the weekly
// threshold (0.85 and 0.95) and the budgets' share of the plan's limits
// (0.9 and 1). Each is named by its values, e.g. "i2m-g1-c8-w95-b100".
func Grid() []Policy {
	var ps []Policy
	for _, idle := range []time.Duration{2 * time.Minute, 5 * time.Minute} {
		for _, gap := range []float64{1, 5} {
			for _, clients := range []int{8, 15} {
				for _, weekly := range []float64{0.85, 0.95} {
					for _, share := range []float64{0.9, 1} {
						ps = append(ps, gridPolicy(idle, gap, clients, weekly, share))
					}
				}
			}
		}
	}
	return ps
}

// gridPolicy is one point of the grid.
func gridPolicy(idle time.Duration, gap float64, clients int, weekly, share float64) Policy {
	moves := 3
	if gap < 5 {
		moves = 10
	}
	return Policy{
		Name: fmt.Sprintf("i%dm-g%g-c%d-w%02.0f-b%.0f", int(idle.Minutes()), gap, clients, 100*weekly, 100*share),
		Config: authpool.Config{
			MaxClients:      clients,
			WeeklyThreshold: weekly,
			Sessions:        authpool.SessionPolicy{IdleAfter: authpool.Duration(idle)},
			Rebalance:       authpool.RebalancePolicy{MinGapUSD: gap, MaxMoves: moves},
		},
		BudgetShare: share,
	}
}
