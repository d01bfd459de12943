package claude

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/internal/bounds"
)

// Apply does to the pool what a response made on a subscription says
// (v, from Classify or package cli's Result.Verdict):
//
//   - VerdictQuota: the subscription is limited until v.Until (MarkLimited);
//   - VerdictModelQuota: it is limited for each rejected model family until
//     its reset (MarkModelLimited); a limit naming no family (overage) limits
//     the request's model. Any response's rejected model-scoped windows are
//     applied the same way;
//   - VerdictThrottle: it is paused for v.RetryAfter, longer when throttles
//     repeat (Pool.Throttled);
//   - VerdictOverloaded: it cools down until v.Until (MarkLimited);
//   - VerdictAuth, VerdictBilling: it is disabled until a person enables it
//     (its credential or its account needs attention);
//   - VerdictOK, VerdictRequestScoped, VerdictClientError,
//     VerdictServerError: it stays in service.
//
// In every case the 5-hour and 7-day utilization the response reported
// goes to Pool.Observe, so the pool's estimate follows the upstream's. model
// is the request's model ("" if unknown).
func Apply(ctx context.Context, p *authpool.Pool, subscriptionID string, v Verdict, model string, now time.Time) error {
	if o, ok := v.observation(now); ok {
		if err := p.Observe(ctx, subscriptionID, o); err != nil {
			return fmt.Errorf("claude: apply %s: %w", v.Kind, err)
		}
	}
	reason := v.reason()
	// Model-scoped windows reported rejected, whatever the kind: a response
	// for one model may say another family's week is spent.
	for _, l := range v.ModelLimits {
		family := l.Family
		if family == "" && v.Kind == VerdictModelQuota {
			family = model // overage: the model that needed it
		}
		if family == "" || !l.Until.After(now) {
			continue
		}
		if err := p.MarkModelLimited(ctx, subscriptionID, family, l.Until, reason); err != nil {
			return fmt.Errorf("claude: apply %s: %w", v.Kind, err)
		}
	}
	var err error
	switch v.Kind {
	case VerdictQuota, VerdictOverloaded:
		err = p.MarkLimited(ctx, subscriptionID, v.Until, reason)
	case VerdictThrottle:
		_, err = p.Throttled(ctx, subscriptionID, v.RetryAfter, reason)
	case VerdictAuth, VerdictBilling:
		err = p.Disable(ctx, subscriptionID, reason)
	}
	if err != nil {
		return fmt.Errorf("claude: apply %s: %w", v.Kind, err)
	}
	return nil
}

// observation returns the 5-hour and 7-day windows the response reported,
// as the pool takes them.
func (v Verdict) observation(now time.Time) (authpool.Observation, bool) {
	o := authpool.Observation{Time: now}
	for _, w := range []struct {
		name string
		dst  **authpool.WindowObservation
	}{{WindowFiveHour, &o.Block}, {WindowSevenDay, &o.Week}} {
		uw, ok := v.Limits.Unified.Window(w.name)
		if !ok || uw.Utilization == nil || uw.Reset.IsZero() || !uw.Reset.After(now) {
			continue
		}
		*w.dst = &authpool.WindowObservation{Share: max(*uw.Utilization, 0), Reset: uw.Reset}
	}
	return o, o.Block != nil || o.Week != nil
}

// reason says, for the subscription's status, what the upstream answered.
func (v Verdict) reason() string {
	r := fmt.Sprintf("%s: HTTP %d", v.Kind, v.Status)
	if v.Window != "" {
		r += " " + v.Window
	}
	if v.ErrorType != "" {
		r += " " + v.ErrorType
	}
	if v.ErrorMessage != "" {
		r += ": " + v.ErrorMessage
	}
	return safetext.Clip(r, bounds.MaxReasonLength)
}

// Redacted returns v with the texts it took from the response (the
// error's type, message and request id, the window and family names)
// passed through redact and bounded: a Verdict goes to the pool as a
// reason, and to logs, and an upstream may echo the credential it was sent.
func (v Verdict) Redacted(redact func(string) string) Verdict {
	v.ErrorType = safetext.Clip(redact(v.ErrorType), 64)
	v.ErrorMessage = safetext.Clip(redact(v.ErrorMessage), 1024)
	v.RequestID = safetext.Clip(redact(v.RequestID), 128)
	v.Window = safetext.Clip(redact(v.Window), 64)
	v.Family = safetext.Clip(redact(v.Family), 64)
	return v
}
