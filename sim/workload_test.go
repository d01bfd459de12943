package sim_test

import (
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool/sim"
)

func TestRate(t *testing.T) {
	t.Parallel()
	s := sim.Standard()
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Time
		want float64
	}{
		{monday.Add(3 * time.Hour), 0.05},                 // night
		{monday.Add(7 * time.Hour), 1.0 / 3},              // shoulder before work
		{monday.Add(9 * time.Hour), 1},                    // work starts
		{monday.Add(17*time.Hour + 59*time.Minute), 1},    // work's last minute
		{monday.Add(19 * time.Hour), 1.0 / 3},             // shoulder after work
		{monday.Add(20 * time.Hour), 0.05},                // night again
		{monday.Add(5*24*time.Hour + 12*time.Hour), 0.08}, // Saturday noon
	}
	for _, tt := range tests {
		if got := s.Rate(tt.at); got != tt.want {
			t.Errorf("Rate(%s) = %v, want %v", tt.at.Format("Mon 15:04"), got, tt.want)
		}
	}
}

// TestStandardWorkload checks the standard workload's invariants, and that
// its figures are those its documentation gives.
func TestStandardWorkload(t *testing.T) {
	t.Parallel()
	w, err := sim.Standard().Generate(1)
	if err != nil {
		t.Fatal(err)
	}
	end := w.Start.Add(w.Length)
	var ends []time.Time
	for i, s := range w.Sessions {
		if i > 0 && s.Start.Before(w.Sessions[i-1].Start) {
			t.Fatalf("session %s starts before the one before it", s.Client)
		}
		running := 0
		for _, e := range ends {
			if e.After(s.Start) {
				running++
			}
		}
		if running >= 40 {
			t.Fatalf("session %s starts with %d running: more than the 40 agents", s.Client, running)
		}
		ends = append(ends, s.End)
		for j, r := range s.Requests {
			if r.Time.Before(s.Start) || !r.Time.Before(s.End) || j > 0 && r.Time.Before(s.Requests[j-1].Time) || r.CostUSD <= 0 {
				t.Fatalf("session %s, request %d at %s for $%v: out of order or of range", s.Client, j, r.Time, r.CostUSD)
			}
		}
		if !s.Start.Before(end) {
			t.Fatalf("session %s starts after the workload's end", s.Client)
		}
	}
	requests, cost := w.Requests(), w.CostUSD()
	mean := cost / float64(requests)
	if math.Abs(mean-0.035*math.Exp(0.5)) > 0.003 { // the log-normal's mean, $0.058
		t.Errorf("mean request cost $%.4f, want about $0.058", mean)
	}
	if requests < 90000 || requests > 110000 || cost < 5000 || cost > 6500 {
		t.Errorf("%d requests for $%.0f, want about 100,000 for $5,800", requests, cost)
	}
}

// TestContexts checks the standard workload's context sizes: each session
// starts at most at the maximum and grows with every request, but for a
// compaction back to its start; drawing them leaves the rest of the
// workload as it was (seed 1: 2,127 sessions, 100,241 requests).
func TestContexts(t *testing.T) {
	t.Parallel()
	s := sim.Standard()
	w, err := s.Generate(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Sessions) != 2127 || w.Requests() != 100241 || w.Model != sim.DefaultModel || w.CacheTTL != time.Hour {
		t.Errorf("%d sessions, %d requests, model %q, cache TTL %s; want 2127, 100241, %s, 1h", len(w.Sessions), w.Requests(),
			w.Model, w.CacheTTL, sim.DefaultModel)
	}
	var sum, n float64
	compactions := 0
	for _, sess := range w.Sessions {
		start := sess.Requests[0].ContextTokens
		if start <= 0 || start > s.ContextMaxTokens {
			t.Fatalf("session %s starts with a context of %d tokens", sess.Client, start)
		}
		for i, r := range sess.Requests {
			if r.ContextTokens > s.ContextMaxTokens {
				t.Fatalf("session %s, request %d: %d tokens, over the maximum", sess.Client, i, r.ContextTokens)
			}
			if i > 0 && r.ContextTokens < sess.Requests[i-1].ContextTokens {
				if r.ContextTokens != start {
					t.Fatalf("session %s, request %d: shrank to %d, not to its start %d", sess.Client, i, r.ContextTokens, start)
				}
				compactions++
			}
			sum += float64(r.ContextTokens)
			n++
		}
	}
	// About 20,000 + 1,650 a request: a mean in the tens of thousands.
	if mean := sum / n; mean < 30000 || mean > 120000 || compactions == 0 {
		t.Errorf("mean context %.0f tokens, %d compactions; want 30,000 to 120,000, and some", mean, compactions)
	}
}
