package claude

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool"
)

// Apply does to the pool what a response made on a subscription says
// (v, from Classify or Result.Verdict):
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
	return clip(r, authpool.MaxReasonLength)
}

// Verdict returns what a run's end means for the pool, decided as Classify
// decides it for an HTTP response, from what the CLI reports of the answer
// the run ended on (its api_error_status, api_error_type, api_error, its
// text, and a stream's rate-limit state): a 429 the CLI read as a usage
// limit (usage_limit_reached, or a rejected state naming its window) is
// VerdictQuota until the reset it names (ResetAt; MinQuotaPause from now
// when it names none), or VerdictModelQuota for a model's window (Opus,
// Sonnet, ...); any other 429 is VerdictRequestScoped, since the CLI
// reports a throttle as it reports a 429 without limit headers; 529 or
// overloaded_error is VerdictOverloaded, 401/403 VerdictAuth, 402
// VerdictBilling, another 4xx VerdictClientError, anything else
// VerdictServerError. A run that ended well is VerdictOK. now is the time
// the run ended.
func (r Result) Verdict(now time.Time) Verdict {
	s := r.LimitSignal()
	status, failed := s.Failed()
	if !failed {
		return Verdict{Kind: VerdictOK, Status: status, ErrorType: s.ErrorType, ErrorMessage: clip(s.Message, 1024)}
	}
	return judge(s.answer(now), now)
}
