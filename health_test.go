package authpool

import (
	"math"
	"testing"

	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// defaultWeights are the health weights of Config{}.
var defaultWeights = Config{}.withDefaults().Health

func TestDefaultHealthWeightsAreTheDesignsNumbers(t *testing.T) {
	want := HealthWeights{Weekly: 50, Block: 30, PerClient: 5, Burn: 10, BurnCap: 2, IdleBonus: 10}
	if diff := cmp.Diff(want, defaultWeights); diff != "" {
		t.Errorf("default weights (-want +got):\n%s", diff)
	}
}

func TestHealth(t *testing.T) {
	// A subscription with a $100 block of 5 hours: its sustainable burn rate
	// is $20 an hour. Shares are of a $1000 week and the $100 block.
	budgeted := func(in healthInput) healthInput {
		in.blockBudget, in.blockHours = 100, 5
		return in
	}
	tests := []struct {
		name string
		in   healthInput
		w    HealthWeights
		want float64
	}{
		{"an unused subscription scores 100", budgeted(healthInput{}), defaultWeights, 100},
		{"the idle bonus never lifts the score above 100", budgeted(healthInput{idle: true}), defaultWeights, 100},
		{"half the week used costs 25", budgeted(healthInput{weekShare: 0.5}), defaultWeights, 75},
		{"the whole week used costs 50", budgeted(healthInput{weekShare: 1.0}), defaultWeights, 50},
		{"a week over budget counts as the whole week", budgeted(healthInput{weekShare: 5.0}), defaultWeights, 50},
		{"half the block used costs 15", budgeted(healthInput{blockShare: 0.5}), defaultWeights, 85},
		{"a block over budget counts as the whole block", budgeted(healthInput{blockShare: 2.5}), defaultWeights, 70},
		{"a negative use counts as none", budgeted(healthInput{weekShare: -0.01, blockShare: -0.1}), defaultWeights, 100},
		{"each client costs 5", budgeted(healthInput{clients: 3}), defaultWeights, 85},
		{"the idle bonus adds 10", budgeted(healthInput{weekShare: 0.5, idle: true}), defaultWeights, 85},
		{"burning at the sustainable rate costs nothing", budgeted(healthInput{burnRate: 20}), defaultWeights, 100},
		{"burning below the sustainable rate costs nothing", budgeted(healthInput{burnRate: 5}), defaultWeights, 100},
		{"burning at twice the sustainable rate costs 10", budgeted(healthInput{burnRate: 40}), defaultWeights, 90},
		{"burning at 1.5 times the sustainable rate costs 5", budgeted(healthInput{burnRate: 30}), defaultWeights, 95},
		{"the burn penalty is capped at 20", budgeted(healthInput{burnRate: 1000}), defaultWeights, 80},
		{"the score never drops below 0",
			budgeted(healthInput{weekShare: 1.0, blockShare: 1.0, clients: 10, burnRate: 1000}), defaultWeights, 0},
		{"every term at once",
			budgeted(healthInput{weekShare: 0.1, blockShare: 0.4, clients: 2, burnRate: 30, idle: true}), defaultWeights,
			100 - 5 - 12 - 10 - 5 + 10},
		{"no budget set: no shares and no burn penalty",
			healthInput{blockHours: 5, burnRate: 1e6, clients: 1}, defaultWeights, 95},
		{"a block of no hours has no burn penalty",
			healthInput{blockBudget: 100, burnRate: 1e6}, defaultWeights, 100},
		{"custom weights weigh the shares",
			budgeted(healthInput{weekShare: 0.5, blockShare: 0.5, clients: 1}),
			HealthWeights{Weekly: 100, Block: 60, PerClient: 1, Burn: 10, BurnCap: 2, IdleBonus: 10}, 100 - 50 - 30 - 1},
		{"a custom burn cap caps the penalty",
			budgeted(healthInput{burnRate: 1000}), HealthWeights{Burn: 10, BurnCap: 0.5}, 95},
		{"a custom idle bonus lifts a used subscription",
			budgeted(healthInput{weekShare: 1.0, idle: true}), HealthWeights{Weekly: 50, IdleBonus: 30}, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := health(tt.in, tt.w)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("health(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestHealthTerms breaks scores into their terms: each term in points, and
// 100 plus their sum, clamped, is the score.
func TestHealthTerms(t *testing.T) {
	tests := []struct {
		name string
		in   healthInput
		want HealthTerms
	}{
		{"unused and idle", healthInput{blockBudget: 100, blockHours: 5, idle: true}, HealthTerms{Idle: 10}},
		{"every term", healthInput{weekShare: 0.1, blockShare: 0.4, blockBudget: 100, blockHours: 5, clients: 2, burnRate: 30},
			HealthTerms{Weekly: -5, Block: -12, Clients: -10, Burn: -5}},
		{"worn out: terms past the clamp", healthInput{weekShare: 2, blockShare: 2, blockBudget: 100, blockHours: 5, clients: 10, burnRate: 1e6},
			HealthTerms{Weekly: -50, Block: -30, Clients: -50, Burn: -20}},
		{"no block budget: no burn term", healthInput{blockHours: 5, burnRate: 1e6}, HealthTerms{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := healthTerms(tt.in, defaultWeights)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("healthTerms (-want +got):\n%s", diff)
			}
			if h, want := health(tt.in, defaultWeights), clamp(100+got.Sum(), 0, 100); h != want {
				t.Errorf("health = %v, want 100 plus the terms' sum, clamped: %v", h, want)
			}
		})
	}
}

func TestNegativeHealthWeightsSwitchTheirTermOff(t *testing.T) {
	worn := healthInput{weekShare: 1.0, blockShare: 1.0, blockBudget: 100, blockHours: 5,
		clients: 4, burnRate: 1000, idle: false}
	tests := []struct {
		name string
		w    HealthWeights
		want float64
	}{
		{"all defaults", HealthWeights{}, 0},
		{"weekly off", HealthWeights{Weekly: -1}, 100 - 30 - 20 - 20},
		{"block off", HealthWeights{Block: -1}, 100 - 50 - 20 - 20},
		{"per client off", HealthWeights{PerClient: -1}, 100 - 50 - 30 - 20},
		{"burn off", HealthWeights{Burn: -1, Weekly: -1}, 100 - 30 - 20},
		{"burn cap off", HealthWeights{BurnCap: -1, Weekly: -1}, 100 - 30 - 20},
		{"all off", HealthWeights{Weekly: -1, Block: -1, PerClient: -1, Burn: -1, BurnCap: -1, IdleBonus: -1}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Config{Health: tt.w}.withDefaults().Health
			if got := health(worn, w); got != tt.want {
				t.Errorf("health with weights %+v = %v, want %v", w, got, tt.want)
			}
		})
	}
	t.Run("the idle bonus off", func(t *testing.T) {
		w := Config{Health: HealthWeights{IdleBonus: -1}}.withDefaults().Health
		in := healthInput{weekShare: 0.5, idle: true}
		if got := health(in, w); got != 75 {
			t.Errorf("health of an idle subscription without idle bonus = %v, want 75", got)
		}
	})
}

func TestRaisedTakesTheHigherOfCountAndReport(t *testing.T) {
	tests := []struct {
		name      string
		cost      store.Nanodollars
		budget    store.Nanodollars
		reported  float64
		wantCost  store.Nanodollars
		wantShare float64
	}{
		{"no report: the pool's count", 30e9, 100e9, 0, 30e9, 0.3},
		{"a higher report wins", 30e9, 100e9, 0.6, 60e9, 0.6},
		{"a lower report loses", 30e9, 100e9, 0.1, 30e9, 0.3},
		{"no budget: the report's share alone", 30e9, 0, 0.45, 30e9, 0.45},
		{"no budget and no report: nothing", 30e9, 0, 0, 30e9, 0},
		{"over the budget", 150e9, 100e9, 0.5, 150e9, 1.5},
	}
	for _, tt := range tests {
		cost, share := raised(tt.cost, tt.budget, tt.reported)
		if cost != tt.wantCost || math.Abs(share-tt.wantShare) > 1e-12 {
			t.Errorf("%s: raised(%d, %d, %v) = %d, %v; want %d, %v", tt.name, tt.cost, tt.budget, tt.reported,
				cost, share, tt.wantCost, tt.wantShare)
		}
	}
}
