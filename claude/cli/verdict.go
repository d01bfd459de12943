package cli

import (
	"regexp"
	"time"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// Verdict returns what a run's end means for the pool, decided as
// claude.Classify decides it for an HTTP response, from what the CLI reports of the answer
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
func (r Result) Verdict(now time.Time) claude.Verdict {
	s := r.LimitSignal()
	status, failed := s.Failed()
	if !failed {
		return claude.Verdict{Kind: claude.VerdictOK, Status: status, ErrorType: s.ErrorType, ErrorMessage: safetext.Clip(s.Message, 1024)}
	}
	return s.verdict(now)
}

// verdict judges the answer the run ended on, as far as the CLI's report tells
// (docs/claude-code.md): its status, error type and message, and the usage
// limit the CLI read in its headers, if any. The CLI never reports whether
// a 429 carried limit headers that reject nothing (a throttle): it prints
// such a 429 exactly as one without headers ("Server is temporarily
// limiting requests (not your usage limit)" with an OAuth token, "Request
// rejected (429)" with a key), so both are VerdictRequestScoped here.
func (s Signal) verdict(now time.Time) claude.Verdict {
	status, _ := s.Failed()
	u, _ := s.usageLimit(now)
	return claude.ClassifyReport(status, s.ErrorType, s.Message, u, now)
}

// usageLimit returns the unified limits the CLI read in a 429 that named a
// usage limit, and false for any other. Claude Code 2.1.332 says
// usage_limit_reached (and "You've hit your ... limit") exactly when the
// 429 carried a representative claim or an overage status, in OAuth mode;
// its stream then also names the window (rateLimitType) and, when the
// headers had them, each window's state. A rejected rate-limit state that
// names no window says nothing: the CLI reports one for every 429 in OAuth
// mode, headers or not.
func (s Signal) usageLimit(now time.Time) (claude.UnifiedLimits, bool) {
	if s.Error != "usage_limit_reached" && !s.Rejected() {
		return claude.UnifiedLimits{}, false
	}
	u := claude.UnifiedLimits{Present: true, Status: claude.UnifiedRejected}
	if rl := s.RateLimit; rl != nil && rl.Status == string(claude.UnifiedRejected) {
		u.RepresentativeClaim = claude.UnifiedClaim(rl.RateLimitType)
		u.Overage.Status = claude.UnifiedStatus(rl.OverageStatus)
		u.Overage.Reset = rl.OverageResetsAt
		u.Overage.DisabledReason = claude.OverageDisabledReason(rl.OverageDisabledReason)
		for name, w := range rl.Windows {
			if u.Windows == nil {
				u.Windows = make(map[string]claude.UnifiedWindow, len(rl.Windows))
			}
			u.Windows[claude.UnifiedClaim(name).Window()] = claude.UnifiedWindow{Status: claude.UnifiedStatus(w.Status), Utilization: w.Utilization, Reset: w.ResetsAt}
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
func cliLimitName(msg string) (claude.UnifiedClaim, claude.UnifiedStatus) {
	m := cliLimitText.FindStringSubmatch(msg)
	if m == nil {
		return "", ""
	}
	switch m[1] {
	case "":
		return "", claude.UnifiedRejected
	case "5-hour":
		return claude.ClaimFiveHour, ""
	case "weekly":
		return claude.ClaimSevenDay, ""
	case "Opus":
		return claude.ClaimSevenDayOpus, ""
	case "Sonnet":
		return claude.ClaimSevenDaySonnet, ""
	case "Fable":
		return claude.ClaimSevenDayOverageIncluded, ""
	}
	return "", ""
}
