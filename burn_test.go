package authpool_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// TestBurnRateIsExactToTheMinute spends $5 at 10:50 and reads the burn rate
// every minute after: $5 an hour until 11:49, in the snapshot of the pool
// that recorded it and of another pool on the same store, and nothing from
// 11:50. An estimate from hourly buckets read 5.00, 8.33, 10.00 or 4.17
// depending on the minute.
func TestBurnRateIsExactToTheMinute(t *testing.T) {
	ctx := context.Background()
	clk := newClock(day(0, 10, 50))
	st := authpool.NewTestStore(t)
	cfg := subs(sub("s-a", budgets(1000, 100)))
	p := newPool(t, cfg, clk, authpool.WithStore(st))
	other := newPool(t, cfg, clk, authpool.WithStore(st))
	allocate(t, p, "alice")
	clk.Set(day(0, 10, 50).Add(10 * time.Second))
	spend(t, p, clk, "alice", 2)
	clk.Set(day(0, 10, 50).Add(40 * time.Second))
	spend(t, p, clk, "alice", 3)

	read := func(p *authpool.Pool) float64 {
		s, err := p.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return status(t, s, "s-a").BurnRateUSDPerHour
	}
	for m := 0; m < 60+10; m++ {
		now := day(0, 10, 50).Add(time.Duration(m)*time.Minute + 45*time.Second)
		clk.Set(now)
		want := 5.0
		if m >= 60 {
			want = 0
		}
		for name, p := range map[string]*authpool.Pool{"the recording pool": p, "another pool": other} {
			if got := read(p); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: burn rate at %s = %.4f, want %.2f", name, now.Format("15:04:05"), got, want)
			}
		}
	}
}

// TestBurnRateDrivesHealthExactly: the health of a subscription burning
// twice its sustainable rate (its block budget over the block) loses the
// burn weight's points for the whole 60 minutes after the spending, and
// none after, at every minute of the hour.
func TestBurnRateDrivesHealthExactly(t *testing.T) {
	clk := newClock(day(0, 10, 20))
	// Block budget $10 over 5 hours: $2 an hour is sustainable.
	p := newPool(t, subs(sub("s-a", budgets(0, 10))), clk)
	allocate(t, p, "alice")
	spend(t, p, clk, "alice", 4) // $4 in the last hour: twice the sustainable rate
	for _, tc := range []struct {
		at   time.Time
		want float64
	}{
		// 100 - 30 * 0.4 (block) - 5 (alice holds a slot) - 10 * (4/2 - 1)
		{day(0, 10, 21), 100 - 12 - 5 - 10},
		// Idle from 10:25: no client holds a slot, the idle bonus is earned.
		{day(0, 10, 59), 100 - 12 - 10 + 10},
		{day(0, 11, 0), 100 - 12 - 10 + 10},
		{day(0, 11, 19), 100 - 12 - 10 + 10},
		{day(0, 11, 20), 100 - 12 + 10}, // the $4 left the last 60 minutes
	} {
		clk.Set(tc.at)
		if got := status(t, snapshot(t, p), "s-a").Health; math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("health at %s = %v, want %v", tc.at.Format("15:04"), got, tc.want)
		}
	}
}

// ExamplePool_Snapshot_burnRate shows the burn rate: what was spent in the
// last 60 minutes, to the minute.
func ExamplePool_Snapshot_burnRate() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 10, 50, 0, 0, time.UTC)
	p, _ := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-1", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example", WeeklyBudgetUSD: 900},
	}}, authpool.WithClock(func() time.Time { return now }))
	defer p.Close(ctx)
	_, _ = p.Allocate(ctx, "alice")
	_ = p.Record(ctx, "alice", authpool.Usage{Time: now, CostUSD: 5})
	for _, at := range []string{"10:50", "11:00", "11:30", "11:49", "11:50"} {
		now, _ = time.Parse("2006-01-02 15:04", "2026-11-26 "+at)
		s, _ := p.Snapshot(ctx)
		fmt.Printf("%s: $%.2f an hour\n", at, s.Subscriptions[0].BurnRateUSDPerHour)
	}
	// Output:
	// 10:50: $5.00 an hour
	// 11:00: $5.00 an hour
	// 11:30: $5.00 an hour
	// 11:49: $5.00 an hour
	// 11:50: $0.00 an hour
}
