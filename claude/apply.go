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

// Verdict returns what a run's end means for the pool, as Classify does for
// an HTTP response: a run that ended on a quota 429 (a rejected rate-limit
// state, or Claude Code's usage_limit_reached) is VerdictQuota until the
// reset it names (ResetAt; MinQuotaPause from now when it names none), a
// throttle 429 VerdictThrottle, 529 or overloaded_error VerdictOverloaded,
// 401/403 VerdictAuth, 402 VerdictBilling; a run that ended well is
// VerdictOK. now is the time the run ended.
func (r Result) Verdict(now time.Time) Verdict {
	s := r.LimitSignal()
	status, failed := s.Failed()
	v := Verdict{Kind: VerdictOK, Status: status, ErrorType: s.ErrorType, ErrorMessage: clip(s.Message, 1024)}
	if !failed {
		return v
	}
	v.RetryElsewhere = true
	switch {
	case status == 429 && (s.Rejected() || s.Error == "usage_limit_reached"):
		v.Kind = VerdictQuota
		until, ok := s.ResetAt(now)
		if !ok || !until.After(now) {
			until = now.Add(MinQuotaPause)
		}
		v.Until = until
	case status == 429:
		v.Kind = VerdictThrottle
		v.Until = now.Add(DefaultThrottlePause)
	case status == 529 || s.ErrorType == "overloaded_error":
		v.Kind = VerdictOverloaded
		v.Until = now.Add(DefaultOverloadedPause)
	case status == 401 || status == 403 || s.ErrorType == "authentication_error" || s.ErrorType == "permission_error":
		v.Kind, v.RetryElsewhere = VerdictAuth, true
	case status == 402 || s.ErrorType == "billing_error":
		v.Kind = VerdictBilling
	case status >= 500:
		v.Kind = VerdictServerError
	default:
		v.Kind, v.RetryElsewhere = VerdictClientError, false
	}
	if !v.Until.IsZero() {
		v.RetryAfter = v.Until.Sub(now)
	}
	return v
}

// outOfService reports whether Apply takes a subscription out of service
// (for the request's model at least) on a verdict of kind k, so that the
// client's next Allocate moves it: what the Transport and the Runner retry
// elsewhere.
func outOfService(k VerdictKind) bool {
	switch k {
	case VerdictQuota, VerdictModelQuota, VerdictThrottle, VerdictOverloaded, VerdictAuth, VerdictBilling:
		return true
	}
	return false
}
