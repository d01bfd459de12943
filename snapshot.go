package authpool

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authpool/authpool/store"
)

// Snapshot is the pool at one instant, read from the store: every
// subscription with its use, health and status, and every session. It holds
// no secret and marshals to JSON as is.
type Snapshot struct {
	Time          time.Time            `json:"time"`
	Subscriptions []SubscriptionStatus `json:"subscriptions"`
	// Fallback is the fallback's status; nil without a fallback.
	Fallback *SubscriptionStatus `json:"fallback,omitempty"`
	// Sessions are every session; nil when WithoutSessions left them out.
	Sessions []SessionStatus `json:"sessions"`
}

// SubscriptionStatus is a subscription's state and numbers at one instant.
type SubscriptionStatus struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind Kind   `json:"kind"`
	// Status is the effective status: a limit whose time has passed shows as
	// active.
	Status Status `json:"status"`
	// Eligible says whether it takes new clients; Ineligible says why not.
	Eligible   bool    `json:"eligible"`
	Ineligible Reason  `json:"ineligible,omitempty"`
	Health     float64 `json:"health"`
	// HealthTerms are Health broken into its terms: 100 plus their sum,
	// clamped to 0..100, is Health (see HealthWeights).
	HealthTerms HealthTerms `json:"healthTerms"`
	// Clients counts its sessions; ActiveClients those holding a slot (see
	// Pool.Allocate): active within Sessions.IdleAfter, or within the
	// prompt cache's time to live their last request wrote. MaxClients caps
	// ActiveClients.
	Clients       int `json:"clients"`
	ActiveClients int `json:"activeClients"`
	MaxClients    int `json:"maxClients"`
	// Block is the current 5-hour block (zero Window in anchored mode when no
	// block is running), Week the rolling week; Day is the UTC day, for the
	// fallback only.
	Block UsageWindow  `json:"block"`
	Week  UsageWindow  `json:"week"`
	Day   *UsageWindow `json:"day,omitempty"`
	// BurnRateUSDPerHour is the spending of the last 60 minutes: the cost
	// of the usages whose time falls in the current minute or the 59
	// before it, exact to the minute (whichever pool recorded them).
	BurnRateUSDPerHour float64 `json:"burnRateUSDPerHour"`
	// ExhaustsAt is the earliest time a budget runs out at the burn rate
	// (see UsageWindow.ExhaustsAt); zero if none does.
	ExhaustsAt time.Time `json:"exhaustsAt,omitzero"`
	LastActive time.Time `json:"lastActive,omitzero"`
	// CredentialExpiresAt is when its credential expires; zero if it does
	// not (see WithRefresher).
	CredentialExpiresAt time.Time `json:"credentialExpiresAt,omitzero"`
}

// UsageWindow is the spending of one budget period.
type UsageWindow struct {
	// Start and End bound the window: [Start, End).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Active is false for a block in anchored mode when none is running:
	// the next usage starts one (Window is then zero).
	Active bool `json:"active"`
	// CostUSD is what the pool recorded in the window, in Requests
	// requests using Tokens.
	CostUSD   float64 `json:"costUSD"`
	Requests  int64   `json:"requests"`
	Tokens    Tokens  `json:"tokens"`
	BudgetUSD float64 `json:"budgetUSD"` // 0: no budget
	// Percent is the share of the budget used, as a percentage: CostUSD over
	// BudgetUSD, or ReportedPercent when that is more (without a budget,
	// ReportedPercent alone).
	Percent float64 `json:"percent"`
	// ReportedPercent is what the upstream last reported of the window (see
	// Pool.Observe), while that report lasts; 0 otherwise.
	ReportedPercent float64 `json:"reportedPercent,omitempty"`
	// ExhaustsAt is when the budget runs out if spending goes on at the burn
	// rate: before a block or a day ends, and for the rolling week before
	// the spending that leaves it as hours pass makes room again (within a
	// week, then). Zero if it has no budget or does not run out so: "not at
	// this rate", as the status page says. A spent budget shows the
	// snapshot's time.
	ExhaustsAt time.Time `json:"exhaustsAt,omitzero"`
}

// usageWindow describes a window: recorded is the pool's count, used the
// count raised to the upstream's report, share used's share of the budget,
// exhaustsAt when the budget runs out at the burn rate; buckets are the
// subscription's, from whose hours [from, to) it counts the requests and
// tokens.
func usageWindow(w span, recorded, budget store.Nanodollars, share, reported float64, exhaustsAt time.Time,
	buckets []store.Bucket, from, to int64) UsageWindow {
	u := UsageWindow{Start: w.Start, End: w.End, Active: !w.Start.IsZero(), CostUSD: recorded.USD(), BudgetUSD: budget.USD(),
		Percent: 100 * share, ReportedPercent: 100 * reported}
	if budget > 0 {
		u.ExhaustsAt = exhaustsAt
	}
	for _, b := range buckets {
		if b.Hour >= from && b.Hour < to {
			u.Requests += b.Requests
			u.Tokens.Add(b.Tokens)
		}
	}
	return u
}

// SnapshotOption tells Snapshot what to leave out.
type SnapshotOption struct{ withoutSessions bool }

// WithoutSessions leaves the sessions out of a snapshot: its Sessions is
// nil, and the store's sessions are not read. Reading every session is most
// of a snapshot's cost when clients outnumber subscriptions by far, and a
// reader of subscriptions only (package metrics, on every scrape) needs
// none of them.
func WithoutSessions() SnapshotOption { return SnapshotOption{withoutSessions: true} }

// Snapshot reads the pool from the store: subscriptions ordered by ID,
// sessions ordered by client ID, leaving out what opts say.
func (p *Pool) Snapshot(ctx context.Context, opts ...SnapshotOption) (Snapshot, error) {
	if err := p.usable(); err != nil {
		return Snapshot{}, err
	}
	var o SnapshotOption
	for _, opt := range opts {
		o.withoutSessions = o.withoutSessions || opt.withoutSessions
	}
	now := p.now()
	recs, err := p.store.Subscriptions(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("authpool: snapshot: %w", err)
	}
	var sessions []store.Session
	if !o.withoutSessions {
		sessions, err = p.store.Sessions(ctx, store.SessionQuery{})
		if err != nil {
			return Snapshot{}, fmt.Errorf("authpool: snapshot: %w", err)
		}
	}
	snap := Snapshot{Time: now, Subscriptions: make([]SubscriptionStatus, 0, len(recs))}
	if !o.withoutSessions {
		snap.Sessions = make([]SessionStatus, 0, len(sessions))
	}
	ring, mins := new(hourly), new(minutely) // each status's throwaway view loads its usage here in turn
	for _, rec := range recs {
		st := p.subscriptionStatus(rec, now, ring, mins)
		if rec.ID == FallbackID {
			if p.cfg.Fallback != nil {
				snap.Fallback = &st
			}
			continue
		}
		snap.Subscriptions = append(snap.Subscriptions, st)
	}
	slices.SortFunc(sessions, func(a, b store.Session) int { return cmp.Compare(a.ClientID, b.ClientID) })
	for _, s := range sessions {
		snap.Sessions = append(snap.Sessions, p.sessionStatus(s, now))
	}
	return snap, nil
}

// subscriptionStatus derives a subscription's status at now from its record,
// loading its usage into ring and mins, which it may overwrite.
func (p *Pool) subscriptionStatus(rec store.Subscription, now time.Time, ring *hourly, mins *minutely) SubscriptionStatus {
	sv := p.newSubView(rec, now, ring, mins)
	rate := sv.burnRate(now)
	u := sv.use(now)
	status := rec.Status
	if status.InService(now) {
		status = Status{}
	}
	blockEnd := sv.m.block.End
	if !sv.m.blockActive {
		// No block is running: the next usage starts one in this hour.
		blockEnd = store.HourStart(store.HourOf(now) + int64(p.cfg.Block.Hours))
	}
	h := store.HourOf(now)
	n := now.UnixNano()
	st := SubscriptionStatus{
		ID: rec.ID, Name: rec.Name, Kind: Kind(rec.Kind), Status: status,
		Eligible: p.why(sv, now) == "", Ineligible: p.why(sv, now), Health: sv.health,
		HealthTerms: healthTerms(p.healthInput(sv, now, sv.scoredHolding, sv.scoredIdle), p.cfg.Health),
		Clients:     rec.Clients, ActiveClients: sv.holding(n), MaxClients: rec.MaxClients,
		Block: usageWindow(sv.m.block, sv.m.blockCost, rec.BlockBudget, u.blockShare, u.blockReported,
			exhaustion(now, u.block, rec.BlockBudget, rate, blockEnd), rec.Usage, sv.m.blockFrom, min(sv.m.blockTo, h+1)),
		Week: usageWindow(weekWindow(now), sv.m.week, rec.WeeklyBudget, u.weekShare, u.weekReported,
			weekExhaustion(sv.ring, now, u.week, rec.WeeklyBudget, rate, rec.Reported.WeekReset),
			rec.Usage, h-store.WeekHours+1, h+1),
		BurnRateUSDPerHour:  rate,
		LastActive:          rec.LastActive,
		CredentialExpiresAt: rec.CredentialExpiresAt,
	}
	if rec.ID == FallbackID {
		var share float64
		if rec.DailyBudget > 0 {
			share = float64(sv.m.day) / float64(rec.DailyBudget)
		}
		dw := dayWindow(now)
		day := usageWindow(dw, sv.m.day, rec.DailyBudget, share, 0,
			exhaustion(now, sv.m.day, rec.DailyBudget, rate, dw.End), rec.Usage, sv.m.dayFrom, h+1)
		st.Day = &day
	}
	for _, w := range []UsageWindow{st.Block, st.Week, dayOrZero(st.Day)} {
		if !w.ExhaustsAt.IsZero() && (st.ExhaustsAt.IsZero() || w.ExhaustsAt.Before(st.ExhaustsAt)) {
			st.ExhaustsAt = w.ExhaustsAt
		}
	}
	return st
}

func dayOrZero(w *UsageWindow) UsageWindow {
	if w == nil {
		return UsageWindow{}
	}
	return *w
}
