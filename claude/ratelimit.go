package claude

import (
	"strings"
	"time"
)

// Rate-limit headers: the API-key set of docs/formats.md §2.4, the subscription
// ("unified") set of §2.5 and the retry headers of §2.3. Header names are
// matched case-insensitively; the names below are lower-case.
//
// The parsers follow Anthropic's TypeScript SDK (client.js: retry-after-ms,
// then retry-after in seconds or an HTTP date; x-should-retry), Claude Code
// 2.1.197 (the unified headers) and the open peers §2.5 names (CLIProxyAPI,
// claude-relay-service: per-window -status headers, resets in unix seconds,
// milliseconds or RFC 3339).
const (
	headerRetryAfter        = "retry-after"
	headerPreciseRetryAfter = "retry-after-ms"
	headerShouldRetry       = "x-should-retry"
	headerRequestID         = "request-id"
	ratelimitPrefix         = "anthropic-ratelimit-"
	unifiedPrefix           = "anthropic-ratelimit-unified-"
)

// Window names of the unified headers (docs/formats.md §2.5): the part between
// anthropic-ratelimit-unified- and -status, -utilization, -reset or
// -surpassed-threshold. A name with an underscore (7d_oi, 7d_opus, ...) is a
// model-scoped window: it limits one family of models only.
const (
	WindowFiveHour       = "5h"
	WindowSevenDay       = "7d"
	WindowSevenDayOI     = "7d_oi" // overage-included models (e.g. Fable)
	WindowSevenDayOpus   = "7d_opus"
	WindowSevenDaySonnet = "7d_sonnet"
	WindowOverage        = "overage" // extra usage ("usage credits"); see [UnifiedOverage]
)

// RateLimit is every rate-limit header of one response, typed: the API-key
// buckets (docs/formats.md §2.4), the retry headers (§2.3) and the subscription's
// unified limits (§2.5). A field whose header was absent (or malformed) is its
// zero value: nil pointers, zero times, empty strings.
type RateLimit struct {
	// Requests, Tokens, InputTokens and OutputTokens are the API-key
	// buckets anthropic-ratelimit-{requests,tokens,input-tokens,
	// output-tokens}-{limit,remaining,reset} (§2.4). Tokens is the most
	// restrictive of input and output currently in effect.
	Requests     RateLimitBucket `json:"requests,omitzero"`
	Tokens       RateLimitBucket `json:"tokens,omitzero"`
	InputTokens  RateLimitBucket `json:"inputTokens,omitzero"`
	OutputTokens RateLimitBucket `json:"outputTokens,omitzero"`
	// RetryAfter is retry-after: whole or fractional seconds, or an HTTP
	// date (a date in the past is 0).
	RetryAfter *time.Duration `json:"retryAfter,omitempty"`
	// PreciseRetryAfter is retry-after-ms, in milliseconds; the SDK prefers it
	// to retry-after. See [RateLimit.Pause].
	PreciseRetryAfter *time.Duration `json:"preciseRetryAfter,omitempty"`
	// ShouldRetry is x-should-retry (true or false), which overrides the
	// SDK's own retry rule (§2.3).
	ShouldRetry *bool `json:"shouldRetry,omitempty"`
	// RequestID is request-id.
	RequestID string `json:"requestId,omitempty"`
	// Unified is the subscription set anthropic-ratelimit-unified-* (§2.5).
	Unified UnifiedLimits `json:"unified"`
	// Other keeps anthropic-ratelimit-* headers this package does not know,
	// by lower-case name (values clipped to 256 bytes), nil when there are
	// none. Unknown windows are not here but in Unified.Windows.
	Other map[string]string `json:"other,omitempty"`
}

// RateLimitBucket is one API-key bucket (docs/formats.md §2.4): its -limit,
// -remaining and -reset headers.
type RateLimitBucket struct {
	// Present is set when any of the bucket's headers was present, even
	// malformed.
	Present bool `json:"present"`
	// Limit and Remaining are nil when absent. Remaining tokens are
	// rounded to the nearest thousand by the API.
	Limit     *int64 `json:"limit,omitempty"`
	Remaining *int64 `json:"remaining,omitempty"`
	// Reset is when the bucket is fully replenished: RFC 3339 (unix
	// seconds and milliseconds are accepted too). Zero when absent.
	Reset time.Time `json:"reset,omitzero"`
}

// UnifiedStatus is the value of anthropic-ratelimit-unified-status and of
// the per-window -status headers (docs/formats.md §2.5).
type UnifiedStatus string

// The unified statuses. An unknown value is kept as sent (and reported by
// [ParseRateLimit]); it counts as not rejected.
const (
	UnifiedAllowed        UnifiedStatus = "allowed"
	UnifiedAllowedWarning UnifiedStatus = "allowed_warning"
	UnifiedRejected       UnifiedStatus = "rejected"
)

// UnifiedClaim is the value of anthropic-ratelimit-unified-representative-claim
// (docs/formats.md §2.5): which window binds. The short spellings of Claude Code's
// gateway guide (5h, 7d) are read as the full ones; other values are kept as
// sent, lower-case.
type UnifiedClaim string

// The representative claims the API sends (§2.5).
const (
	ClaimFiveHour                UnifiedClaim = "five_hour"
	ClaimSevenDay                UnifiedClaim = "seven_day"
	ClaimSevenDayOpus            UnifiedClaim = "seven_day_opus"
	ClaimSevenDaySonnet          UnifiedClaim = "seven_day_sonnet"
	ClaimSevenDayOverageIncluded UnifiedClaim = "seven_day_overage_included"
	ClaimOverage                 UnifiedClaim = "overage"
)

// Window returns the name of the window a claim names: five_hour is 5h,
// seven_day is 7d, seven_day_overage_included is 7d_oi, seven_day_<x> is
// 7d_<x>, overage is overage; any other claim is returned as it is, and the
// empty claim gives "".
func (c UnifiedClaim) Window() string {
	switch c {
	case ClaimFiveHour:
		return WindowFiveHour
	case ClaimSevenDay:
		return WindowSevenDay
	case ClaimSevenDayOverageIncluded:
		return WindowSevenDayOI
	}
	if rest, ok := strings.CutPrefix(string(c), "seven_day_"); ok && rest != "" {
		return "7d_" + rest
	}
	return string(c)
}

// OverageDisabledReason is the value of
// anthropic-ratelimit-unified-overage-disabled-reason (docs/formats.md §2.5, the
// SDK's enum). Values outside the enum are kept as sent (the enum grows) and
// are not an error.
type OverageDisabledReason string

// The SDK's overage-disabled reasons (§2.5).
const (
	OverageNotProvisioned          OverageDisabledReason = "overage_not_provisioned"
	OverageOrgLevelDisabled        OverageDisabledReason = "org_level_disabled"
	OverageOrgLevelDisabledUntil   OverageDisabledReason = "org_level_disabled_until"
	OverageOutOfCredits            OverageDisabledReason = "out_of_credits"
	OverageSeatTierLevelDisabled   OverageDisabledReason = "seat_tier_level_disabled"
	OverageMemberLevelDisabled     OverageDisabledReason = "member_level_disabled"
	OverageSeatTierZeroCredit      OverageDisabledReason = "seat_tier_zero_credit_limit"
	OverageGroupZeroCredit         OverageDisabledReason = "group_zero_credit_limit"
	OverageMemberZeroCredit        OverageDisabledReason = "member_zero_credit_limit"
	OverageOrgServiceLevelDisabled OverageDisabledReason = "org_service_level_disabled"
	OverageNoLimitsConfigured      OverageDisabledReason = "no_limits_configured"
	OverageFetchError              OverageDisabledReason = "fetch_error"
	OverageUnknown                 OverageDisabledReason = "unknown"
)

// Known reports whether r is one of the SDK's reasons.
func (r OverageDisabledReason) Known() bool {
	switch r {
	case OverageNotProvisioned, OverageOrgLevelDisabled, OverageOrgLevelDisabledUntil,
		OverageOutOfCredits, OverageSeatTierLevelDisabled, OverageMemberLevelDisabled,
		OverageSeatTierZeroCredit, OverageGroupZeroCredit, OverageMemberZeroCredit,
		OverageOrgServiceLevelDisabled, OverageNoLimitsConfigured, OverageFetchError, OverageUnknown:
		return true
	}
	return false
}

// UnifiedLimits is the subscription's limit state from the
// anthropic-ratelimit-unified-* headers (docs/formats.md §2.5).
type UnifiedLimits struct {
	// Present is set when any unified header was present.
	Present bool `json:"present"`
	// Status is the overall status. A missing header means allowed (as
	// Claude Code reads it): Status is UnifiedAllowed and StatusMissing is
	// set.
	Status        UnifiedStatus `json:"status"`
	StatusMissing bool          `json:"statusMissing,omitempty"`
	// Reset is the reset of the binding window: unix seconds (a value over
	// 1e11 is taken as milliseconds, as one peer does defensively) or RFC
	// 3339.
	Reset time.Time `json:"reset,omitzero"`
	// RepresentativeClaim names the binding window; see
	// [UnifiedClaim.Window].
	RepresentativeClaim UnifiedClaim `json:"representativeClaim,omitempty"`
	// Fallback is the fallback header as sent ("available" is the only
	// value known).
	Fallback string `json:"fallback,omitempty"`
	// FallbackPercentage is fallback-percentage, seen in one public parser
	// only (§2.5), kept as sent.
	FallbackPercentage *float64 `json:"fallbackPercentage,omitempty"`
	// Windows holds every window with at least one header, keyed by its
	// lower-case name (5h, 7d, 7d_oi, 7d_opus, 7d_sonnet and any other
	// name seen), except overage, which is in Overage.
	Windows map[string]UnifiedWindow `json:"windows,omitempty"`
	// Overage is the extra-usage state.
	Overage UnifiedOverage `json:"overage,omitzero"`
	// UpgradePaths is upgrade-paths, a comma list (newest builds).
	UpgradePaths []string `json:"upgradePaths,omitempty"`
}

// UnifiedWindow is one window of the unified headers
// (anthropic-ratelimit-unified-<window>-*, docs/formats.md §2.5).
type UnifiedWindow struct {
	// Status is the window's -status ("" when absent). Claude Code does not
	// read it; CLIProxyAPI and claude-relay-service do.
	Status UnifiedStatus `json:"status,omitempty"`
	// Utilization is the fraction of the window used: 0..1, can exceed 1.
	Utilization *float64 `json:"utilization,omitempty"`
	// Reset is when the window resets (unix seconds, milliseconds or RFC
	// 3339), zero when absent.
	Reset time.Time `json:"reset,omitzero"`
	// SurpassedThreshold is set when the window passed a warning threshold
	// (Claude Code then warns: allowed_warning for that window).
	SurpassedThreshold *float64 `json:"surpassedThreshold,omitempty"`
}

// Rejected reports whether the window's status is rejected.
func (w UnifiedWindow) Rejected() bool { return w.Status == UnifiedRejected }

// Allowed reports whether the window's status is allowed or allowed_warning
// (an absent status is neither).
func (w UnifiedWindow) Allowed() bool {
	return w.Status == UnifiedAllowed || w.Status == UnifiedAllowedWarning
}

// UnifiedOverage is the extra-usage ("usage credits") state: the overage
// window's headers and the other overage-* headers (docs/formats.md §0, §2.5).
type UnifiedOverage struct {
	UnifiedWindow
	// DisabledReason is overage-disabled-reason.
	DisabledReason OverageDisabledReason `json:"disabledReason,omitempty"`
	// InUse is overage-in-use.
	InUse *bool `json:"inUse,omitempty"`
	// PeriodMonthlyUtilization and PeriodChannelUtilization are
	// overage-period-monthly-utilization and
	// overage-period-channel-utilization (newest builds).
	PeriodMonthlyUtilization *float64 `json:"periodMonthlyUtilization,omitempty"`
	PeriodChannelUtilization *float64 `json:"periodChannelUtilization,omitempty"`
}

// Window returns a window by name (overage included) and whether any of its
// headers was present.
func (u UnifiedLimits) Window(name string) (UnifiedWindow, bool) {
	if name == WindowOverage {
		return u.Overage.UnifiedWindow, u.Overage.UnifiedWindow != UnifiedWindow{}
	}
	w, ok := u.Windows[name]
	return w, ok
}

// FiveHour returns the 5h window and whether it was reported.
func (u UnifiedLimits) FiveHour() (UnifiedWindow, bool) { return u.Window(WindowFiveHour) }

// SevenDay returns the 7d window and whether it was reported.
func (u UnifiedLimits) SevenDay() (UnifiedWindow, bool) { return u.Window(WindowSevenDay) }

// UsingOverage reports whether the subscription is past its plan limits and
// running on extra usage: status rejected with overage-status allowed or
// allowed_warning (Claude Code's isUsingOverage, §2.5).
func (u UnifiedLimits) UsingOverage() bool {
	return u.Status == UnifiedRejected && u.Overage.Allowed()
}

// Pause returns how long the response asked to wait before a retry:
// retry-after-ms, else retry-after, as the SDK reads them (docs/formats.md §2.3),
// and whether either was present.
func (r RateLimit) Pause() (time.Duration, bool) {
	if r.PreciseRetryAfter != nil {
		return *r.PreciseRetryAfter, true
	}
	if r.RetryAfter != nil {
		return *r.RetryAfter, true
	}
	return 0, false
}
