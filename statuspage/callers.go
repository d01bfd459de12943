package statuspage

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
)

// CallerSource gives the page the reports of a proxy's callers kept in a
// store: *callerreport.Source is one. The Handler calls Reports once per
// request, after the snapshot, under the same timeout.
type CallerSource interface {
	Reports(ctx context.Context) ([]callerreport.Report, error)
}

// WithCallers adds a proxy's stored callers to the page — a table of each
// caller's cap use (a bar, as a subscription's windows), requests and cost
// today and this week, sessions and last activity — and to the JSON, as
// "callers". When the reports fail, the page and the JSON say so and show
// the pool all the same. Without it the page has no callers.
func WithCallers(src CallerSource) Option { return func(h *Handler) { h.callers = src } }

// maxCallers caps the callers the page lists; the JSON has them all.
const maxCallers = 200

// withCallers is the JSON of a snapshot with the callers.
type withCallers struct {
	authpool.Snapshot
	Callers []callerreport.Report `json:"callers"`
	// CallersError says the callers could not be read; Callers is then
	// null.
	CallersError string `json:"callersError,omitempty"`
}

// callersUnavailable is what the page and the JSON say when the reports
// failed (the error itself goes to the log).
const callersUnavailable = "the callers could not be read right now"

// callerTable is the page's table of callers.
type callerTable struct {
	Rows        []callerRow
	More        int
	Unavailable string
}

// callerRow is one caller as the table shows it.
type callerRow struct {
	ID string
	// Bar says the caller has a cap; Width fills its bar, 0 to 100, and
	// Level colours it as a window's (ok, warn, high, full).
	Bar                   bool
	Width, Level, Percent string
	Cap                   string // "$8.50 of $20.00 in 5 h", or "no cap"
	Falls                 string // "falls at" or "frees up at": what Resets is
	Resets                *moment
	Today, Week           string // "$8.50 · 14 requests"
	Sessions              int
	LastActive            *moment
}

// addCallers puts the callers' reports (or that they failed, err) on the
// page, at the snapshot's time now, and counts them in its summary.
func (p *page) addCallers(reports []callerreport.Report, err error, now time.Time) {
	if err != nil {
		p.Callers = &callerTable{Unavailable: callersUnavailable}
		return
	}
	p.Summary += " · " + plural(len(reports), "caller")
	t := &callerTable{Rows: make([]callerRow, 0, min(len(reports), maxCallers))}
	for i, r := range reports {
		if i == maxCallers {
			t.More = len(reports) - maxCallers
			break
		}
		t.Rows = append(t.Rows, newCallerRow(r, now))
	}
	p.Callers = t
}

// newCallerRow formats one caller's report.
func newCallerRow(r callerreport.Report, now time.Time) callerRow {
	row := callerRow{ID: r.ID, Cap: "no cap", Sessions: r.SessionCount, LastActive: atPtr(r.LastActive, now)}
	if c := r.Cap; c != nil {
		share := 100 * c.Share
		row.Bar, row.Percent, row.Level = true, percent(share)+"%", level(share)
		row.Width = strconv.FormatFloat(math.Round(100*min(max(share, 0), 100))/100, 'f', -1, 64)
		row.Cap = dollars(c.UsedUSD) + " of " + dollars(c.USD) + " in " + plural(c.WindowHours, "hour")
		row.Resets, row.Falls = atPtr(c.Resets, now), "falls at"
		if c.Share >= 1 {
			row.Falls = "frees up at"
		}
	}
	if w, ok := r.Window(callerreport.WindowDay); ok {
		row.Today = dollars(w.CostUSD) + " · " + plural(int(w.Requests), "request")
	}
	if w, ok := r.Window(callerreport.WindowWeek); ok {
		row.Week = dollars(w.CostUSD) + " · " + plural(int(w.Requests), "request")
	}
	return row
}

// level colours a bar filled to p percent: green, amber from 80 %, orange
// from 90 %, red when spent — the thresholds of the alerts.
func level(p float64) string {
	switch {
	case p >= 100:
		return "full"
	case p >= 90:
		return "high"
	case p >= 80:
		return "warn"
	}
	return "ok"
}
