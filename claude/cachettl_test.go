package claude

import (
	"testing"
	"time"
)

// TestCacheTTL: a usage whose response wrote 1-hour prompt cache tells the
// pool so (Usage.CacheTTL, an hour), from the Messages API (package cli tests a CLI
// result's); any other usage leaves it to the pool's idle time.
func TestCacheTTL(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		counts Counts
		want   time.Duration
	}{
		{"1-hour writes", Counts{Input: 3, Output: 5, CacheWrite1h: 1200, CacheRead: 48000}, time.Hour},
		{"both kinds of writes", Counts{Input: 3, Output: 5, CacheWrite5m: 100, CacheWrite1h: 1}, time.Hour},
		{"5-minute writes", Counts{Input: 3, Output: 5, CacheWrite5m: 1200}, 0},
		{"reads only", Counts{Input: 3, Output: 5, CacheRead: 48000}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := MessageUsage{ID: "msg_1", Model: "claude-sonnet-4-5", Counts: tt.counts, Complete: true}
			u, err := m.Usage(nil, PerRequest, at)
			if err != nil || u.CacheTTL != tt.want {
				t.Errorf("MessageUsage.Usage = CacheTTL %v, %v; want %v", u.CacheTTL, err, tt.want)
			}
		})
	}
}
