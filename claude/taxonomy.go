package claude

import (
	"net/http"
	"time"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file is the one place that decides what a failed answer means for
// the pool, whoever saw it: proxy.Transport (and proxy.Proxy) see the HTTP
// answer, Classify; cli.Runner sees the CLI's report of it, ClassifyReport.
// Both make an answer of what they saw, and judge decides its kind (kindOf)
// and whether the request is sent again elsewhere (VerdictKind.FailsOver).

// answer is a failed (or successful) answer as far as its witness can tell.
type answer struct {
	status int
	// limits are its rate-limit headers: as sent (Classify), or what the
	// CLI's report says of them (ClassifyReport).
	limits RateLimit
	// limitHeaders is set when the answer carried any rate-limit header
	// (anthropic-ratelimit-*, retry-after, retry-after-ms): a 429 with
	// some and no rejection is a throttle. The CLI never tells.
	limitHeaders bool
	// body is its Anthropic error object, if it had one.
	body apiError
}

// judge makes the verdict of an answer.
func judge(a answer, now time.Time) Verdict {
	rl, e := a.limits, a.body
	v := Verdict{
		Status:       a.status,
		ErrorType:    e.typ,
		ErrorMessage: e.msg,
		RequestID:    rl.RequestID,
		Limits:       rl,
	}
	if v.RequestID == "" {
		v.RequestID = e.requestID
	}
	u := rl.Unified
	v.Rejected = rejectedWindows(u)
	v.ModelLimits = modelLimits(u, now)
	pause, hasPause := rl.Pause()
	if hasPause {
		v.RetryAfter = pause
	}
	v.MidStream = a.status >= 200 && a.status <= 299 && e.isError
	switch v.Kind = kindOf(a.status, e, quotaRejection(u, v.Rejected), a.limitHeaders); v.Kind {
	case VerdictQuota:
		v.quota(u, pause, hasPause, now) // or VerdictModelQuota
	case VerdictThrottle:
		v.pause(VerdictThrottle, pause, DefaultThrottlePause, now)
	case VerdictOverloaded:
		v.pause(VerdictOverloaded, pause, DefaultOverloadedPause, now)
	case VerdictAuth:
		v.BadCredential = a.status == http.StatusUnauthorized && rl.ShouldRetry != nil && !*rl.ShouldRetry
	}
	v.RetryElsewhere = v.Kind.FailsOver()
	return v
}

// kindOf decides an answer's kind, VerdictQuota standing for both quota
// kinds (Verdict.quota tells them apart), from its status, its error
// object, whether it rejects the subscription's (or a model's) quota, and
// whether it carries any rate-limit header. See Classify for the rules.
func kindOf(status int, e apiError, quota, limitHeaders bool) VerdictKind {
	switch {
	case status >= 200 && status <= 299 && !e.isError:
		return VerdictOK
	case status >= 200 && status <= 299: // an error event after the 200
		if e.typ == "overloaded_error" {
			return VerdictOverloaded
		}
		return VerdictServerError
	case status == http.StatusTooManyRequests:
		switch {
		case quota:
			return VerdictQuota
		case e.typ == "overloaded_error":
			return VerdictOverloaded
		case limitHeaders:
			return VerdictThrottle
		}
		return VerdictRequestScoped
	case status == 529:
		return VerdictOverloaded
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return VerdictAuth
	case status == http.StatusPaymentRequired:
		return VerdictBilling
	case e.typ == "overloaded_error":
		return VerdictOverloaded
	case e.typ == "authentication_error" || e.typ == "permission_error":
		return VerdictAuth
	case e.typ == "billing_error":
		return VerdictBilling
	case status >= 400 && status <= 499:
		return VerdictClientError
	}
	return VerdictServerError // 5xx, and anything else (1xx, 3xx, no status)
}

// FailsOver reports whether a request that got an answer of kind k is sent
// again on another subscription, by proxy.Transport (up to its MaxAttempts,
// while the body can be sent again) and by cli.Runner: when the answer
// takes the subscription out of service (a quota, a model's quota, a
// throttle, an overload, a refused credential, billing), and when it is a
// 429 that names no limit (VerdictRequestScoped), which leaves the
// subscription in service but may well be served by another. A client
// error, a server error and a success are not: the first is the request's
// fault, and the client retries the second itself (Claude Code and the SDKs
// retry a 5xx).
func (k VerdictKind) FailsOver() bool {
	switch k {
	case VerdictQuota, VerdictModelQuota, VerdictThrottle, VerdictOverloaded, VerdictAuth, VerdictBilling,
		VerdictRequestScoped:
		return true
	}
	return false
}

// ClassifyReport returns what a failed answer means for the pool when it is
// known only from a report of it, not from the response: Claude Code's
// result (package cli's Result.Verdict) gives the answer's status, its
// error's type and message, and the unified limits the CLI read in its
// headers (zero when it read none). It decides as Classify does, except
// that a report never tells whether a 429 carried limit headers that reject
// nothing, so a 429 naming no limit is VerdictRequestScoped, never
// VerdictThrottle. now is the time of the answer.
func ClassifyReport(status int, errorType, message string, u UnifiedLimits, now time.Time) Verdict {
	a := answer{status: status, limits: RateLimit{Unified: u},
		body: apiError{isError: true, typ: safetext.Clip(errorType, 64), msg: safetext.Clip(message, 1024)}}
	return judge(a, now)
}
