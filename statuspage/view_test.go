package statuspage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
)

var now = time.Date(2026, 11, 26, 12, 45, 0, 0, time.UTC)

func TestRelative(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"},
		{999 * time.Millisecond, "now"},
		{-999 * time.Millisecond, "now"},
		{time.Second, "in 1s"},
		{59*time.Second + 900*time.Millisecond, "in 59s"},
		{time.Minute, "in 1m"},
		{27*time.Minute + 59*time.Second, "in 27m"},
		{2*time.Hour + 13*time.Minute + 40*time.Second, "in 2h 13m"},
		{-5 * time.Minute, "5m ago"},
		{-(2*24*time.Hour + 3*time.Hour + 40*time.Minute), "2d 3h ago"},
		{6*24*time.Hour + 23*time.Hour, "in 6d 23h"},
	} {
		if got := relative(tc.d); got != tc.want {
			t.Errorf("relative(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestAt: a time of the snapshot's UTC day shows its hour, another day its
// date, another year the year too; the snapshot's zone does not matter.
func TestAt(t *testing.T) {
	east := time.FixedZone("UTC+9", 9*3600)
	for _, tc := range []struct {
		t    time.Time
		want moment
	}{
		{now.Add(90 * time.Minute), moment{"2026-11-26T14:15:00Z", "14:15 UTC", "in 1h 30m"}},
		{now.In(east).Add(12 * time.Hour), moment{"2026-11-27T00:45:00Z", "Nov 27 00:45 UTC", "in 12h 0m"}},
		{now.AddDate(0, 0, -2), moment{"2026-11-24T12:45:00Z", "Nov 24 12:45 UTC", "2d 0h ago"}},
		{now.AddDate(0, 1, 7), moment{"2027-01-02T12:45:00Z", "2027-01-02 12:45 UTC", "in 37d 0h"}},
	} {
		if got := at(tc.t, now.In(east)); got != tc.want {
			t.Errorf("at(%v) = %+v, want %+v", tc.t, got, tc.want)
		}
	}
}

func TestDollars(t *testing.T) {
	for _, tc := range []struct {
		usd  float64
		want string
	}{
		{0, "$0.00"}, {0.004, "$0.00"}, {0.045, "$0.04"}, {40, "$40.00"}, {999.999, "$1,000.00"},
		{1000, "$1,000.00"}, {123456.7, "$123,456.70"}, {1234567, "$1,234,567.00"}, {-3.5, "-$3.50"}, {-0.001, "$0.00"},
	} {
		if got := dollars(tc.usd); got != tc.want {
			t.Errorf("dollars(%v) = %q, want %q", tc.usd, got, tc.want)
		}
	}
}

func TestPreferJSON(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, true},
		{[]string{"*/*"}, false},
		{[]string{"text/html,application/xhtml+xml,*/*;q=0.8"}, false},
		{[]string{"application/json, */*;q=0.1"}, true},
		{[]string{"application/json;q=0.5, text/html"}, false},
		{[]string{"text/html;q=0.2", "application/json;q=0.9"}, true},
		{[]string{"application/json", "text/html"}, false}, // a tie goes to HTML
		{[]string{"application/json;q=oops"}, false},       // unreadable: ignored
		{[]string{";;, application/json"}, true},
	} {
		if got := preferJSON(tc.accept); got != tc.want {
			t.Errorf("preferJSON(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// TestNewWindow formats the windows the fixed snapshot has no example of.
func TestNewWindow(t *testing.T) {
	block := span{Start: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name string
		u    authpool.UsageWindow
		want window
	}{
		{"no block running", authpool.UsageWindow{BudgetUSD: 140},
			window{Key: "block", Label: "5-hour block", Bar: true, Width: "0", Level: "ok", Used: "$0.00 of $140.00",
				Percent: "0%", Span: "none running: the next request starts one"}},
		{"reported, no budget", authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 1.5, Percent: 91.25, ReportedPercent: 91.25},
			window{Key: "block", Label: "5-hour block", Bar: true, Width: "91.25", Level: "high", Used: "$1.50, no budget",
				Percent: "91.3%", Reported: "91.3% reported by Anthropic", Span: "10:00–15:00 UTC",
				Reset: &moment{"2026-11-26T15:00:00Z", "15:00 UTC", "in 2h 15m"}}},
		{"just at the 80 % alert", authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 112, BudgetUSD: 140, Percent: 80,
			ExhaustsAt: now.Add(10 * time.Minute)},
			window{Key: "block", Label: "5-hour block", Bar: true, Width: "80", Level: "warn", Used: "$112.00 of $140.00",
				Percent: "80%", Span: "10:00–15:00 UTC", Reset: &moment{"2026-11-26T15:00:00Z", "15:00 UTC", "in 2h 15m"},
				Exhausts: &moment{"2026-11-26T12:55:00Z", "12:55 UTC", "in 10m"}}},
		{"far over", authpool.UsageWindow{Start: block.Start, End: block.End, Active: true, CostUSD: 420, BudgetUSD: 140, Percent: 300, ExhaustsAt: now},
			window{Key: "block", Label: "5-hour block", Bar: true, Width: "100", Level: "full", Used: "$420.00 of $140.00",
				Percent: "300%", Span: "10:00–15:00 UTC", Reset: &moment{"2026-11-26T15:00:00Z", "15:00 UTC", "in 2h 15m"},
				Spent: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, newWindow("block", "5-hour block", tc.u, now)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSessionsCapped: the page lists the first maxSessions sessions and
// says how many more there are.
func TestSessionsCapped(t *testing.T) {
	snap := authpool.Snapshot{Time: now}
	for i := range maxSessions + 7 {
		snap.Sessions = append(snap.Sessions, authpool.SessionStatus{ClientID: fmt.Sprintf("c%03d", i), LastActive: now})
	}
	p := newPage(snap, authpool.Stats{}, 0)
	if len(p.Sessions) != maxSessions || p.MoreSessions != 7 {
		t.Errorf("%d sessions and %d more, want %d and 7", len(p.Sessions), p.MoreSessions, maxSessions)
	}
	var b strings.Builder
	if err := pageTemplate.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"and 7 more (the JSON lists them all)", "No subscriptions.", "0 subscriptions: none · 107 sessions"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// span is a window's bounds, as UsageWindow holds them.
type span struct{ Start, End time.Time }

// TestNewCallerRow formats the callers the fixed ones have no example of.
func TestNewCallerRow(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    callerreport.Report
		want callerRow
	}{
		{"capped, nothing spent", callerreport.Report{ID: "idle", Cap: &callerreport.CapUse{USD: 5, WindowHours: 1},
			Windows: []callerreport.Window{{Name: "day"}, {Name: "week"}}},
			callerRow{ID: "idle", Bar: true, Width: "0", Level: "ok", Percent: "0%", Cap: "$0.00 of $5.00 in 1 hour",
				Falls: "falls at", Today: "$0.00 · 0 requests", Week: "$0.00 · 0 requests"}},
		{"just at the 80 % alert", callerreport.Report{ID: "ci", Cap: &callerreport.CapUse{USD: 20, WindowHours: 5, UsedUSD: 16, Share: 0.8,
			Resets: now.Add(time.Hour)}, Windows: []callerreport.Window{{Name: "day", Requests: 1, CostUSD: 16}}, SessionCount: 1, LastActive: now},
			callerRow{ID: "ci", Bar: true, Width: "80", Level: "warn", Percent: "80%", Cap: "$16.00 of $20.00 in 5 hours",
				Falls: "falls at", Resets: &moment{"2026-11-26T13:45:00Z", "13:45 UTC", "in 1h 0m"}, Today: "$16.00 · 1 request",
				Sessions: 1, LastActive: &moment{"2026-11-26T12:45:00Z", "12:45 UTC", "now"}}},
		{"exactly spent", callerreport.Report{ID: "ci", Cap: &callerreport.CapUse{USD: 20, WindowHours: 5, UsedUSD: 20, Share: 1,
			Resets: now.Add(15 * time.Minute)}},
			callerRow{ID: "ci", Bar: true, Width: "100", Level: "full", Percent: "100%", Cap: "$20.00 of $20.00 in 5 hours",
				Falls: "frees up at", Resets: &moment{"2026-11-26T13:00:00Z", "13:00 UTC", "in 15m"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, newCallerRow(tc.r, now)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCallersCapped: the page lists the first maxCallers callers, says how
// many more there are, and counts them all in its summary.
func TestCallersCapped(t *testing.T) {
	var reports []callerreport.Report
	for i := range maxCallers + 3 {
		reports = append(reports, callerreport.Report{ID: fmt.Sprintf("c%03d", i)})
	}
	p := newPage(authpool.Snapshot{Time: now}, authpool.Stats{}, 0)
	p.addCallers(reports, nil, now)
	if len(p.Callers.Rows) != maxCallers || p.Callers.More != 3 {
		t.Errorf("%d callers and %d more, want %d and 3", len(p.Callers.Rows), p.Callers.More, maxCallers)
	}
	var b strings.Builder
	if err := pageTemplate.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"and 3 more (the JSON lists them all)", "0 subscriptions: none · 0 sessions · 203 callers"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	p = newPage(authpool.Snapshot{Time: now}, authpool.Stats{}, 0)
	p.addCallers(nil, nil, now)
	b.Reset()
	if err := pageTemplate.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No callers.") {
		t.Errorf("a page of no callers does not say so")
	}
}
