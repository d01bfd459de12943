package transcript

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// Warmed is what WarmPool charged: entries of docs/formats.md §3.
type Warmed struct {
	// Charged counts the entries the pool accepted, CostUSD their cost:
	// those charged now and those it had already recorded under their ID
	// (Charge answers nil for a duplicate, which counts nothing; the
	// pool's Stats.DuplicateRecords tells them apart), so warming twice
	// reports the same figures twice. Refused counts the entries the pool
	// refused as invalid (its week ends at its own clock, which may be
	// ahead of now).
	Charged int     `json:"charged"`
	CostUSD float64 `json:"costUSD"`
	Refused int     `json:"refused"`
	// TooOld counts the entries the pool refused with
	// authpool.ErrUsageTooOld: older than the usage IDs its store still
	// remembers, so they may have been charged already (raise
	// Config.UsageIDMemoryMiB to warm a busier week).
	TooOld int `json:"tooOld"`
}

// WarmPool charges subscriptionID with the report's entries of the week
// before now (Recent), one Pool.Charge per entry rather than per hour, so
// that the pool starts with what the subscription already spent this block
// and this week, to the entry. Entries of no tokens and no cost are left
// out. Each charge carries the entry's ID (its message id, docs/formats.md §3):
// charging the same entries again, or entries the pool already recorded
// from the API, counts them once, and entries written since count when
// warmed again. The pool remembers an ID for Config.RememberUsageIDs after
// its entry's time (the week, by default, in a store that may outlive the
// process) within Config.UsageIDMemoryMiB; an entry older than what it
// still tells apart is not charged, and is counted in TooOld. It stops at
// the first error other than a refused entry.
func WarmPool(ctx context.Context, p *authpool.Pool, subscriptionID string, r *Report, now time.Time) (Warmed, error) {
	var w Warmed
	from := (store.HourOf(now) - store.WeekHours + 1) * 3600
	for _, e := range r.Recent {
		if e.Time.Unix() < from || e.Time.Sub(now) > bounds.MaxClockSkew || e.CostUSD == 0 && e.Counts.Total() == 0 {
			continue
		}
		err := p.Charge(ctx, subscriptionID, e.Usage())
		switch {
		case errors.Is(err, authpool.ErrInvalidArgument):
			w.Refused++
		case errors.Is(err, authpool.ErrUsageTooOld):
			w.TooOld++
		case err != nil:
			return w, fmt.Errorf("claude: warm %q: %w", subscriptionID, err)
		default:
			w.Charged++
			w.CostUSD += e.CostUSD
		}
	}
	return w, nil
}
