package server

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/store"
)

// pollTimeout bounds one call of the usage endpoint.
const pollTimeout = 30 * time.Second

// usagePoller reads Claude's usage endpoint for the subscriptions that have
// been quiet — nothing reported their windows (a response's rate-limit
// headers, or an earlier poll) for quietFor — and tells the pool what it
// says (Pool.Observe), so that an idle subscription's standing is measured,
// not guessed. Servers sharing a store poll a subscription once between
// them per round: each claims the poll (Store.Claim) first.
type usagePoller struct {
	pool *authpool.Pool
	// store reads the subscriptions with their credentials opened, and
	// holds the claims.
	store  store.Store
	client *oauth.Client
	now    func() time.Time
	log    *slog.Logger

	every, jitter, quietFor time.Duration
}

// polled is what one poll of a subscription found, for tests and logs.
type polled struct {
	id    string
	err   error
	usage oauth.Usage
}

// run polls every every ± jitter until ctx ends; the first round comes
// within jitter of the start.
func (u *usagePoller) run(ctx context.Context) {
	wait := randomIn(0, u.jitter)
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		u.round(ctx)
		wait = u.every + randomIn(-u.jitter, u.jitter)
	}
}

// randomIn returns a duration in [lo, hi].
func randomIn(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

// round polls each quiet subscription this server claims, and returns what
// it polled.
func (u *usagePoller) round(ctx context.Context) []polled {
	recs, err := u.store.Subscriptions(ctx)
	if err != nil {
		u.log.LogAttrs(ctx, slog.LevelWarn, "usage poll: reading the subscriptions failed", slog.String("error", err.Error()))
		return nil
	}
	var out []polled
	for _, rec := range recs {
		now := u.now()
		if !u.due(rec, now) {
			continue
		}
		claimed, err := u.store.Claim(ctx, "usage-poll/"+rec.ID, now, now.Add(u.every-u.jitter))
		if err != nil {
			u.log.LogAttrs(ctx, slog.LevelWarn, "usage poll: claiming failed", slog.String("subscription", rec.ID),
				slog.String("error", err.Error()))
			continue
		}
		if !claimed {
			continue // another server polls it
		}
		p := u.poll(ctx, rec)
		if p.err != nil {
			u.log.LogAttrs(ctx, slog.LevelWarn, "usage poll failed", slog.String("subscription", rec.ID),
				slog.String("error", p.err.Error()))
		}
		out = append(out, p)
	}
	return out
}

// due reports whether rec is polled at now: a subscription logged in with
// OAuth (a refresh token: a claude setup-token cannot read the usage
// endpoint), in service or limited, whose token has not expired (the
// refresher's turn) and that has been quiet for quietFor.
func (u *usagePoller) due(rec store.Subscription, now time.Time) bool {
	switch {
	case rec.ID == authpool.FallbackID, rec.Kind == string(authpool.KindAPI), rec.RefreshToken == "", rec.Credential == "":
		return false
	case rec.Status.State == authpool.Disabled:
		return false
	case !rec.CredentialExpiresAt.IsZero() && !rec.CredentialExpiresAt.After(now):
		return false
	}
	return rec.Reported.At.IsZero() || now.Sub(rec.Reported.At) >= u.quietFor
}

// poll reads one subscription's usage and tells the pool: its 5-hour and
// 7-day windows as an observation, and a spent weekly window of a model
// family (Opus, Sonnet) as a limit of that family until its reset.
func (u *usagePoller) poll(ctx context.Context, rec store.Subscription) polled {
	pctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	usage, err := u.client.Usage(pctx, rec.Credential)
	if err != nil {
		return polled{id: rec.ID, err: err}
	}
	if err := u.pool.Observe(ctx, rec.ID, usage.Observation()); err != nil {
		return polled{id: rec.ID, usage: usage, err: err}
	}
	now := u.now()
	for _, m := range []struct {
		family, name string
		w            *oauth.UsageWindow
	}{{"opus", "Opus", usage.SevenDayOpus}, {"sonnet", "Sonnet", usage.SevenDaySonnet}} {
		if m.w == nil || m.w.Utilization < 100 || !m.w.ResetsAt.After(now) {
			continue
		}
		reason := fmt.Sprintf("the weekly %s limit is spent (%.0f%%, usage endpoint)", m.name, m.w.Utilization)
		if err := u.pool.MarkModelLimited(ctx, rec.ID, m.family, m.w.ResetsAt, reason); err != nil {
			return polled{id: rec.ID, usage: usage, err: err}
		}
	}
	return polled{id: rec.ID, usage: usage}
}
