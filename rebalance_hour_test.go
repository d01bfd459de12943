package authpool_test

import (
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// Rebalance judges the blocks as they are at its call, not as they were
// when the view was read: a view read before the hour turned, still fresh
// by RefreshInterval, must not make it weigh a block that has ended.
func TestRebalanceJudgesTheBlockOfItsOwnHour(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration // RefreshInterval
		at       time.Time     // when Rebalance runs
		want     []authpool.Move
	}{
		{"in the block the usage was in", time.Hour, day(0, 14, 59), []authpool.Move{move("alice", "s-a", "s-b", 15, 0)}},
		{"just after that block ended, the view still fresh", time.Hour, day(0, 15, 0).Add(30 * time.Second), nil},
		{"just after that block ended, the view read again", time.Second, day(0, 15, 0).Add(30 * time.Second), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := subs(sub("s-a"), sub("s-b"))
			cfg.RefreshInterval = authpool.Duration(tt.interval)
			cfg.Block.Fixed = true // blocks 10:00-15:00, 15:00-20:00
			p := newPool(t, cfg, clk)
			pin(t, p, "s-a", "alice")
			clk.Set(day(0, 14, 50))
			allocate(t, p, "alice") // reads the view again, in hour 14
			spend(t, p, clk, "alice", 15)
			clk.Set(tt.at) // alice idle, her hold ended
			if diff := cmp.Diff(tt.want, rebalance(t, p).Moves); diff != "" {
				t.Errorf("Rebalance at %v moves (-want +got):\n%s", tt.at, diff)
			}
		})
	}
}
