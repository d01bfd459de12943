package authpool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/authpool/authpool/store"
)

// RebalanceReport is what one Rebalance did.
type RebalanceReport struct {
	Time time.Time `json:"time"`
	// Moves are the idle clients moved, in the order they moved.
	Moves []Move `json:"moves"`
	// Released are the stale sessions released, ordered by client ID.
	Released []SessionStatus `json:"released"`
	// Credentials are the refreshes of expiring credentials it tried (with
	// WithRefresher; see RefreshCredentials). Their failures do not make
	// Rebalance fail.
	Credentials []CredentialRefresh `json:"credentials,omitempty"`
}

// Move is one client moved: by Rebalance (its report and an
// EventRotation), or by Allocate off a subscription that could no longer
// take it (an EventFailover).
type Move struct {
	ClientID string `json:"clientId"`
	// From is the subscription the client left ("" for a new client).
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// FromBlockUSD and ToBlockUSD are the two subscriptions' block costs,
	// FromBudgetUSD and ToBudgetUSD their block budgets (0: none), for a
	// move by Rebalance: To's block had at least Rebalance.MinGapUSD more
	// room left than From's. A failover leaves them 0.
	FromBlockUSD  float64 `json:"fromBlockUSD,omitempty"`
	FromBudgetUSD float64 `json:"fromBudgetUSD,omitempty"`
	ToBlockUSD    float64 `json:"toBlockUSD,omitempty"`
	ToBudgetUSD   float64 `json:"toBudgetUSD,omitempty"`
	Reason        Reason  `json:"reason"`
}

// Rebalance releases stale sessions (idle for Sessions.StaleAfter, and no
// longer holding a slot) and then moves idle clients (idle for
// Sessions.IdleAfter, and no longer holding a slot: a client whose last
// request wrote 1-hour prompt cache keeps its place for the hour) from the
// subscription whose block has the least room left (block budget minus
// block cost) to the eligible one with the most, while the gap is at least
// Rebalance.MinGapUSD, at most Rebalance.MaxMoves a call. Between
// subscriptions with equal block budgets, or none, that is from the
// highest block cost to the lowest; a subscription without a block budget
// has more room than any with one. Moving a client whose prompt cache
// expired costs nothing and sends its next requests where there is room; a
// client whose cache is warm is moved only off a subscription whose block
// or week is forecast, at its burn rate, to be spent before the cache
// expires: the client would have to move then, rewriting its cache all the
// same. Moving a client back takes a gap as large the other way. A moved
// client holds no slot on its new subscription until it comes back. A
// client that becomes active meanwhile is neither moved nor released.
// First, with WithRefresher, it refreshes the credentials about to expire,
// as RefreshCredentials does. The host calls Rebalance on its own schedule,
// e.g. every minute.
//
// Rebalance judges the blocks by the pool's view of the subscriptions, read
// again from the store when it is older than Config.RefreshInterval, as for
// every other call (the pool's own usage is in it at once): another
// process's usage of the last RefreshInterval may be missing, which can
// only make it pick a less than best pair, since the store checks every
// move's conditions. It finds stale and idle sessions through the store's
// index by last activity, a page at a time: its work grows with the
// sessions it can release or move, not with every session.
func (p *Pool) Rebalance(ctx context.Context) (RebalanceReport, error) {
	if err := p.usable(); err != nil {
		return RebalanceReport{}, err
	}
	now := p.now()
	report := RebalanceReport{Time: now}
	if err := p.refresh(ctx, now, false); err != nil {
		return report, fmt.Errorf("authpool: rebalance: %w", err)
	}
	if p.refresher != nil {
		report.Credentials = p.refreshCredentials(ctx, now) // failures are logged, reported and retried
	}
	if err := p.releaseStale(ctx, now, &report); err != nil {
		return report, fmt.Errorf("authpool: rebalance: %w", err)
	}
	if err := p.moveIdle(ctx, now, &report); err != nil {
		return report, fmt.Errorf("authpool: rebalance: %w", err)
	}
	for _, m := range report.Moves {
		p.log.LogAttrs(ctx, slog.LevelInfo, "authpool: rebalanced", slog.String("client", m.ClientID),
			slog.String("from", m.From), slog.String("to", m.To),
			slog.Float64("fromBlockUSD", m.FromBlockUSD), slog.Float64("toBlockUSD", m.ToBlockUSD))
	}
	for _, r := range report.Released {
		p.log.LogAttrs(ctx, slog.LevelInfo, "authpool: released stale session", slog.String("client", r.ClientID),
			slog.String("subscription", r.SubscriptionID), slog.Time("lastActive", r.LastActive))
	}
	return report, nil
}

// stalePage is how many stale sessions releaseStale reads at a time.
const stalePage = 256

// releaseStale releases the sessions idle for StaleAfter that no longer
// hold a slot, reading them a page at a time, oldest first: its work grows
// with the sessions it releases (and the few that hold a slot), not with
// every session.
func (p *Pool) releaseStale(ctx context.Context, now time.Time, report *RebalanceReport) error {
	staleSince := now.Add(-time.Duration(p.cfg.Sessions.StaleAfter))
	q := store.SessionQuery{ActiveBefore: staleSince.Add(time.Nanosecond), HoldEndedBy: now, Limit: stalePage}
	first := len(report.Released)
	defer func() {
		slices.SortFunc(report.Released[first:], func(a, b SessionStatus) int { return cmp.Compare(a.ClientID, b.ClientID) })
	}()
	tried := make(map[string]bool)
	for {
		stale, err := p.store.Sessions(ctx, q)
		if err != nil {
			return err
		}
		fresh := 0 // sessions this page met for the first time
		for _, s := range stale {
			if tried[s.ClientID] {
				continue
			}
			tried[s.ClientID] = true
			fresh++
			if s.HoldUntil.After(now) {
				continue // its prompt cache lives on: it keeps its place (a store that ignores HoldEndedBy)
			}
			released, err := p.store.Release(ctx, s.ClientID, staleSince)
			switch {
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
				continue // active again, or gone meanwhile
			case err != nil:
				return err
			}
			p.noteMove(released.SubscriptionID, "", released.HoldUntil, time.Time{}, now, false)
			p.counters.staleReleases.Add(1)
			report.Released = append(report.Released, p.sessionStatus(released, now))
		}
		// A full page asks for the next one: the sessions it released are
		// gone, and those it could not release are no longer stale (a
		// session met again is one another process holds back: stop).
		if len(stale) < q.Limit || fresh == 0 {
			return nil
		}
	}
}

// pair is a move Rebalance considers: from the dearest block to the cheapest.
type pair struct {
	from, to             string
	fromCost, toCost     store.Nanodollars
	fromBudget, toBudget store.Nanodollars
	gap                  store.Nanodollars // room(to) - room(from)
	// runsOut is when from's block or week is forecast to be spent at its
	// burn rate (zero: not before they end): a client whose prompt cache
	// lives past it would have to move then, rewriting it all the same.
	runsOut time.Time
}

// moveIdle moves idle clients from dear blocks to cheap ones.
func (p *Pool) moveIdle(ctx context.Context, now time.Time, report *RebalanceReport) error {
	idleSince := now.Add(-time.Duration(p.cfg.Sessions.IdleAfter))
	gap, _ := store.FromUSD(p.cfg.Rebalance.MinGapUSD)
	drained := make(map[string]bool) // sources without an idle client left to move
	skip := make(map[string]bool)    // clients that became active meanwhile
	for range 4 * (p.cfg.Rebalance.MaxMoves + 1) {
		if len(report.Moves) >= p.cfg.Rebalance.MaxMoves {
			return nil
		}
		pr, ok := p.tightestPair(drained, now)
		if !ok || pr.gap < gap {
			return nil
		}
		q := store.SessionQuery{
			SubscriptionID: pr.from, ActiveBefore: idleSince.Add(time.Nanosecond), HoldEndedBy: now,
			Limit: p.cfg.Rebalance.MaxMoves + len(skip),
		}
		if !pr.runsOut.IsZero() {
			q.HoldEndedBy = time.Time{} // warm ones too: see movable
		}
		idle, err := p.store.Sessions(ctx, q)
		if err != nil {
			return err
		}
		moved, retarget, holding := false, false, false
		for _, s := range idle {
			if skip[s.ClientID] {
				continue
			}
			if !movable(s.HoldUntil, pr.runsOut, now) {
				// Its prompt cache lives on: it keeps its place. Ask again
				// for one more past it before calling the source drained.
				skip[s.ClientID], holding = true, true
				continue
			}
			_, err := p.store.Assign(ctx, store.Assignment{
				ClientID: s.ClientID, SubscriptionID: pr.to, From: pr.from, IdleSince: idleSince, Now: now,
			})
			switch {
			case errors.Is(err, store.ErrConflict):
				skip[s.ClientID] = true
				continue
			case errors.Is(err, store.ErrFull), errors.Is(err, store.ErrInactive), errors.Is(err, store.ErrNotFound):
				if err := p.reload(ctx, pr.to, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				retarget = true
			case err != nil:
				return err
			default:
				moved = true
				p.noteMove(pr.from, pr.to, s.HoldUntil, time.Time{}, now, false)
				p.counters.moves.Add(1)
				m := Move{
					ClientID: s.ClientID, From: pr.from, To: pr.to,
					FromBlockUSD: pr.fromCost.USD(), FromBudgetUSD: pr.fromBudget.USD(),
					ToBlockUSD: pr.toCost.USD(), ToBudgetUSD: pr.toBudget.USD(), Reason: ReasonBlockGap,
				}
				p.emitMove(EventRotation, now, m)
				report.Moves = append(report.Moves, m)
			}
			break
		}
		if !moved && !retarget && !holding {
			drained[pr.from] = true
		}
	}
	return nil
}

// blockRoomOf returns what Rebalance weighs of a subscription at now. mu
// must be held, and sv's pending usage folded.
func (p *Pool) blockRoomOf(sv *subView, now time.Time, drained bool) blockRoom {
	return blockRoom{
		room: roomLeft(sv.use(now).block, sv.rec.BlockBudget), clients: sv.rec.Clients,
		drained: drained, takes: p.why(sv, now) == "",
	}
}

// tightestPair returns the pair of subscriptions Rebalance moves an idle
// client between at now (see pairFor), the drained ones not as a source.
func (p *Pool) tightestPair(drained map[string]bool, now time.Time) (pair, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	subs := p.current().subs
	rooms := make([]blockRoom, len(subs))
	nowHour := store.HourOf(now)
	for i, sv := range subs {
		p.rejudge(sv, now, nowHour) // a view read before the hour turned holds the numbers of that hour
		p.fold(sv)
		rooms[i] = p.blockRoomOf(sv, now, drained[sv.rec.ID])
	}
	i, j, ok := pairFor(rooms)
	if !ok {
		return pair{}, false
	}
	from, to := subs[i], subs[j]
	return pair{
		from: from.rec.ID, to: to.rec.ID, fromCost: from.use(now).block, toCost: to.use(now).block,
		fromBudget: from.rec.BlockBudget, toBudget: to.rec.BlockBudget, gap: rooms[j].room - rooms[i].room,
		runsOut: p.runsOut(from, now),
	}, true
}

// runsOut returns when sv's block or week is forecast to be spent at its
// burn rate, the earlier of the two; zero if neither is before it ends. A
// subscription none of whose clients was active within Sessions.IdleAfter
// is not burning: what it spent lately was its idle clients' work. mu must
// be held, and sv's pending usage folded.
func (p *Pool) runsOut(sv *subView, now time.Time) time.Time {
	u, rate := sv.use(now), sv.burnRate(now)
	if p.idle(sv, now.UnixNano()) {
		rate = 0
	}
	block := time.Time{}
	if sv.m.blockActive {
		block = exhaustion(now, u.block, sv.rec.BlockBudget, rate, sv.m.block.End)
	}
	week := weekExhaustion(sv.ring, now, u.week, sv.rec.WeeklyBudget, rate, sv.rec.Reported.WeekReset)
	if block.IsZero() || !week.IsZero() && week.Before(block) {
		return week
	}
	return block
}

// movable reports whether Rebalance may move an idle client whose hold on
// its slot (its prompt cache's life) ends at hold, off a subscription
// forecast to run out at runsOut (zero: not), at now: once its cache
// expired, or while it is warm if the subscription runs out first, when
// the client would have to move and rewrite its cache anyway.
func movable(hold, runsOut, now time.Time) bool {
	return !hold.After(now) || !runsOut.IsZero() && runsOut.Before(hold)
}
