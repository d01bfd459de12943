package sim_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/sim"
)

// TestBadInput checks that each bad input is refused with an error naming
// the field and the value.
func TestBadInput(t *testing.T) {
	t.Parallel()
	w := &sim.Workload{Name: "w", Start: t0, Length: time.Hour}
	synthetic := func(f func(*sim.Synthetic)) func() error {
		return func() error {
			s := sim.Standard()
			f(&s)
			_, err := s.Generate(1)
			return err
		}
	}
	scenario := func(f func(*sim.Scenario)) func() error {
		return func() error {
			sc := sim.Scenario{Workload: w, Subscriptions: 1}
			f(&sc)
			_, err := sim.Run(t.Context(), sc)
			return err
		}
	}
	tests := []struct {
		name string
		run  func() error
		want []string
	}{
		{"no workload", scenario(func(sc *sim.Scenario) { sc.Workload = nil }), []string{"Workload = <nil>"}},
		{"no subscriptions", scenario(func(sc *sim.Scenario) { sc.Subscriptions = 0 }), []string{"Subscriptions = 0: want 1 to 1000"}},
		{"NaN fallback and noise", scenario(func(sc *sim.Scenario) { sc.FallbackDailyUSD, sc.LimitNoise = math.NaN(), 0.9 }),
			[]string{"FallbackDailyUSD = NaN", "LimitNoise = 0.9: want 0 to 0.5"}},
		{"budget share", scenario(func(sc *sim.Scenario) { sc.Policy.BudgetShare = -1 }), []string{"Policy.BudgetShare = -1"}},
		{"bad policy config", scenario(func(sc *sim.Scenario) { sc.Policy = sim.Policy{Name: "neg", Config: authpool.Config{MaxClients: -1}} }),
			[]string{`policy "neg"`, "maxClients"}},
		{"unknown peer", scenario(func(sc *sim.Scenario) { sc.Policy = sim.Policy{Name: "x", Peer: "random"} }),
			[]string{"Policy.Peer = random: want one of round-robin"}},
		{"contexts", synthetic(func(s *sim.Synthetic) { s.ContextMaxTokens, s.ContextGrowthSigma, s.CacheTTL = 10, -1, -time.Second }),
			[]string{"ContextMaxTokens = 20000, 1000, 10", "ContextGrowthSigma = -1", "CacheTTL = -1s"}},
		{"no agents", synthetic(func(s *sim.Synthetic) { s.Agents = 0 }), []string{"Agents = 0: want 1 to 100000"}},
		{"working hours backwards", synthetic(func(s *sim.Synthetic) { s.WorkStart, s.WorkEnd = 18, 9 }),
			[]string{"WorkStart..WorkEnd = 18..9"}},
		{"shares and costs", synthetic(func(s *sim.Synthetic) { s.Night, s.CostMedianUSD, s.BurstGap = 2, math.Inf(1), 0 }),
			[]string{"Night = 2", "CostMedianUSD = +Inf", "BurstGap = 0s"}},
		{"sweep without sizes", func() error {
			_, err := sim.Sweep{Scenario: sim.Scenario{Workload: w}, Policies: sim.Policies()}.Run(t.Context())
			return err
		}, []string{"0 sizes"}},
		{"sweep with a policy twice", func() error {
			_, err := sim.Sweep{Scenario: sim.Scenario{Workload: w}, Sizes: []int{1},
				Policies: []sim.Policy{{Name: "x"}, {Name: "x"}}}.Run(t.Context())
			return err
		}, []string{`policy name "x" used twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.run()
			if err == nil {
				t.Fatalf("no error, want one naming %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}
