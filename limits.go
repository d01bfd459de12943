package authpool

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// AllocateOption tells Allocate something about the client's next requests.
type AllocateOption struct {
	model     string
	elsewhere []string // Elsewhere's
}

// ForModel tells Allocate the model the client's next requests use: a
// subscription limited for that model (MarkModelLimited) neither keeps nor
// takes the client for them.
func ForModel(model string) AllocateOption { return AllocateOption{model: model} }

// modelOf returns the model the options name, or "".
func modelOf(opts []AllocateOption) string {
	for i := len(opts) - 1; i >= 0; i-- {
		if opts[i].model != "" {
			return opts[i].model
		}
	}
	return ""
}

// ReasonTried is why Elsewhere moved a client: its request failed on the
// subscription it left (or, in an ExhaustedError, why a subscription in
// service did not take it).
const ReasonTried Reason = "tried for the request"

// Elsewhere tells Allocate that the client's request failed on the
// subscriptions named (the ones it was tried on), for a reason that is not
// theirs to keep: a 429 that names no limit, say, which leaves them in
// service for everyone else. The call neither keeps nor places the client
// on them: it moves the client to the best other eligible subscription
// (Outcome OutcomeMoved, Reason ReasonTried), and when no other is eligible
// it leaves the client where it is, so the caller sees a subscription it
// already tried and knows there is nowhere else. A client whose
// subscription is out of service is placed as always, never on the
// subscriptions named. Package claude's Transport and Runner give it when
// they send a failed request again.
func Elsewhere(subscriptionIDs ...string) AllocateOption {
	return AllocateOption{elsewhere: subscriptionIDs}
}

// elsewhereOf returns the subscriptions the options rule out, or nil.
func elsewhereOf(opts []AllocateOption) []string {
	for i := len(opts) - 1; i >= 0; i-- {
		if opts[i].elsewhere != nil {
			return opts[i].elsewhere
		}
	}
	return nil
}

// tried reports whether the request already failed on subscription id.
func (r *request) tried(id string) bool { return slices.Contains(r.elsewhere, id) }

// ModelLimit takes a subscription out of service for one model or model
// family (e.g. "opus") until a time.
type ModelLimit = store.ModelLimit

// MarkModelLimited takes a subscription out of service for one model or
// model family until until: clients that Allocate ForModel a matching model
// (one that contains model at a '-', '/' or ':' boundary, so "opus" covers
// claude-opus-4-5-20251101) go elsewhere; other clients keep it. Use it when
// the upstream rejects one model's weekly window while the subscription's
// 5-hour and 7-day windows are fine. The reason is scrubbed of credentials
// and cut as MarkLimited's is.
func (p *Pool) MarkModelLimited(ctx context.Context, id, model string, until time.Time, reason string) error {
	if err := p.usable(); err != nil {
		return err
	}
	now := p.now()
	switch err := bounds.CheckText("model", model, false); {
	case err != nil:
		return fmt.Errorf("authpool: mark %q limited for a model: %w: %w", id, err, ErrInvalidArgument)
	case !until.After(now):
		return fmt.Errorf("authpool: mark %q limited for %q: until %v is not after now (%v): %w",
			id, model, until.UTC(), now.UTC(), ErrInvalidArgument)
	}
	reason = p.cleanReason(reason)
	l := ModelLimit{Model: strings.ToLower(model), Until: until.UTC(), Reason: reason}
	if err := p.again(ctx, id, func() error { return p.store.SetModelLimit(ctx, id, l, now) }); err != nil {
		return fmt.Errorf("authpool: mark %q limited for %q: %w", id, model, storeError(err))
	}
	// The view takes the store's limits, merged by the store's rule, rather
	// than merging them again; if it cannot read them, the next call reads
	// the whole view.
	if err := p.reload(ctx, id, now); err != nil {
		p.invalidate()
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "authpool: subscription limited for a model", slog.String("subscription", id),
		slog.String("model", l.Model), slog.Time("until", l.Until), slog.String("reason", reason))
	if p.notes != nil {
		key := fmt.Sprintf("limited/%s/%s/%d", id, l.Model, l.Until.Unix())
		p.notes.emit(outgoing{claim: key, until: l.Until, ev: Event{
			ID: eventID(key), Type: EventLimited, Time: now, SubscriptionID: id, Model: l.Model,
			Limit: &Status{State: Limited, Until: l.Until, Reason: reason},
		}})
	}
	return nil
}

// limitedFor reports whether sv is limited for model at now. mu must be
// held.
func limitedFor(sv *subView, model string, now time.Time) bool {
	if model == "" {
		return false
	}
	model = strings.ToLower(model)
	for _, l := range sv.rec.ModelLimits {
		if l.Until.After(now) && containsAtBoundary(model, l.Model) {
			return true
		}
	}
	return false
}

// containsAtBoundary reports whether s holds sub starting and ending at a
// boundary: the ends of s, or '-', '/', ':'.
func containsAtBoundary(s, sub string) bool {
	if sub == "" {
		return false
	}
	boundary := func(i int) bool { return i < 0 || i >= len(s) || strings.IndexByte("-/:", s[i]) >= 0 }
	for from := 0; ; {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return false
		}
		i += from
		if boundary(i-1) && boundary(i+len(sub)) {
			return true
		}
		from = i + 1
	}
}

// maxThrottlePause is the longest pause Throttled imposes.
const maxThrottlePause = 5 * time.Minute

// Throttled pauses a subscription the upstream throttled (a 429 that is not
// a quota): out of service for retryAfter, doubled for each throttle that
// follows the previous pause's end within that pause's length again, up to
// maxThrottlePause. It returns the pause imposed. The count is this pool's
// own. The reason is scrubbed of credentials and cut as MarkLimited's is.
func (p *Pool) Throttled(ctx context.Context, id string, retryAfter time.Duration, reason string) (time.Duration, error) {
	if err := p.usable(); err != nil {
		return 0, err
	}
	now := p.now()
	pause := max(retryAfter, time.Second)
	p.mu.Lock()
	t := p.throttles[id]
	if !t.until.IsZero() && now.Before(t.until.Add(t.pause)) {
		pause = max(pause, 2*t.pause) // throttled again soon after the last pause
	}
	pause = min(pause, maxThrottlePause)
	p.throttles[id] = throttle{until: now.Add(pause), pause: pause}
	p.mu.Unlock()
	if err := p.MarkLimited(ctx, id, now.Add(pause), reason); err != nil {
		return 0, err
	}
	return pause, nil
}

// throttle is a subscription's last throttle pause.
type throttle struct {
	until time.Time
	pause time.Duration
}

// modelLimitEnd returns when sv's limits for model end. mu must be held.
func modelLimitEnd(sv *subView, model string, now time.Time) time.Time {
	var end time.Time
	model = strings.ToLower(model)
	for _, l := range sv.rec.ModelLimits {
		if l.Until.After(now) && containsAtBoundary(model, l.Model) && l.Until.After(end) {
			end = l.Until
		}
	}
	return end
}
