package sim_test

import (
	"testing"

	"github.com/authpool/authpool/sim"
)

// BenchmarkStandardWeek runs one simulated week of the standard workload
// (about 100,000 requests) through 7 subscriptions and a fallback under the
// default policy: one op is one week.
func BenchmarkStandardWeek(b *testing.B) {
	w, err := sim.Standard().Generate(1)
	if err != nil {
		b.Fatal(err)
	}
	sc := sim.Scenario{Workload: w, Subscriptions: 7, FallbackDailyUSD: 50, LimitNoise: 0.1, Seed: 1,
		Policy: sim.Policy{Name: "default"}}
	b.ReportAllocs()
	for b.Loop() {
		r, err := sim.Run(b.Context(), sc)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Requests), "requests/op")
	}
}

// BenchmarkPeerWeek runs the same week through each peer's policy: one op
// is one week.
func BenchmarkPeerWeek(b *testing.B) {
	w, err := sim.Standard().Generate(1)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range sim.Peers() {
		b.Run(p.Name, func(b *testing.B) {
			sc := sim.Scenario{Workload: w, Subscriptions: 7, FallbackDailyUSD: 50, LimitNoise: 0.1, Seed: 1, Policy: p}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sim.Run(b.Context(), sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
