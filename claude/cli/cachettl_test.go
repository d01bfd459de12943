package cli

import (
	"testing"
	"time"

	"github.com/authpool/authpool/claude"
)

// TestCacheTTL: a CLI result's usages whose response wrote 1-hour prompt
// cache tell the pool so (Usage.CacheTTL, an hour); any other usage leaves
// it to the pool's idle time.
func TestCacheTTL(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		counts claude.Counts
		want   time.Duration
	}{
		{"1-hour writes", claude.Counts{Input: 3, Output: 5, CacheWrite1h: 1200, CacheRead: 48000}, time.Hour},
		{"both kinds of writes", claude.Counts{Input: 3, Output: 5, CacheWrite5m: 100, CacheWrite1h: 1}, time.Hour},
		{"5-minute writes", claude.Counts{Input: 3, Output: 5, CacheWrite5m: 1200}, 0},
		{"reads only", claude.Counts{Input: 3, Output: 5, CacheRead: 48000}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{SessionID: "s", UUID: "u", CostKnown: true,
				Models:   map[string]ModelUsage{"claude-sonnet-4-5": {Counts: tt.counts, CostUSD: 0.01}},
				Trailing: []Message{{ID: "msg_2", Model: "claude-haiku-4-5", Counts: tt.counts}}}
			us, err := r.Usages(claude.DefaultPrices(), at)
			if err != nil || len(us) != 2 {
				t.Fatalf("Result.Usages = %+v, %v; want two usages", us, err)
			}
			for _, u := range us {
				if u.CacheTTL != tt.want {
					t.Errorf("Result.Usages: %s has CacheTTL %v, want %v", u.ID, u.CacheTTL, tt.want)
				}
			}
		})
	}
}
