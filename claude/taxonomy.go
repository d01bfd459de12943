package claude

import (
	"net/http"
	"regexp"
	"time"
)

// This file is the one place that decides what a failed answer means for
// the pool, whoever saw it: the Transport (and the Proxy) see the HTTP
// answer, Classify; the Runner sees the CLI's report of it, Result.Verdict.
// Both make an answer of what they saw, and judge decides its kind (kindOf)
// and whether the request is sent again elsewhere (VerdictKind.FailsOver).

// answer is a failed (or successful) answer as far as its witness can tell.
type answer struct {
	status int
	// limits are its rate-limit headers: as sent (Classify), or what the
	// CLI's report says of them (Result.Verdict).
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
// again on another subscription, by the Transport (up to its MaxAttempts,
// while the body can be sent again) and by the Runner: when the answer
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

// answer is the answer the run ended on, as far as the CLI's report tells
// (docs/claude-code.md): its status, error type and message, and the usage
// limit the CLI read in its headers, if any. The CLI never reports whether
// a 429 carried limit headers that reject nothing (a throttle): it prints
// such a 429 exactly as one without headers ("Server is temporarily
// limiting requests (not your usage limit)" with an OAuth token, "Request
// rejected (429)" with a key), so both are VerdictRequestScoped here.
func (s CLISignal) answer(now time.Time) answer {
	status, _ := s.Failed()
	a := answer{status: status, body: apiError{isError: true, typ: clip(s.ErrorType, 64), msg: clip(s.Message, 1024)}}
	if u, ok := s.usageLimit(now); ok {
		a.limits.Unified = u
	}
	return a
}

// usageLimit returns the unified limits the CLI read in a 429 that named a
// usage limit, and false for any other. Claude Code 2.1.332 says
// usage_limit_reached (and "You've hit your ... limit") exactly when the
// 429 carried a representative claim or an overage status, in OAuth mode;
// its stream then also names the window (rateLimitType) and, when the
// headers had them, each window's state. A rejected rate-limit state that
// names no window says nothing: the CLI reports one for every 429 in OAuth
// mode, headers or not.
func (s CLISignal) usageLimit(now time.Time) (UnifiedLimits, bool) {
	if s.Error != "usage_limit_reached" && !s.Rejected() {
		return UnifiedLimits{}, false
	}
	u := UnifiedLimits{Present: true, Status: UnifiedRejected}
	if rl := s.RateLimit; rl != nil && rl.Status == string(UnifiedRejected) {
		u.RepresentativeClaim = UnifiedClaim(rl.RateLimitType)
		u.Overage.Status = UnifiedStatus(rl.OverageStatus)
		u.Overage.Reset = rl.OverageResetsAt
		u.Overage.DisabledReason = OverageDisabledReason(rl.OverageDisabledReason)
		for name, w := range rl.Windows {
			if u.Windows == nil {
				u.Windows = make(map[string]UnifiedWindow, len(rl.Windows))
			}
			u.Windows[UnifiedClaim(name).Window()] = UnifiedWindow{Status: UnifiedStatus(w.Status), Utilization: w.Utilization, Reset: w.ResetsAt}
		}
	}
	if u.RepresentativeClaim == "" && u.Overage.Status == "" {
		// A json result names the limit in its text only.
		u.RepresentativeClaim, u.Overage.Status = cliLimitName(s.Message)
	}
	if reset, ok := s.ResetAt(now); ok {
		u.Reset = reset
	}
	return u, true
}

// cliLimitText matches the limit Claude Code names: "You've hit your
// 5-hour limit", "... your Opus limit", "... your limit".
var cliLimitText = regexp.MustCompile(`\bhit your (?:(\S+) )?limit\b`)

// cliLimitName reads the window of Claude Code's limit message (measured
// with 2.1.332): 5-hour, weekly, Opus, Sonnet and Fable name the claim;
// "your limit" is an overage rejected; "your usage limit", or another
// name, names none.
func cliLimitName(msg string) (UnifiedClaim, UnifiedStatus) {
	m := cliLimitText.FindStringSubmatch(msg)
	if m == nil {
		return "", ""
	}
	switch m[1] {
	case "":
		return "", UnifiedRejected
	case "5-hour":
		return ClaimFiveHour, ""
	case "weekly":
		return ClaimSevenDay, ""
	case "Opus":
		return ClaimSevenDayOpus, ""
	case "Sonnet":
		return ClaimSevenDaySonnet, ""
	case "Fable":
		return ClaimSevenDayOverageIncluded, ""
	}
	return "", ""
}
