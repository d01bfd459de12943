package authpool

// HealthWeights are the terms of the health score (see Config.Health):
//
//	health = 100 - Weekly*w - Block*b - PerClient*clients - burnPenalty + idleBonus
//
// clamped to 0..100, where clients are the clients holding a slot of the
// subscription (active within Sessions.IdleAfter, or within the prompt
// cache's time to live their last request wrote; not its idle sessions),
// w and b are the week's and the block's share of
// their budgets (each clamped to 0..1; the upstream's reported share when it
// is higher, see Pool.Observe), burnPenalty = Burn *
// clamp(burnRate/sustainableRate - 1, 0, BurnCap) with sustainableRate the
// block budget spread over the block, and idleBonus = IdleBonus when none of
// the subscription's clients was active within Sessions.IdleAfter.
//
// A zero weight means its default; a negative one switches the term off.
type HealthWeights struct {
	// Weekly weighs the week's use. The default value is 50.
	Weekly float64 `json:"weekly,omitempty"`
	// Block weighs the block's use. The default value is 30.
	Block float64 `json:"block,omitempty"`
	// PerClient is subtracted per client holding a slot. The default value
	// is 5.
	PerClient float64 `json:"perClient,omitempty"`
	// Burn weighs spending faster than the block budget allows. The default
	// value is 10.
	Burn float64 `json:"burn,omitempty"`
	// BurnCap caps the burn ratio's excess. The default value is 2.
	BurnCap float64 `json:"burnCap,omitempty"`
	// IdleBonus is added when no client of the subscription is active. The
	// default value is 10.
	IdleBonus float64 `json:"idleBonus,omitempty"`
}

// healthInput is what the health score is computed from.
type healthInput struct {
	weekShare, blockShare float64 // shares of the budgets used (0 without budget nor report); clamped to 0..1
	blockBudget           float64 // USD; 0 means none: no burn penalty
	blockHours            float64
	clients               int     // holding a slot
	burnRate              float64 // USD per hour
	idle                  bool
}

// HealthTerms are a subscription's health broken into its terms (see
// HealthWeights), each in points: the week's, the block's, the clients' and
// the burn rate's penalties (zero or negative) and the idle bonus (zero or
// positive). The health is 100 plus their sum, clamped to 0..100.
type HealthTerms struct {
	Weekly  float64 `json:"weekly"`
	Block   float64 `json:"block"`
	Clients float64 `json:"clients"`
	Burn    float64 `json:"burn"`
	Idle    float64 `json:"idle"`
}

// Sum returns the terms added up: the health before it is clamped, less
// 100.
func (t HealthTerms) Sum() float64 { return t.Weekly + t.Block + t.Clients + t.Burn + t.Idle }

// healthTerms returns the terms of a subscription's health: a pure function
// of its numbers.
func healthTerms(in healthInput, w HealthWeights) HealthTerms {
	on := func(weight float64) float64 { return max(weight, 0) } // negative: off
	t := HealthTerms{
		Weekly:  -on(w.Weekly) * clamp(in.weekShare, 0, 1),
		Block:   -on(w.Block) * clamp(in.blockShare, 0, 1),
		Clients: -on(w.PerClient) * float64(in.clients),
	}
	if in.blockBudget > 0 && in.blockHours > 0 {
		sustainable := in.blockBudget / in.blockHours
		t.Burn = -on(w.Burn) * clamp(in.burnRate/sustainable-1, 0, on(w.BurnCap))
	}
	if in.idle {
		t.Idle = on(w.IdleBonus)
	}
	return t
}

// health is the score of a subscription, 0 (worst) to 100 (best): a pure
// function of its numbers.
func health(in healthInput, w HealthWeights) float64 {
	return clamp(100+healthTerms(in, w).Sum(), 0, 100)
}

func clamp(x, lo, hi float64) float64 {
	switch {
	case x < lo:
		return lo
	case x > hi:
		return hi
	}
	return x
}
