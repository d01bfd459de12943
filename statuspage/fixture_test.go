package statuspage_test

import (
	"context"
	"flag"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
)

// update makes the golden tests rewrite testdata: go test ./statuspage -update
// (the HTML golden and, when Chromium is here, the screenshot).
var update = flag.Bool("update", false, "rewrite testdata/statuspage.golden.html and testdata/statuspage.png")

// t0 is the fixed snapshot's time.
var t0 = time.Date(2026, 11, 26, 12, 45, 0, 0, time.UTC)

// at is a time on t0's day.
func at(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, time.UTC) }

// fixedSnapshot is a pool at 12:45 UTC in each state the page marks: Max A
// takes clients (block 40 %, which does not run out before the block ends;
// one of its two clients is idle; its week runs out tomorrow at this rate);
// Max B is limited until 14:00 with its block spent (104.5 %) and the
// upstream reporting 66 % of its week, which does not run out at this rate;
// Pro C is full and near both budgets (85 % and 93 %), running out at 13:12;
// the team's API key is disabled and has no budget; the fallback has spent
// 35 % of its day.
func fixedSnapshot() authpool.Snapshot {
	block := span{Start: at(10, 0), End: at(15, 0)}
	week := span{Start: at(13, 0).AddDate(0, 0, -7), End: at(13, 0)}
	day := span{Start: at(0, 0), End: at(24, 0)}
	return authpool.Snapshot{
		Time: t0,
		Subscriptions: []authpool.SubscriptionStatus{
			{
				ID: "max-a", Name: "Max A", Kind: authpool.KindMax20x, Eligible: true, Health: 77,
				HealthTerms: authpool.HealthTerms{Weekly: -6, Block: -12, Clients: -5},
				Clients:     2, ActiveClients: 1, MaxClients: 4,
				// $84 left at $28 an hour runs out after the block.
				Block: authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 56, Requests: 53,
					Tokens:    authpool.Tokens{Input: 9_800, Output: 61_200, CacheWrite: 120_400, CacheRead: 2_310_000},
					BudgetUSD: 140, Percent: 40},
				// $880 left at $28 an hour: 31h26m.
				Week: authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 120, Requests: 118,
					Tokens:    authpool.Tokens{Input: 21_000, Output: 131_000, CacheWrite: 258_000, CacheRead: 4_950_000},
					BudgetUSD: 1000, Percent: 12, ExhaustsAt: at(20, 11).AddDate(0, 0, 1)},
				BurnRateUSDPerHour: 28, ExhaustsAt: at(20, 11).AddDate(0, 0, 1), LastActive: at(12, 43),
			},
			{
				ID: "max-b", Name: "Max B", Kind: authpool.KindMax20x,
				Status:     authpool.Status{State: authpool.Limited, Until: at(14, 0), Reason: "5-hour limit reached"},
				Ineligible: authpool.ReasonLimited, Health: 11.6, MaxClients: 4,
				Block: authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 146.3, Requests: 212, BudgetUSD: 140, Percent: 104.5,
					ExhaustsAt: t0},
				Week: authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 630, Requests: 940, BudgetUSD: 1000, Percent: 66,
					ReportedPercent: 66},
				BurnRateUSDPerHour: 9.75, ExhaustsAt: t0, LastActive: at(12, 20),
			},
			{
				ID: "pro-c", Name: "Pro C", Kind: authpool.KindPro, Ineligible: authpool.ReasonFull, Health: 11.3,
				HealthTerms: authpool.HealthTerms{Weekly: -46.5, Block: -25.5, Clients: -10, Burn: -6.67},
				Clients:     2, ActiveClients: 2, MaxClients: 2,
				// $2.70 left of the block and $4.20 of the week, at $6 an hour.
				Block: authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 15.3, Requests: 38, BudgetUSD: 18, Percent: 85,
					ExhaustsAt: at(13, 12)},
				Week: authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 55.8, Requests: 140, BudgetUSD: 60, Percent: 93,
					ExhaustsAt: at(13, 27)},
				BurnRateUSDPerHour: 6, ExhaustsAt: at(13, 12), LastActive: at(12, 44),
			},
			{
				ID: "team-api", Name: "Team API key", Kind: authpool.KindAPI,
				Status:     authpool.Status{State: authpool.Disabled, Reason: "key rotated"},
				Ineligible: authpool.ReasonDisabled, Health: 90,
				Block:      authpool.UsageWindow{Start: block.Start, End: block.End, Active: true},
				Week:       authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 3.2, Requests: 4},
				LastActive: at(9, 5).AddDate(0, 0, -2),
			},
		},
		Fallback: &authpool.SubscriptionStatus{
			ID: authpool.FallbackID, Kind: authpool.KindAPI, Eligible: true, Health: 95, Clients: 1, ActiveClients: 1,
			HealthTerms: authpool.HealthTerms{Clients: -5},
			Block:       authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 7, Requests: 6},
			Week:        authpool.UsageWindow{Start: week.Start, End: week.End, Active: true, CostUSD: 31.5, Requests: 27},
			// $13 left of the day at $4 an hour: 3h15m.
			Day: &authpool.UsageWindow{Start: day.Start, End: day.End, Active: true, CostUSD: 7, Requests: 6, BudgetUSD: 20, Percent: 35,
				ExhaustsAt: at(16, 0)},
			BurnRateUSDPerHour: 4, ExhaustsAt: at(16, 0), LastActive: at(12, 41),
		},
		Sessions: []authpool.SessionStatus{
			session("alice", "max-a", false, 41, 30.12, at(12, 43)),
			session("bob", "max-a", true, 12, 25.88, at(12, 31)),
			session("carol", "pro-c", false, 30, 9.5, at(12, 44)),
			session("dave", "pro-c", false, 8, 5.8, at(12, 40)),
			session("erin", authpool.FallbackID, false, 6, 7, at(12, 41)),
		},
	}
}

// fixedStats are the counters the page shows beside fixedSnapshot.
var fixedStats = authpool.Stats{
	DuplicateRecords: 2,
	Notifications:    authpool.NotificationStats{Emitted: 14, Delivered: 13, Failed: 1},
}

func session(client, sub string, idle bool, requests int64, cost float64, last time.Time) authpool.SessionStatus {
	return authpool.SessionStatus{ClientID: client, SubscriptionID: sub, Idle: idle, Created: at(9, 0),
		Assigned: at(9, 0), LastActive: last, Requests: requests, CostUSD: cost, Model: "claude-sonnet-4-5"}
}

// source is a Source for tests: it answers snap or err (and fixedStats),
// and records the
// contexts it was asked with. With block set it waits for the context to
// end, as a store that hangs would.
type source struct {
	snap  authpool.Snapshot
	err   error
	block bool

	mu        sync.Mutex
	deadlines []time.Duration // how long each call had, from when it was asked
}

func (s *source) Stats() authpool.Stats { return fixedStats }

func (s *source) Snapshot(ctx context.Context, _ ...authpool.SnapshotOption) (authpool.Snapshot, error) {
	s.mu.Lock()
	if d, ok := ctx.Deadline(); ok {
		s.deadlines = append(s.deadlines, time.Until(d))
	} else {
		s.deadlines = append(s.deadlines, -1)
	}
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		return authpool.Snapshot{}, ctx.Err()
	}
	return s.snap, s.err
}

// span is a window's bounds, as UsageWindow holds them.
type span struct{ Start, End time.Time }

// callerSource is a CallerSource for tests: it answers reports or err.
type callerSource struct {
	reports []callerreport.Report
	err     error
}

func (c callerSource) Reports(context.Context) ([]callerreport.Report, error) {
	return c.reports, c.err
}

// fixedCallers are a proxy's callers at fixedSnapshot's time, 12:45 UTC:
// ci has used 42.5 % of its $20 over 5 hours, which falls at 13:00;
// nightly is over its $5 cap (112 %) until 14:00; ops-bot is near its $10
// a day (92 %); dana has no cap and was last active two days ago;
// new-hire has no cap and has sent nothing.
func fixedCallers() []callerreport.Report {
	report := func(id string, c *callerreport.CapUse, dayReq int64, dayUSD float64, weekReq int64, weekUSD float64,
		sessions int, last time.Time) callerreport.Report {
		r := callerreport.Report{ID: id, At: t0, Cap: c, SessionCount: sessions, LastActive: last}
		if c != nil {
			r.Windows = append(r.Windows, callerreport.Window{Name: callerreport.WindowCap, Start: t0.Add(-time.Duration(c.WindowHours-1) * time.Hour).Truncate(time.Hour),
				Hours: c.WindowHours, CostUSD: c.UsedUSD})
		}
		r.Windows = append(r.Windows,
			callerreport.Window{Name: callerreport.WindowDay, Start: at(0, 0), Hours: 13, Requests: dayReq, CostUSD: dayUSD},
			callerreport.Window{Name: callerreport.WindowWeek, Start: at(13, 0).AddDate(0, 0, -7), Hours: 168, Requests: weekReq, CostUSD: weekUSD})
		return r
	}
	return []callerreport.Report{
		report("ci", &callerreport.CapUse{USD: 20, WindowHours: 5, UsedUSD: 8.5, Share: 0.425, Resets: at(13, 0)},
			14, 8.5, 40, 31.25, 3, at(12, 43)),
		report("dana", nil, 0, 0, 2, 0.8, 1, at(9, 5).AddDate(0, 0, -2)),
		report("new-hire", nil, 0, 0, 0, 0, 0, time.Time{}),
		report("nightly", &callerreport.CapUse{USD: 5, WindowHours: 5, UsedUSD: 5.6, Share: 1.12, Resets: at(14, 0)},
			9, 5.6, 30, 18.4, 1, at(12, 10)),
		report("ops-bot", &callerreport.CapUse{USD: 10, WindowHours: 24, UsedUSD: 9.2, Share: 0.92, Resets: at(9, 0).AddDate(0, 0, 1)},
			120, 6.1, 700, 41, 12, at(12, 44)),
	}
}
