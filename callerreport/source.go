package callerreport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool/store"
)

// MaxReports bounds the callers a list of every caller reports (All,
// Source.Reports): the first MaxReports by ID. Callers are few — an
// operator makes each one — and each costs the list two reads of the store
// and the metrics a few series; the bound keeps a store with more from
// making a scrape or a status page slow.
const MaxReports = 1000

// All returns the reports of every caller at now, ordered by ID, without
// their sessions' lists (each counts its sessions): at most MaxReports. A
// caller removed while the list is made is left out.
func All(ctx context.Context, cs store.CallerStore, now time.Time) ([]Report, error) {
	if err := check(cs, now); err != nil {
		return nil, err
	}
	callers, err := cs.Callers(ctx)
	if err != nil {
		return nil, fmt.Errorf("callerreport: callers: %w", err)
	}
	callers = callers[:min(len(callers), MaxReports)]
	out := make([]Report, 0, len(callers))
	for _, c := range callers {
		r, err := build(ctx, cs, c, now, false)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // removed since Callers
		case err != nil:
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Refusal is a count of one caller's requests a proxy refused for one
// reason (claude/proxy's Proxy.CallerRefusals gives them).
type Refusal struct {
	// Caller is the caller's ID.
	Caller string
	// Reason is why: capped, cap_busy, rate_limited, exhausted, ... (the
	// kind the proxy's log names, with '_' in place of '-').
	Reason string
	Count  int64
}

// Source makes the reports of the callers of one store, at its clock's
// time, with one proxy's refusals: what the admin API, the metrics
// (metrics.WithCallers) and the status page (statuspage.WithCallers) read.
// Its fields must not change once it is in use; it is then safe for
// concurrent use as far as its Store and Refusals are.
type Source struct {
	// Store keeps the callers. Required.
	Store store.CallerStore
	// Now is the clock the reports are made at. The default is time.Now.
	Now func() time.Time
	// Refusals, when set, gives the refusals a proxy counted since it
	// started (Proxy.CallerRefusals), which the reports carry. They are
	// that proxy's: proxies sharing the store each count their own.
	Refusals func() []Refusal
}

// Report returns the report of caller id, with its sessions (see Of).
func (s *Source) Report(ctx context.Context, id string) (Report, error) {
	r, err := Of(ctx, s.Store, id, s.now())
	if err != nil {
		return Report{}, err
	}
	if s.Refusals != nil {
		for _, f := range s.Refusals() {
			if f.Caller == id {
				addRefusal(&r, f)
			}
		}
	}
	return r, nil
}

// Reports returns the reports of every caller, without their sessions'
// lists (see All).
func (s *Source) Reports(ctx context.Context) ([]Report, error) {
	rs, err := All(ctx, s.Store, s.now())
	if err != nil || s.Refusals == nil {
		return rs, err
	}
	byID := make(map[string]int, len(rs))
	for i, r := range rs {
		byID[r.ID] = i
	}
	for _, f := range s.Refusals() {
		if i, ok := byID[f.Caller]; ok {
			addRefusal(&rs[i], f)
		}
	}
	return rs, nil
}

func (s *Source) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// addRefusal counts f in r.
func addRefusal(r *Report, f Refusal) {
	if f.Count <= 0 {
		return
	}
	if r.Refusals == nil {
		r.Refusals = make(map[string]int64)
	}
	r.Refusals[f.Reason] += f.Count
}
