package claude

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// VerdictKind says what the pool should do about a response; see [Verdict].
type VerdictKind uint8

// The kinds of [Verdict], from [Classify]. docs/formats.md §0 and §2.3–§2.5 give
// the signals; "the subscription" is the one whose credential the request
// used.
const (
	// VerdictOK: a 2xx. The verdict still carries the unified windows
	// (utilization, resets) for the pool's estimate.
	VerdictOK VerdictKind = iota
	// VerdictQuota: a 429 with the unified status (or a window's status)
	// rejected: the subscription is limited until Until, the latest of the
	// rejected windows' resets (5h, 7d, any window that is not
	// model-scoped), the top-level reset and retry-after (CLIProxyAPI's
	// rule, §2.5). Model-scoped windows rejected too are in ModelLimits,
	// with their own resets, rather than holding the whole subscription.
	VerdictQuota
	// VerdictModelQuota: a 429 rejected by a model-scoped window (7d_oi,
	// 7d_opus, 7d_sonnet, or overage disabled / out of credits) while the 5h
	// and 7d windows are not rejected: only that family of models is
	// limited, until Until; Window and Family name it.
	VerdictModelQuota
	// VerdictThrottle: a 429 with limit headers but no rejection: pause the
	// subscription for RetryAfter (retry-after, else
	// DefaultThrottlePause); back off with [ThrottleBackoff] when it
	// repeats.
	VerdictThrottle
	// VerdictRequestScoped: a 429 with no limit header at all ("Server is
	// temporarily limiting requests (not your usage limit)", as Claude Code
	// prints it): the subscription stays in service; this request failed,
	// and is sent again on another subscription. A CLI run's result also
	// says it for a throttle, which the CLI reports alike.
	VerdictRequestScoped
	// VerdictOverloaded: a 529, or an overloaded_error body: a short
	// cooldown of RetryAfter (retry-after, else DefaultOverloadedPause).
	VerdictOverloaded
	// VerdictAuth: a 401 or 403, or an authentication_error or
	// permission_error body: the subscription is out of service until a
	// person fixes it (BadCredential: a 401 with x-should-retry false, the
	// bearer is bad).
	VerdictAuth
	// VerdictBilling: a 402 or a billing_error body: out of service until a
	// person fixes the billing.
	VerdictBilling
	// VerdictClientError: another 4xx: the request's fault; the
	// subscription is fine.
	VerdictClientError
	// VerdictServerError: a 5xx other than 529 (or an unexpected status, or
	// an error other than overloaded_error in a 2xx stream): retryable; the
	// subscription is fine.
	VerdictServerError
	numVerdictKinds
)

var verdictKindNames = [numVerdictKinds]string{
	"ok", "quota", "model-quota", "throttle", "request-scoped",
	"overloaded", "auth", "billing", "client-error", "server-error",
}

// String returns the kind's name, as in logs: ok, quota, model-quota,
// throttle, request-scoped, overloaded, auth, billing, client-error or
// server-error.
func (k VerdictKind) String() string {
	if k < numVerdictKinds {
		return verdictKindNames[k]
	}
	return "VerdictKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText returns the kind's name.
func (k VerdictKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name, as MarshalText writes it.
func (k *VerdictKind) UnmarshalText(b []byte) error {
	i := slices.Index(verdictKindNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("claude: unknown verdict kind %q", b)
	}
	*k = VerdictKind(i)
	return nil
}

// Pauses used when a response names none. They are documented defaults, not
// anything Anthropic publishes: the SDK itself retries after 0.5 s·2^n capped
// at 8 s (docs/formats.md §2.3); a pool can afford to wait longer on one
// subscription because it has others.
const (
	// DefaultThrottlePause is the pause of a throttle without retry-after
	// (or with retry-after 0).
	DefaultThrottlePause = 10 * time.Second
	// DefaultOverloadedPause is the cooldown of an overloaded response
	// without retry-after.
	DefaultOverloadedPause = 30 * time.Second
	// MinQuotaPause is how long a rejection keeps its subscription (or
	// model family) out when it names no reset in the future (none at all,
	// or only past ones, as after clock skew): long enough not to hammer
	// the API, short enough that the next answer corrects it.
	MinQuotaPause = time.Minute
	// MaxThrottleBackoff caps [ThrottleBackoff].
	MaxThrottleBackoff = 5 * time.Minute
)

// ModelLimit is a model-scoped window reported rejected: the family of
// models it covers is out until Until.
type ModelLimit struct {
	// Window is the window's name (7d_oi, 7d_opus, 7d_sonnet, overage, ...).
	Window string `json:"window"`
	// Family is the model family, from the window name: what follows 7d_
	// (oi, opus, sonnet, ...); empty for overage, which limits the models
	// that need extra usage: apply it to the model of the request.
	Family string `json:"family,omitempty"`
	// Until is the window's reset, or now + MinQuotaPause when it names
	// none in the future.
	Until time.Time `json:"until"`
}

// Verdict is what [Classify] makes of a response: what the pool should do
// (Kind) and the facts it needs for it. A Verdict is a plain value.
type Verdict struct {
	Kind VerdictKind `json:"kind"`
	// Status is the HTTP status classified.
	Status int `json:"status"`
	// Until is when the subscription (for VerdictModelQuota: the model
	// family) may be used again: set, after now, for VerdictQuota,
	// VerdictModelQuota, VerdictThrottle and VerdictOverloaded; zero
	// otherwise (for VerdictAuth and VerdictBilling: no end is known).
	Until time.Time `json:"until,omitzero"`
	// RetryAfter is the pause: Until - now for the four kinds above
	// (saturated at the largest Duration for a reset centuries away);
	// otherwise what retry-after-ms or retry-after said, if anything.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	// Window names the binding window: for VerdictModelQuota the
	// model-scoped one (7d_oi, 7d_opus, 7d_sonnet, overage, ...); for
	// VerdictQuota the representative claim's window, else the rejected
	// window with the latest reset.
	Window string `json:"window,omitempty"`
	// Family is the model family of a VerdictModelQuota: what follows 7d_
	// in Window (oi, opus, sonnet, ...). It is empty when the window names
	// no family (overage: the limit is on the models that need extra
	// usage); the pool should then apply it to the model of the request,
	// which is always in the family anyway.
	Family string `json:"family,omitempty"`
	// Rejected lists the windows whose -status is rejected (overage
	// included), sorted; any kind, even VerdictOK.
	Rejected []string `json:"rejected,omitempty"`
	// ModelLimits lists the rejected model-scoped windows with their
	// resets, for any kind (a 2xx for one model may report another's
	// family as rejected); for a VerdictModelQuota its window is here with
	// Until.
	ModelLimits []ModelLimit `json:"modelLimits,omitempty"`
	// RetryElsewhere reports whether the request is sent again on another
	// subscription (by proxy.Transport, and by cli.Runner for a CLI run):
	// Kind.FailsOver().
	RetryElsewhere bool `json:"retryElsewhere,omitempty"`
	// BadCredential is set for a 401 with x-should-retry false: the bearer
	// (or key) is bad (docs/formats.md §0).
	BadCredential bool `json:"badCredential,omitempty"`
	// MidStream is set when a 2xx's body is an error event (an SSE
	// stream that failed after its 200, §2.2): the kind then comes from the
	// error type.
	MidStream bool `json:"midStream,omitempty"`
	// ErrorType and ErrorMessage are error.type and error.message of an
	// Anthropic error body (§2.3), empty when the body is not one; the
	// message is clipped to 1 KiB. RequestID is request-id, else the
	// body's request_id.
	ErrorType    string `json:"errorType,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	RequestID    string `json:"requestId,omitempty"`
	// Limits is every rate-limit header of the response, for the pool's
	// estimate: Limits.Unified.FiveHour() and SevenDay() give the reported
	// utilization and resets.
	Limits RateLimit `json:"limits"`
	// Malformed is ParseRateLimit's error: the headers that could not be
	// read (the verdict is made of the rest). Nil when all were fine.
	Malformed error `json:"-"`
}

// Classify says what a response means for the pool (docs/formats.md §0,
// §2.3–§2.5): status is the HTTP status, h the response headers, body the
// response body if read (an Anthropic error object, or an SSE error event's
// data; anything else is tolerated), now the time of the response. It never
// fails: malformed headers are in Verdict.Malformed.
//
// cli.Result.Verdict decides a CLI run's end by the same rules, from what the
// CLI reports of the answer. In order: a 2xx is VerdictOK unless its body is
// an error object (a mid-stream error: overloaded_error is
// VerdictOverloaded, any other VerdictServerError). A 429 is VerdictQuota or VerdictModelQuota when the
// unified status or a window's status is rejected (or, as Claude Code reads
// it, the status is missing and overage-disabled-reason present), else
// VerdictOverloaded for an overloaded_error body, else VerdictThrottle when
// it has any limit header (anthropic-ratelimit-*, retry-after,
// retry-after-ms), else VerdictRequestScoped. 529 is VerdictOverloaded, 401
// and 403 VerdictAuth, 402 VerdictBilling. Other statuses go by the body's
// error type (overloaded_error, authentication_error, permission_error,
// billing_error), then 5xx is VerdictServerError and 4xx VerdictClientError;
// anything else (1xx, 3xx) is VerdictServerError. Verdict.RetryElsewhere
// is VerdictKind.FailsOver.
//
// A rejection is model-scoped when neither 5h nor 7d (nor another window
// without an underscore) is rejected, the representative claim does not
// name one of them, and a 7d_<family> window is rejected or claimed; or when
// 5h and 7d are both reported allowed and the overage is what is rejected
// (claimed, rejected or disabled): extra usage is unavailable to the model
// that needs it.
func Classify(status int, h http.Header, body []byte, now time.Time) Verdict {
	rl, herr := ParseRateLimit(h, now)
	v := judge(answer{status: status, limits: rl, limitHeaders: hasLimitHeaders(h), body: parseErrorBody(body)}, now)
	v.Malformed = herr
	return v
}

// pause makes v a short pause of kind k: the response's pause if positive,
// else def.
func (v *Verdict) pause(k VerdictKind, pause, def time.Duration, now time.Time) {
	v.Kind = k
	if pause <= 0 {
		pause = def
	}
	v.RetryAfter = pause
	v.Until = now.Add(pause)
}

// quota makes v a VerdictQuota or VerdictModelQuota (see Classify).
func (v *Verdict) quota(u UnifiedLimits, pause time.Duration, hasPause bool, now time.Time) {
	var extra []time.Time // the top-level reset and retry-after
	if !u.Reset.IsZero() {
		extra = append(extra, u.Reset)
	}
	if hasPause {
		extra = append(extra, now.Add(pause))
	}
	claimed := u.RepresentativeClaim.Window()
	var general, scoped []string
	for _, name := range v.Rejected {
		switch {
		case name == WindowOverage:
		case isScopedWindow(name):
			scoped = append(scoped, name)
		default:
			general = append(general, name)
		}
	}
	fiveHour, _ := u.FiveHour()
	sevenDay, _ := u.SevenDay()
	overage := claimed == WindowOverage || u.Overage.Rejected() || u.Overage.DisabledReason != ""
	scope := ""
	switch {
	case len(general) > 0 || (claimed != "" && claimed != WindowOverage && !isScopedWindow(claimed)):
	case isScopedWindow(claimed):
		scope = claimed
	case len(scoped) > 0:
		scope = scoped[0]
	case overage && fiveHour.Allowed() && sevenDay.Allowed():
		scope = WindowOverage
	}
	if scope == "" {
		v.Kind = VerdictQuota
		resets := extra
		latest := time.Time{}
		for _, name := range general {
			w := u.Windows[name]
			resets = append(resets, w.Reset)
			if w.Reset.After(latest) {
				latest, v.Window = w.Reset, name
			}
		}
		if claimed != "" {
			v.Window = claimed
		}
		v.Until = deadline(now, resets...)
	} else {
		v.Kind = VerdictModelQuota
		v.Window, v.Family = scope, windowFamily(scope)
		w, _ := u.Window(scope)
		v.Until = deadline(now, append(extra, w.Reset)...)
		i := slices.IndexFunc(v.ModelLimits, func(l ModelLimit) bool { return l.Window == scope })
		if i < 0 {
			v.ModelLimits = append(v.ModelLimits, ModelLimit{Window: scope, Family: v.Family})
			i = len(v.ModelLimits) - 1
		}
		v.ModelLimits[i].Until = v.Until
	}
	v.RetryAfter = v.Until.Sub(now)
}

// hasLimitHeaders reports whether h has any rate-limit header: an
// anthropic-ratelimit-* one, retry-after or retry-after-ms.
func hasLimitHeaders(h http.Header) bool {
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(k, ratelimitPrefix) || k == headerRetryAfter || k == headerPreciseRetryAfter {
			return true
		}
	}
	return false
}

// ThrottleBackoff returns the pause after the consecutive-th throttle in a
// row of one subscription (consecutive counts this one: 1 for the first):
// retryAfter (DefaultThrottlePause if not positive) doubled for each
// throttle after the first, capped at MaxThrottleBackoff — unless
// retryAfter itself is longer, which is returned as it is, since the server
// asked for it. It is pure: the pool counts the throttles (and resets the
// count on a success) and reads the clock.
func ThrottleBackoff(retryAfter time.Duration, consecutive int) time.Duration {
	if retryAfter <= 0 {
		retryAfter = DefaultThrottlePause
	}
	if retryAfter >= MaxThrottleBackoff {
		return retryAfter
	}
	d := retryAfter
	for i := 1; i < consecutive; i++ {
		if d > MaxThrottleBackoff/2 {
			return MaxThrottleBackoff
		}
		d *= 2
	}
	return d
}
