package sim

import (
	"math"
	"time"

	"github.com/authpool/authpool"
)

// GapUSD is the room difference that makes a gap (see Result.GapsClosed),
// whatever the policy's Rebalance.MinGapUSD: the pool's default (a test
// holds it to Config.WithDefaults), so every policy is judged against the
// same gaps.
const GapUSD = 5.0

// Result is what one Run measured. The counts are exact; the rates and
// averages are computed from them.
type Result struct {
	Policy        string `json:"policy"`
	Subscriptions int    `json:"subscriptions"`

	// Requests counts the workload's requests sent within its length;
	// Served those a subscription or the fallback served; the rest met
	// ErrExhausted (or a 429 on every subscription tried).
	Requests int `json:"requests"`
	Served   int `json:"served"`
	// SuccessRate is Served / Requests (1 without requests).
	SuccessRate float64 `json:"successRate"`

	// AvgHealth is the mean, over every sample (one each RebalanceEvery,
	// just before Rebalance, all week, nights included), of the mean
	// Snapshot health of the subscriptions (the fallback excluded).
	AvgHealth float64 `json:"avgHealth"`

	// SubscriptionCostUSD is what each subscription served in the run, in
	// order of ID. CostCV is their coefficient of variation: the population
	// standard deviation over the mean (0 when nothing was served): how
	// unevenly the work was spread.
	SubscriptionCostUSD []float64 `json:"subscriptionCostUSD"`
	CostCV              float64   `json:"costCV"`

	// Gaps counts the Rebalance calls that found a gap it could close: an
	// idle session (idle, not stale, in the Snapshot taken just before) on a
	// subscription whose block room (block budget − block cost) is at least
	// GapUSD less than the room of another subscription that is Eligible
	// (in service, under its thresholds, not full). GapsClosed counts those
	// after which the RebalanceReport moved a client off such a
	// subscription; GapsClosedShare is their share (1 without gaps). It
	// measures whether rebalancing acts when it could, not whether costs
	// evened out (CostCV measures that).
	Gaps            int     `json:"gaps"`
	GapsClosed      int     `json:"gapsClosed"`
	GapsClosedShare float64 `json:"gapsClosedShare"`

	// Failovers counts the requests that had to leave their subscription
	// because it could no longer serve them: the upstream answered 429
	// (Refusals counts the 429s), or Allocate moved the client off it
	// (Allocation.From set, for any reason but coming back from the
	// fallback, or a place taken while the client was idle: its block or
	// week spent, or limited). A client back from a pause whose slot other
	// clients took meanwhile is placed like a new one: its subscription
	// could serve, and its prompt cache had gone cold anyway. FailoverRate
	// is Failovers / Requests.
	Failovers    int     `json:"failovers"`
	Refusals     int     `json:"refusals"`
	FailoverRate float64 `json:"failoverRate"`

	// LimitedHours is the time, summed over subscriptions, that a
	// subscription could not take clients because it was limited (a 429)
	// or its block or weekly budget was spent, as sampled each
	// RebalanceEvery (Snapshot's Ineligible).
	LimitedHours float64 `json:"limitedHours"`

	// FallbackRequests and FallbackUSD are the requests the fallback
	// served and what they cost: money spent beyond the subscriptions.
	FallbackRequests int     `json:"fallbackRequests"`
	FallbackUSD      float64 `json:"fallbackUSD"`
}

// Targets are the thresholds operators watch, met when a Result is
// strictly better than each.
type Targets struct {
	MinSuccess    float64 // SuccessRate above
	MinHealth     float64 // AvgHealth above
	MaxCostCV     float64 // CostCV below
	MinGapsClosed float64 // GapsClosedShare above
	MaxFailover   float64 // FailoverRate below
}

// DefaultTargets returns the production targets of the design authpool
// replaces: success > 95 %, average health > 70, cost spread < 20 %,
// rebalancing closes > 80 % of gaps, failover < 5 %.
func DefaultTargets() Targets {
	return Targets{MinSuccess: 0.95, MinHealth: 70, MaxCostCV: 0.20, MinGapsClosed: 0.80, MaxFailover: 0.05}
}

// Met says which targets a result meets, in the order success, health,
// spread, gaps, failover.
func (t Targets) Met(r Result) [5]bool {
	return [5]bool{r.SuccessRate > t.MinSuccess, r.AvgHealth > t.MinHealth, r.CostCV < t.MaxCostCV,
		r.GapsClosedShare > t.MinGapsClosed, r.FailoverRate < t.MaxFailover}
}

// MeetsAll says whether a result meets every target.
func (t Targets) MeetsAll(r Result) bool {
	for _, ok := range t.Met(r) {
		if !ok {
			return false
		}
	}
	return true
}

// tally accumulates a run's measurements.
type tally struct {
	requests, served, refusals, failovers, fallbackRequests int
	fallbackUSD                                             float64
	subCost                                                 map[string]float64
	healthSum                                               float64
	samples                                                 int
	limited                                                 time.Duration
	gaps, closed                                            int
}

func (t *tally) init(ids []string) {
	t.subCost = make(map[string]float64, len(ids))
	for _, id := range ids {
		t.subCost[id] = 0
	}
}

// room is a subscription's block room as Rebalance reckons it.
func room(s authpool.SubscriptionStatus) float64 {
	if s.Block.BudgetUSD == 0 {
		return math.Inf(1)
	}
	return s.Block.BudgetUSD - s.Block.CostUSD
}

// sample measures the snapshot taken before a Rebalance: health, limited
// time, and the subscriptions that are the source of a gap (nil if none).
func (t *tally) sample(snap authpool.Snapshot, every time.Duration) map[string]bool {
	if len(snap.Subscriptions) == 0 {
		return nil
	}
	best := math.Inf(-1) // the most room of an eligible subscription
	sum := 0.0
	for _, s := range snap.Subscriptions {
		sum += s.Health
		switch s.Ineligible {
		case authpool.ReasonLimited, authpool.ReasonBlockSpent, authpool.ReasonWeekSpent:
			t.limited += every
		}
		if s.Eligible {
			best = max(best, room(s))
		}
	}
	t.healthSum += sum / float64(len(snap.Subscriptions))
	t.samples++
	idle := make(map[string]bool)
	for _, s := range snap.Sessions {
		if s.Idle && !s.Stale {
			idle[s.SubscriptionID] = true
		}
	}
	var sources map[string]bool
	for _, s := range snap.Subscriptions {
		if idle[s.ID] && best-room(s) >= GapUSD {
			if sources == nil {
				sources = make(map[string]bool)
			}
			sources[s.ID] = true
		}
	}
	if sources != nil {
		t.gaps++
	}
	return sources
}

// rebalanced counts a gap closed when the report moved a client off one of
// its sources.
func (t *tally) rebalanced(sources map[string]bool, report authpool.RebalanceReport) {
	for _, m := range report.Moves {
		if sources[m.From] {
			t.closed++
			return
		}
	}
}

// result computes the Result.
func (t *tally) result(sc Scenario, ids []string) Result {
	r := Result{
		Policy: sc.Policy.Name, Subscriptions: sc.Subscriptions,
		Requests: t.requests, Served: t.served, SuccessRate: 1,
		Gaps: t.gaps, GapsClosed: t.closed, GapsClosedShare: 1,
		Failovers: t.failovers, Refusals: t.refusals,
		LimitedHours:     t.limited.Hours(),
		FallbackRequests: t.fallbackRequests, FallbackUSD: t.fallbackUSD,
	}
	if t.requests > 0 {
		r.SuccessRate = float64(t.served) / float64(t.requests)
		r.FailoverRate = float64(t.failovers) / float64(t.requests)
	}
	if t.samples > 0 {
		r.AvgHealth = t.healthSum / float64(t.samples)
	}
	if t.gaps > 0 {
		r.GapsClosedShare = float64(t.closed) / float64(t.gaps)
	}
	mean := 0.0
	for _, id := range ids {
		r.SubscriptionCostUSD = append(r.SubscriptionCostUSD, t.subCost[id])
		mean += t.subCost[id]
	}
	mean /= float64(len(ids))
	if mean > 0 {
		v := 0.0
		for _, c := range r.SubscriptionCostUSD {
			v += (c - mean) * (c - mean)
		}
		r.CostCV = math.Sqrt(v/float64(len(ids))) / mean
	}
	return r
}
