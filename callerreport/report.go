// Package callerreport says what the callers a proxy keeps in a store
// (store.CallerStore) have used: for each caller, its cap and the share of
// it used, its requests, tokens and cost over a few windows (its cap's, the
// last five hours, the UTC day, the week) and per Claude Code session.
//
// One report feeds every view of the callers: the server's admin API
// returns it as JSON (Report's fields say its shape), package metrics
// exports it to Prometheus (metrics.WithCallers), and the status page shows
// it as a table (statuspage.WithCallers). It reads the store only, so every
// proxy sharing the store reports the same numbers; the refusals it may
// carry are the one proxy's that counted them.
//
// docs/callers.md describes the report and its JSON.
package callerreport

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool/store"
)

// DefaultCapWindowHours is the cap window of a caller whose CapWindowHours
// is 0: 5 hours, as claude/proxy applies it.
const DefaultCapWindowHours = 5

// The names of a report's windows.
const (
	// WindowCap is the cap's window: its CapWindowHours up to now. Only a
	// capped caller's report has one.
	WindowCap = "cap"
	// Window5h is the last 5 hours, the length of a subscription's block.
	Window5h = "5h"
	// WindowDay is the UTC day so far.
	WindowDay = "day"
	// WindowWeek is the week the store keeps (store.WeekHours hours).
	WindowWeek = "week"
)

// Report is what one caller has used, at one instant. Its JSON is the
// admin API's usage report (GET /admin/v1/callers/{id}/usage).
type Report struct {
	// ID is the caller's.
	ID string `json:"id"`
	// At is the instant the report was made for.
	At time.Time `json:"at"`
	// Cap is the caller's cap and its use; nil for a caller without one.
	Cap *CapUse `json:"cap"`
	// Windows are the caller's totals over its cap's window (when it has a
	// cap), the last 5 hours, the UTC day and the week, in that order.
	Windows []Window `json:"windows"`
	// SessionCount is how many of the caller's sessions were charged in the
	// week; LastActive is when the latest charge happened (zero if none).
	SessionCount int       `json:"sessionCount"`
	LastActive   time.Time `json:"lastActive,omitzero"`
	// Sessions are those sessions' totals, the most recently charged first
	// (at most store.MaxCallerSessions). A report of one caller (Of,
	// Source.Report) has them; a list of every caller (All,
	// Source.Reports) leaves them out, counted in SessionCount.
	Sessions []Session `json:"sessions,omitempty"`
	// Refusals counts, by reason, the caller's requests a proxy refused
	// since it started (see Source.Refusals): that proxy's alone. Nil
	// when the report has no refusals to tell.
	Refusals map[string]int64 `json:"refusals,omitempty"`
}

// CapUse is a caller's cap and how much of it is used.
type CapUse struct {
	// USD is the cap, over a rolling window of WindowHours whole hours up
	// to now's (the hour of now and the WindowHours-1 before it), as the
	// store admits the caller's requests (store.CallerStore.AdmitCaller).
	USD         float64 `json:"usd"`
	WindowHours int     `json:"windowHours"`
	// UsedUSD is what the caller spent in the window, and Share UsedUSD
	// over USD (1 or more: the cap is spent, and the caller refused).
	UsedUSD float64 `json:"usedUSD"`
	Share   float64 `json:"share"`
	// Resets is when Share next falls (store.Admission.Reset): when spent,
	// the start of the hour at which enough spending has left the window
	// for it to be under the cap again; otherwise when the oldest spending
	// in the window leaves it. Zero when nothing was spent in the window.
	Resets time.Time `json:"resets,omitzero"`
}

// Window is what a caller used in one window, made of whole hours: from
// Start, the start of its first hour, to now, within the current hour.
type Window struct {
	// Name is WindowCap, Window5h, WindowDay or WindowWeek.
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	// Hours is how many hours it spans, the current one included.
	Hours    int          `json:"hours"`
	Requests int64        `json:"requests"`
	Tokens   store.Tokens `json:"tokens"`
	CostUSD  float64      `json:"costUSD"`
}

// Session is what one of the caller's sessions used: its totals since its
// first charge the store keeps.
type Session struct {
	// Session is Claude Code's session id; "" counts the requests that
	// named none.
	Session string `json:"session"`
	// First and Last are when its first and latest charges happened.
	First    time.Time    `json:"first"`
	Last     time.Time    `json:"last"`
	Requests int64        `json:"requests"`
	Tokens   store.Tokens `json:"tokens"`
	CostUSD  float64      `json:"costUSD"`
}

// Window returns the report's window of that name, and whether it has one.
func (r Report) Window(name string) (Window, bool) {
	for _, w := range r.Windows {
		if w.Name == name {
			return w, true
		}
	}
	return Window{}, false
}

// Of returns the report of caller id at now, with its sessions. It reads
// the caller, its hourly totals and its sessions of the week up to now. An
// ID that is not one is refused with an error wrapping store.ErrInvalid; a
// caller the store does not have is store.ErrNotFound.
func Of(ctx context.Context, cs store.CallerStore, id string, now time.Time) (Report, error) {
	if err := check(cs, now); err != nil {
		return Report{}, err
	}
	if err := store.CheckCallerID(id); err != nil {
		return Report{}, fmt.Errorf("callerreport: %w", err)
	}
	c, err := cs.Caller(ctx, id)
	if err != nil {
		return Report{}, fmt.Errorf("callerreport: caller %q: %w", id, err)
	}
	return build(ctx, cs, c, now, true)
}

// check refuses a report without a store or a time.
func check(cs store.CallerStore, now time.Time) error {
	switch {
	case cs == nil:
		return fmt.Errorf("callerreport: %w: no caller store", store.ErrInvalid)
	case now.IsZero():
		return fmt.Errorf("callerreport: %w: now is zero: say when the report is for", store.ErrInvalid)
	}
	return nil
}

// build makes the report of caller c at now, with its sessions' list when
// sessions is set.
func build(ctx context.Context, cs store.CallerStore, c store.Caller, now time.Time, sessions bool) (Report, error) {
	now = now.UTC()
	h := store.HourOf(now)
	week := h - store.WeekHours + 1
	buckets, err := cs.CallerUsage(ctx, c.ID, week, h)
	if err != nil {
		return Report{}, fmt.Errorf("callerreport: caller %q: usage: %w", c.ID, err)
	}
	sess, err := cs.CallerSessions(ctx, c.ID, week, h)
	if err != nil {
		return Report{}, fmt.Errorf("callerreport: caller %q: sessions: %w", c.ID, err)
	}
	r := Report{ID: c.ID, At: now, SessionCount: len(sess)}
	capHours := int64(c.CapWindowHours)
	if capHours <= 0 {
		capHours = DefaultCapWindowHours
	}
	if c.Cap > 0 {
		r.Windows = append(r.Windows, window(WindowCap, buckets, h-capHours+1, h))
		r.Cap = capUse(c.Cap, int(capHours), buckets, h)
	}
	day := store.HourOf(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC))
	r.Windows = append(r.Windows, window(Window5h, buckets, h-4, h), window(WindowDay, buckets, day, h),
		window(WindowWeek, buckets, week, h))
	for _, s := range sess {
		if s.Last.After(r.LastActive) {
			r.LastActive = s.Last.UTC()
		}
		if sessions {
			r.Sessions = append(r.Sessions, Session{Session: s.Session, First: s.First.UTC(), Last: s.Last.UTC(),
				Requests: s.Requests, Tokens: s.Tokens, CostUSD: s.Cost.USD()})
		}
	}
	return r, nil
}

// window sums the hourly totals of hours [from, to].
func window(name string, buckets []store.Bucket, from, to int64) Window {
	w := Window{Name: name, Start: store.HourStart(from), Hours: int(to - from + 1)}
	var cost store.Nanodollars
	for _, b := range buckets {
		if b.Hour < from || b.Hour > to {
			continue
		}
		w.Requests += b.Requests
		w.Tokens.Add(b.Tokens)
		cost += b.Cost
	}
	w.CostUSD = cost.USD()
	return w
}

// capUse is the use of a cap of budget over hours hours up to hour h, as
// the store's AdmitCaller counts it.
func capUse(budget store.Nanodollars, hours int, buckets []store.Bucket, h int64) *CapUse {
	from := h - int64(hours) + 1
	var spent []store.Bucket
	var used store.Nanodollars
	for _, b := range buckets {
		if b.Hour >= from && b.Hour <= h {
			spent = append(spent, b)
			used += b.Cost
		}
	}
	return &CapUse{USD: budget.USD(), WindowHours: hours, UsedUSD: used.USD(),
		Share: float64(used) / float64(budget), Resets: store.WindowReset(spent, used, budget, hours)}
}
