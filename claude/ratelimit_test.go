package claude

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// rlNow is the time of the test responses: four hours before the 5h reset
// of the docs/formats.md §2.5 example (1762826400).
var rlNow = time.Date(2025, 11, 10, 22, 0, 0, 0, time.UTC)

// Resets of the §2.5 example.
var (
	rlReset5h = time.Unix(1762826400, 0).UTC() // 2025-11-11T02:00:00Z
	rlReset7d = time.Unix(1763250000, 0).UTC() // 2025-11-15T23:40:00Z
)

func rlPtr[T any](v T) *T { return &v }

// rlHeader builds a header from name, value pairs (names canonicalized, as
// net/http does).
func rlHeader(kv ...string) http.Header {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// rlFormatsExample is the header example of docs/formats.md §2.5.
var rlFormatsExample = []string{
	"anthropic-ratelimit-unified-status", "allowed",
	"anthropic-ratelimit-unified-reset", "1762826400",
	"anthropic-ratelimit-unified-representative-claim", "five_hour",
	"anthropic-ratelimit-unified-fallback", "available",
	"anthropic-ratelimit-unified-5h-status", "allowed",
	"anthropic-ratelimit-unified-5h-utilization", "0.42",
	"anthropic-ratelimit-unified-5h-reset", "1762826400",
	"anthropic-ratelimit-unified-7d-status", "allowed",
	"anthropic-ratelimit-unified-7d-utilization", "0.18",
	"anthropic-ratelimit-unified-7d-reset", "1763250000",
	"anthropic-ratelimit-unified-overage-status", "rejected",
	"anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled",
}

// rlAPIKeyExample is an API-key response (docs/formats.md §2.4 values).
var rlAPIKeyExample = []string{
	"anthropic-ratelimit-requests-limit", "1000",
	"anthropic-ratelimit-requests-remaining", "999",
	"anthropic-ratelimit-requests-reset", "2025-08-21T12:40:59Z",
	"anthropic-ratelimit-tokens-limit", "96000",
	"anthropic-ratelimit-tokens-remaining", "95000",
	"anthropic-ratelimit-tokens-reset", "2025-08-21T12:40:59Z",
	"anthropic-ratelimit-input-tokens-limit", "80000",
	"anthropic-ratelimit-input-tokens-remaining", "80000",
	"anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:59Z",
	"anthropic-ratelimit-output-tokens-limit", "16000",
	"anthropic-ratelimit-output-tokens-remaining", "15000",
	"anthropic-ratelimit-output-tokens-reset", "2025-08-21T12:40:21.5Z",
	"request-id", "req_011CUaBcDeFgHiJkLmNoPqRs",
}

// rlHeaderErrors returns the header names of a ParseRateLimit error.
func rlHeaderErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var names []string
	for _, e := range errs {
		var he *HeaderError
		if !errors.As(e, &he) {
			t.Fatalf("error %v is not a *HeaderError", e)
		}
		if !strings.Contains(he.Error(), he.Header) || !strings.Contains(he.Error(), strconv.Quote(he.Value)) {
			t.Errorf("error %q does not name its header %q and value %q", he, he.Header, he.Value)
		}
		names = append(names, he.Header)
	}
	return names
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	allowedMissing := UnifiedLimits{Status: UnifiedAllowed, StatusMissing: true}
	tests := []struct {
		name    string
		h       http.Header
		want    RateLimit
		wantErr []string // headers reported malformed
	}{{
		name: "none",
		h:    rlHeader("content-type", "application/json"),
		want: RateLimit{Unified: allowedMissing},
	}, {
		name: "docs/formats.md 2.5 example",
		h:    rlHeader(rlFormatsExample...),
		want: RateLimit{Unified: UnifiedLimits{
			Present:             true,
			Status:              UnifiedAllowed,
			Reset:               rlReset5h,
			RepresentativeClaim: ClaimFiveHour,
			Fallback:            "available",
			Windows: map[string]UnifiedWindow{
				"5h": {Status: UnifiedAllowed, Utilization: rlPtr(0.42), Reset: rlReset5h},
				"7d": {Status: UnifiedAllowed, Utilization: rlPtr(0.18), Reset: rlReset7d},
			},
			Overage: UnifiedOverage{UnifiedWindow: UnifiedWindow{Status: UnifiedRejected}, DisabledReason: OverageOrgLevelDisabled},
		}},
	}, {
		name: "API key",
		h:    rlHeader(rlAPIKeyExample...),
		want: RateLimit{
			Requests:     RateLimitBucket{Present: true, Limit: rlPtr[int64](1000), Remaining: rlPtr[int64](999), Reset: time.Date(2025, 8, 21, 12, 40, 59, 0, time.UTC)},
			Tokens:       RateLimitBucket{Present: true, Limit: rlPtr[int64](96000), Remaining: rlPtr[int64](95000), Reset: time.Date(2025, 8, 21, 12, 40, 59, 0, time.UTC)},
			InputTokens:  RateLimitBucket{Present: true, Limit: rlPtr[int64](80000), Remaining: rlPtr[int64](80000), Reset: time.Date(2025, 8, 21, 12, 40, 59, 0, time.UTC)},
			OutputTokens: RateLimitBucket{Present: true, Limit: rlPtr[int64](16000), Remaining: rlPtr[int64](15000), Reset: time.Date(2025, 8, 21, 12, 40, 21, 5e8, time.UTC)},
			RequestID:    "req_011CUaBcDeFgHiJkLmNoPqRs",
			Unified:      allowedMissing,
		},
	}, {
		name: "short spellings and case",
		h: rlHeader(
			"Anthropic-Ratelimit-Unified-Status", "Allowed_Warning",
			"anthropic-ratelimit-unified-representative-claim", "5h",
		),
		want: RateLimit{Unified: UnifiedLimits{Present: true, Status: UnifiedAllowedWarning, RepresentativeClaim: ClaimFiveHour}},
	}, {
		name: "short spelling 7d",
		h:    rlHeader("anthropic-ratelimit-unified-representative-claim", " 7d "),
		want: RateLimit{Unified: UnifiedLimits{Present: true, Status: UnifiedAllowed, StatusMissing: true, RepresentativeClaim: ClaimSevenDay}},
	}, {
		name: "non-canonical keys as set directly in the map",
		h: http.Header{
			"anthropic-ratelimit-unified-status":         {"rejected"},
			"anthropic-ratelimit-unified-7d_oi-status":   {"rejected"},
			"anthropic-ratelimit-unified-7d_oi-reset":    {"1763250000"},
			"anthropic-ratelimit-unified-5h-utilization": {"1.02"},
		},
		want: RateLimit{Unified: UnifiedLimits{
			Present: true,
			Status:  UnifiedRejected,
			Windows: map[string]UnifiedWindow{
				"7d_oi": {Status: UnifiedRejected, Reset: rlReset7d},
				"5h":    {Utilization: rlPtr(1.02)},
			},
		}},
	}, {
		name: "millisecond and RFC 3339 resets",
		h: rlHeader(
			"anthropic-ratelimit-unified-reset", "1762826400000",
			"anthropic-ratelimit-unified-5h-reset", "2025-11-11T02:00:00Z",
			"anthropic-ratelimit-unified-7d-reset", "2025-11-16T00:40:00+01:00",
			"anthropic-ratelimit-unified-7d_opus-reset", "1763250000.25",
			"anthropic-ratelimit-requests-reset", "1762826400",
		),
		want: RateLimit{
			Requests: RateLimitBucket{Present: true, Reset: rlReset5h},
			Unified: UnifiedLimits{
				Present: true, Status: UnifiedAllowed, StatusMissing: true,
				Reset: rlReset5h,
				Windows: map[string]UnifiedWindow{
					"5h":      {Reset: rlReset5h},
					"7d":      {Reset: rlReset7d},
					"7d_opus": {Reset: rlReset7d.Add(250 * time.Millisecond)},
				},
			},
		},
	}, {
		name: "retry headers",
		h: rlHeader(
			"retry-after", "30",
			"retry-after-ms", "1500.5",
			"x-should-retry", "false",
		),
		want: RateLimit{
			RetryAfter:        rlPtr(30 * time.Second),
			PreciseRetryAfter: rlPtr(1500*time.Millisecond + 500*time.Microsecond),
			ShouldRetry:       rlPtr(false),
			Unified:           allowedMissing,
		},
	}, {
		name: "retry-after as an HTTP date",
		h:    rlHeader("retry-after", "Tue, 11 Nov 2025 02:00:00 GMT", "x-should-retry", "TRUE"),
		want: RateLimit{RetryAfter: rlPtr(4 * time.Hour), ShouldRetry: rlPtr(true), Unified: allowedMissing},
	}, {
		name: "retry-after as a past HTTP date",
		h:    rlHeader("retry-after", "Mon, 10 Nov 2025 21:00:00 GMT"),
		want: RateLimit{RetryAfter: rlPtr(time.Duration(0)), Unified: allowedMissing},
	}, {
		name: "overage fields",
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-overage-status", "allowed_warning",
			"anthropic-ratelimit-unified-overage-reset", "1764547200",
			"anthropic-ratelimit-unified-overage-utilization", "0.8",
			"anthropic-ratelimit-unified-overage-surpassed-threshold", "0.75",
			"anthropic-ratelimit-unified-overage-in-use", "true",
			"anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits",
			"anthropic-ratelimit-unified-overage-period-monthly-utilization", "0.5",
			"anthropic-ratelimit-unified-overage-period-channel-utilization", "0.25",
			"anthropic-ratelimit-unified-upgrade-paths", "max_5x, max_20x,,",
			"anthropic-ratelimit-unified-fallback-percentage", "0.5",
		),
		want: RateLimit{Unified: UnifiedLimits{
			Present: true,
			Status:  UnifiedRejected,
			Overage: UnifiedOverage{
				UnifiedWindow: UnifiedWindow{
					Status:             UnifiedAllowedWarning,
					Utilization:        rlPtr(0.8),
					Reset:              time.Unix(1764547200, 0).UTC(),
					SurpassedThreshold: rlPtr(0.75),
				},
				DisabledReason:           OverageOutOfCredits,
				InUse:                    rlPtr(true),
				PeriodMonthlyUtilization: rlPtr(0.5),
				PeriodChannelUtilization: rlPtr(0.25),
			},
			UpgradePaths:       []string{"max_5x", "max_20x"},
			FallbackPercentage: rlPtr(0.5),
		}},
	}, {
		name: "unknown windows and headers kept",
		h: rlHeader(
			"anthropic-ratelimit-unified-7d_fable-status", "rejected",
			"anthropic-ratelimit-unified-7d_fable-utilization", "1.0",
			"anthropic-ratelimit-unified-1d-surpassed-threshold", "0.5",
			"anthropic-ratelimit-unified-representative-claim", "seven_day_oauth_apps",
			"anthropic-ratelimit-unified-overage-disabled-reason", "brand_new_reason",
			"anthropic-ratelimit-unified-shiny", "yes",
			"anthropic-ratelimit-priority-input-tokens-limit", "5",
			"x-unrelated", "whatever",
		),
		want: RateLimit{
			Unified: UnifiedLimits{
				Present: true, Status: UnifiedAllowed, StatusMissing: true,
				RepresentativeClaim: "seven_day_oauth_apps",
				Windows: map[string]UnifiedWindow{
					"7d_fable": {Status: UnifiedRejected, Utilization: rlPtr(1.0)},
					"1d":       {SurpassedThreshold: rlPtr(0.5)},
				},
				Overage: UnifiedOverage{DisabledReason: "brand_new_reason"},
			},
			Other: map[string]string{
				"anthropic-ratelimit-unified-shiny":               "yes",
				"anthropic-ratelimit-priority-input-tokens-limit": "5",
			},
		},
	}, {
		name: "malformed values are reported and the rest parsed",
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "blocked",
			"anthropic-ratelimit-unified-reset", "soon",
			"anthropic-ratelimit-unified-5h-utilization", "-0.5",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-utilization", "NaN",
			"anthropic-ratelimit-unified-7d-status", "",
			"anthropic-ratelimit-unified-overage-in-use", "yes",
			"anthropic-ratelimit-requests-limit", "1.5",
			"anthropic-ratelimit-requests-remaining", "12",
			"anthropic-ratelimit-tokens-reset", "0001-01-01T00:00:00Z",
			"retry-after", "soon",
			"retry-after-ms", "-3",
			"x-should-retry", "maybe",
		),
		want: RateLimit{
			Requests: RateLimitBucket{Present: true, Remaining: rlPtr[int64](12)},
			Tokens:   RateLimitBucket{Present: true},
			Unified: UnifiedLimits{
				Present: true,
				Status:  "blocked",
				Windows: map[string]UnifiedWindow{
					"5h": {Reset: rlReset5h},
					"7d": {},
				},
			},
		},
		wantErr: []string{
			"anthropic-ratelimit-requests-limit",
			"anthropic-ratelimit-tokens-reset",
			"anthropic-ratelimit-unified-5h-utilization",
			"anthropic-ratelimit-unified-7d-status",
			"anthropic-ratelimit-unified-7d-utilization",
			"anthropic-ratelimit-unified-overage-in-use",
			"anthropic-ratelimit-unified-reset",
			"anthropic-ratelimit-unified-status",
			"retry-after",
			"retry-after-ms",
			"x-should-retry",
		},
	}, {
		name: "out-of-range values",
		h: rlHeader(
			"anthropic-ratelimit-unified-reset", "99999999999999999",
			"anthropic-ratelimit-unified-5h-reset", "0",
			"anthropic-ratelimit-requests-limit", "99999999999999999999",
			"retry-after", "99999999999",
		),
		want: RateLimit{
			Requests: RateLimitBucket{Present: true},
			Unified:  UnifiedLimits{Present: true, Status: UnifiedAllowed, StatusMissing: true, Windows: map[string]UnifiedWindow{"5h": {}}},
		},
		wantErr: []string{
			"anthropic-ratelimit-requests-limit",
			"anthropic-ratelimit-unified-5h-reset",
			"anthropic-ratelimit-unified-reset",
			"retry-after",
		},
	}, {
		name: "a repeated header counts its first value",
		h: http.Header{
			"Anthropic-Ratelimit-Unified-Status": {"rejected", "allowed"},
			"anthropic-ratelimit-unified-status": {"allowed"},
		},
		want: RateLimit{Unified: UnifiedLimits{Present: true, Status: UnifiedRejected}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRateLimit(tt.h, rlNow)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRateLimit() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErr, rlHeaderErrors(t, err)); diff != "" {
				t.Errorf("ParseRateLimit() malformed headers (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestParseRateLimitGolden keeps full RateLimit values, with their errors,
// in testdata/ratelimit/<name>.golden; go test -update rewrites them.
func TestParseRateLimitGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    http.Header
	}{
		{"formats-example", rlHeader(rlFormatsExample...)},
		{"api-key", rlHeader(append(slices.Clone(rlAPIKeyExample), "retry-after", "12")...)},
		{"quota-429", rlHeader(
			"retry-after", "14400",
			"x-should-retry", "false",
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1763250000",
			"anthropic-ratelimit-unified-representative-claim", "seven_day",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-utilization", "1.02",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-status", "rejected",
			"anthropic-ratelimit-unified-7d-utilization", "1",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
			"anthropic-ratelimit-unified-overage-status", "rejected",
			"anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits",
			"request-id", "req_011CUaBcDeFgHiJkLmNoPqRs",
		)},
		{"model-scoped", rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1763250000",
			"anthropic-ratelimit-unified-representative-claim", "seven_day_overage_included",
			"anthropic-ratelimit-unified-5h-status", "allowed",
			"anthropic-ratelimit-unified-5h-utilization", "0.3",
			"anthropic-ratelimit-unified-5h-reset", "1762826400000",
			"anthropic-ratelimit-unified-7d-status", "allowed_warning",
			"anthropic-ratelimit-unified-7d-utilization", "0.81",
			"anthropic-ratelimit-unified-7d-surpassed-threshold", "0.75",
			"anthropic-ratelimit-unified-7d-reset", "2025-11-15T23:40:00Z",
			"anthropic-ratelimit-unified-7d_oi-status", "rejected",
			"anthropic-ratelimit-unified-7d_oi-utilization", "1.0",
			"anthropic-ratelimit-unified-7d_oi-reset", "1763250000",
			"anthropic-ratelimit-unified-7d_opus-status", "allowed",
			"anthropic-ratelimit-unified-7d_opus-utilization", "0.05",
			"anthropic-ratelimit-unified-7d_sonnet-utilization", "0.1",
		)},
		{"malformed", rlHeader(
			"anthropic-ratelimit-unified-status", "nope",
			"anthropic-ratelimit-unified-5h-utilization", "0,42",
			"anthropic-ratelimit-unified-5h-reset", "tomorrow",
			"anthropic-ratelimit-unified-7d-utilization", "0.18",
			"anthropic-ratelimit-unified-representative-claim", "",
			"anthropic-ratelimit-tokens-remaining", "-1",
			"retry-after", "1e3",
			"anthropic-ratelimit-unified-7d_new-status", "rejected",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rl, err := ParseRateLimit(tt.h, rlNow)
			var errs []string
			if err != nil {
				errs = strings.Split(err.Error(), "\n")
			}
			got, merr := json.MarshalIndent(struct {
				RateLimit RateLimit `json:"rateLimit"`
				Errors    []string  `json:"errors,omitempty"`
			}{rl, errs}, "", "  ")
			if merr != nil {
				t.Fatal(merr)
			}
			got = append(got, '\n')
			rlCheckGolden(t, filepath.Join("testdata", "ratelimit", tt.name+".golden"), got)
		})
	}
}

func rlCheckGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	rateLimitBody := []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit. Please try again later."},"request_id":"req_011CUaBcDeFgHiJkLmNoPqRs"}`)
	overloadedBody := []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CUaBcDeFgHiJkLmNoPqRt"}`)
	const rateLimitMsg = "This request would exceed your account's rate limit. Please try again later."
	resetOI := time.Date(2025, 11, 13, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		status        int
		h             http.Header
		body          []byte
		want          Verdict
		wantMalformed bool
	}{{
		name:   "200 allowed_warning carries the utilization",
		status: 200,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "allowed_warning",
			"anthropic-ratelimit-unified-5h-utilization", "0.91",
			"anthropic-ratelimit-unified-5h-surpassed-threshold", "0.9",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-utilization", "0.18",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
		),
		body: []byte(`{"id":"msg_01","type":"message","content":[]}`),
		want: Verdict{Kind: VerdictOK, Status: 200},
	}, {
		name:   "200 with the docs/formats.md example: overage rejected is no limit",
		status: 200,
		h:      rlHeader(rlFormatsExample...),
		want:   Verdict{Kind: VerdictOK, Status: 200, Rejected: []string{"overage"}},
	}, {
		name:   "200 reporting another family rejected",
		status: 200,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "allowed",
			"anthropic-ratelimit-unified-7d_opus-status", "rejected",
			"anthropic-ratelimit-unified-7d_opus-reset", "1763250000",
		),
		want: Verdict{
			Kind: VerdictOK, Status: 200, Rejected: []string{"7d_opus"},
			ModelLimits: []ModelLimit{{Window: "7d_opus", Family: "opus", Until: rlReset7d}},
		},
	}, {
		name:   "quota: 5h and 7d rejected, the later reset wins",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1762826400",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-status", "rejected",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
			"request-id", "req_header",
		),
		body: rateLimitBody,
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlReset7d, RetryAfter: rlReset7d.Sub(rlNow),
			Window: "7d", Rejected: []string{"5h", "7d"}, RetryElsewhere: true,
			ErrorType: "rate_limit_error", ErrorMessage: rateLimitMsg, RequestID: "req_header",
		},
	}, {
		name:   "quota: the claim names the window; a later retry-after wins",
		status: 429,
		h: rlHeader(
			"retry-after", "18000",
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1762826400",
			"anthropic-ratelimit-unified-representative-claim", "5h",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
		),
		body: rateLimitBody,
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlNow.Add(5 * time.Hour), RetryAfter: 5 * time.Hour,
			Window: "5h", Rejected: []string{"5h"}, RetryElsewhere: true,
			ErrorType: "rate_limit_error", ErrorMessage: rateLimitMsg, RequestID: "req_011CUaBcDeFgHiJkLmNoPqRs",
		},
	}, {
		name:   "quota: a gateway's own cap (docs/formats.md §0), billing_error body",
		status: 429,
		h: rlHeader(
			"retry-after", "3600",
			"x-should-retry", "false",
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1762821000", // now + 2h30m
		),
		body: []byte(`{"type":"error","error":{"type":"billing_error","message":"Your pool cap resets at 00:30 UTC."}}`),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlNow.Add(150 * time.Minute), RetryAfter: 150 * time.Minute,
			RetryElsewhere: true, ErrorType: "billing_error", ErrorMessage: "Your pool cap resets at 00:30 UTC.",
		},
	}, {
		name:   "quota without any reset: MinQuotaPause",
		status: 429,
		h:      rlHeader("anthropic-ratelimit-unified-status", "rejected"),
		want:   Verdict{Kind: VerdictQuota, Status: 429, Until: rlNow.Add(MinQuotaPause), RetryAfter: MinQuotaPause, RetryElsewhere: true},
	}, {
		name:   "quota with a reset already past (clock skew): MinQuotaPause",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "1762800000",
		),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlNow.Add(MinQuotaPause), RetryAfter: MinQuotaPause,
			Window: "5h", Rejected: []string{"5h"}, RetryElsewhere: true,
		},
	}, {
		name:   "quota with a reset centuries away: RetryAfter saturates",
		status: 429,
		h:      rlHeader("anthropic-ratelimit-unified-status", "rejected", "anthropic-ratelimit-unified-reset", "9999-12-31T23:59:59Z"),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
			RetryAfter: math.MaxInt64, RetryElsewhere: true,
		},
	}, {
		name:   "quota: a window rejected under a top-level allowed",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "allowed",
			"anthropic-ratelimit-unified-7d-status", "rejected",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
		),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlReset7d, RetryAfter: rlReset7d.Sub(rlNow),
			Window: "7d", Rejected: []string{"7d"}, RetryElsewhere: true,
		},
	}, {
		name:   "quota: 5h rejected and 7d_opus rejected: the subscription until 5h, opus listed",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d_opus-status", "rejected",
			"anthropic-ratelimit-unified-7d_opus-reset", "1763250000",
		),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlReset5h, RetryAfter: 4 * time.Hour,
			Window: "5h", Rejected: []string{"5h", "7d_opus"}, RetryElsewhere: true,
			ModelLimits: []ModelLimit{{Window: "7d_opus", Family: "opus", Until: rlReset7d}},
		},
	}, {
		name:   "quota: plan-limit 429 with overage-disabled-reason and no status (Claude Code)",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-reset", "1762826400",
			"anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits",
		),
		want: Verdict{Kind: VerdictQuota, Status: 429, Until: rlReset5h, RetryAfter: 4 * time.Hour, RetryElsewhere: true},
	}, {
		name:   "quota: overage out of credits while 5h and 7d are not reported",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1762826400",
			"anthropic-ratelimit-unified-overage-status", "rejected",
			"anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits",
		),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlReset5h, RetryAfter: 4 * time.Hour,
			Rejected: []string{"overage"}, RetryElsewhere: true,
		},
	}, {
		name:   "model quota: 5h allowed, 7d allowed, 7d_oi rejected",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "allowed",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-status", "allowed",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
			"anthropic-ratelimit-unified-7d_oi-status", "rejected",
			"anthropic-ratelimit-unified-7d_oi-reset", "1763024400", // 2025-11-13T09:00:00Z
		),
		body: rateLimitBody,
		want: Verdict{
			Kind: VerdictModelQuota, Status: 429, Until: resetOI, RetryAfter: resetOI.Sub(rlNow),
			Window: "7d_oi", Family: "oi", Rejected: []string{"7d_oi"}, RetryElsewhere: true,
			ModelLimits: []ModelLimit{{Window: "7d_oi", Family: "oi", Until: resetOI}},
			ErrorType:   "rate_limit_error", ErrorMessage: rateLimitMsg, RequestID: "req_011CUaBcDeFgHiJkLmNoPqRs",
		},
	}, {
		name:   "model quota: claimed seven_day_opus",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1763250000",
			"anthropic-ratelimit-unified-representative-claim", "seven_day_opus",
			"anthropic-ratelimit-unified-5h-status", "allowed",
		),
		want: Verdict{
			Kind: VerdictModelQuota, Status: 429, Until: rlReset7d, RetryAfter: rlReset7d.Sub(rlNow),
			Window: "7d_opus", Family: "opus", RetryElsewhere: true,
			ModelLimits: []ModelLimit{{Window: "7d_opus", Family: "opus", Until: rlReset7d}},
		},
	}, {
		name:   "model quota: overage out of credits while 5h and 7d are allowed",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-representative-claim", "overage",
			"anthropic-ratelimit-unified-5h-status", "allowed",
			"anthropic-ratelimit-unified-7d-status", "allowed_warning",
			"anthropic-ratelimit-unified-overage-status", "rejected",
			"anthropic-ratelimit-unified-overage-reset", "1764547200",
			"anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits",
		),
		want: Verdict{
			Kind: VerdictModelQuota, Status: 429, Until: time.Unix(1764547200, 0).UTC(), RetryAfter: time.Unix(1764547200, 0).Sub(rlNow),
			Window: "overage", Rejected: []string{"overage"}, RetryElsewhere: true,
			ModelLimits: []ModelLimit{{Window: "overage", Until: time.Unix(1764547200, 0).UTC()}},
		},
	}, {
		name:   "throttle: 429 rate_limit_error with retry-after, unified allowed",
		status: 429,
		h:      rlHeader(append([]string{"retry-after", "30"}, rlFormatsExample...)...),
		body:   rateLimitBody,
		want: Verdict{
			Kind: VerdictThrottle, Status: 429, Until: rlNow.Add(30 * time.Second), RetryAfter: 30 * time.Second,
			Rejected: []string{"overage"}, RetryElsewhere: true,
			ErrorType: "rate_limit_error", ErrorMessage: rateLimitMsg, RequestID: "req_011CUaBcDeFgHiJkLmNoPqRs",
		},
	}, {
		name:   "throttle: retry-after-ms wins",
		status: 429,
		h:      rlHeader("retry-after", "2", "retry-after-ms", "1500"),
		want:   Verdict{Kind: VerdictThrottle, Status: 429, Until: rlNow.Add(1500 * time.Millisecond), RetryAfter: 1500 * time.Millisecond, RetryElsewhere: true},
	}, {
		name:   "throttle: API-key buckets without retry-after",
		status: 429,
		h:      rlHeader("anthropic-ratelimit-requests-limit", "1000", "anthropic-ratelimit-requests-remaining", "0"),
		want:   Verdict{Kind: VerdictThrottle, Status: 429, Until: rlNow.Add(DefaultThrottlePause), RetryAfter: DefaultThrottlePause, RetryElsewhere: true},
	}, {
		name:   "throttle: retry-after 0 pauses DefaultThrottlePause",
		status: 429,
		h:      rlHeader("retry-after", "0"),
		want:   Verdict{Kind: VerdictThrottle, Status: 429, Until: rlNow.Add(DefaultThrottlePause), RetryAfter: DefaultThrottlePause, RetryElsewhere: true},
	}, {
		name:   "request-scoped: a bare 429",
		status: 429,
		h:      rlHeader("request-id", "req_1", "x-should-retry", "true"),
		body:   rateLimitBody,
		want: Verdict{
			Kind: VerdictRequestScoped, Status: 429, RetryElsewhere: true,
			ErrorType: "rate_limit_error", ErrorMessage: rateLimitMsg, RequestID: "req_1",
		},
	}, {
		name:   "request-scoped: a bare 429 without a body",
		status: 429,
		want:   Verdict{Kind: VerdictRequestScoped, Status: 429, RetryElsewhere: true},
	}, {
		name:   "overloaded: 529",
		status: 529,
		body:   overloadedBody,
		want: Verdict{
			Kind: VerdictOverloaded, Status: 529, Until: rlNow.Add(DefaultOverloadedPause), RetryAfter: DefaultOverloadedPause,
			RetryElsewhere: true, ErrorType: "overloaded_error", ErrorMessage: "Overloaded", RequestID: "req_011CUaBcDeFgHiJkLmNoPqRt",
		},
	}, {
		name:   "overloaded: 529 with retry-after",
		status: 529,
		h:      rlHeader("retry-after", "5"),
		want:   Verdict{Kind: VerdictOverloaded, Status: 529, Until: rlNow.Add(5 * time.Second), RetryAfter: 5 * time.Second, RetryElsewhere: true},
	}, {
		name:   "overloaded: a 200 whose body is an overloaded_error (mid-stream)",
		status: 200,
		body:   []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
		want: Verdict{
			Kind: VerdictOverloaded, Status: 200, Until: rlNow.Add(DefaultOverloadedPause), RetryAfter: DefaultOverloadedPause,
			MidStream: true, RetryElsewhere: true, ErrorType: "overloaded_error", ErrorMessage: "Overloaded",
		},
	}, {
		name:   "overloaded: a 200 with the SSE error event itself",
		status: 200,
		body:   []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"),
		want: Verdict{
			Kind: VerdictOverloaded, Status: 200, Until: rlNow.Add(DefaultOverloadedPause), RetryAfter: DefaultOverloadedPause,
			MidStream: true, RetryElsewhere: true, ErrorType: "overloaded_error", ErrorMessage: "Overloaded",
		},
	}, {
		name:   "server error: a 200 whose stream ended in an api_error",
		status: 200,
		body:   []byte(`{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`),
		want: Verdict{
			Kind: VerdictServerError, Status: 200, MidStream: true,
			ErrorType: "api_error", ErrorMessage: "Internal server error",
		},
	}, {
		name:   "ok: a 200 message that merely mentions overloaded_error",
		status: 200,
		body:   []byte(`{"type":"message","content":[{"type":"text","text":"{\"type\":\"overloaded_error\"}"}]}`),
		want:   Verdict{Kind: VerdictOK, Status: 200},
	}, {
		name:   "overloaded: a 500 with an overloaded_error body",
		status: 500,
		body:   overloadedBody,
		want: Verdict{
			Kind: VerdictOverloaded, Status: 500, Until: rlNow.Add(DefaultOverloadedPause), RetryAfter: DefaultOverloadedPause,
			RetryElsewhere: true, ErrorType: "overloaded_error", ErrorMessage: "Overloaded", RequestID: "req_011CUaBcDeFgHiJkLmNoPqRt",
		},
	}, {
		name:   "overloaded: a truncated body containing the type",
		status: 503,
		body:   []byte(`{"type":"error","error":{"type":"overloaded_error","mess`),
		want: Verdict{
			Kind: VerdictOverloaded, Status: 503, Until: rlNow.Add(DefaultOverloadedPause), RetryAfter: DefaultOverloadedPause,
			RetryElsewhere: true, ErrorType: "overloaded_error",
		},
	}, {
		name:   "auth: 401 with x-should-retry false, the bearer is bad",
		status: 401,
		h:      rlHeader("x-should-retry", "false"),
		body:   []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`),
		want: Verdict{
			Kind: VerdictAuth, Status: 401, BadCredential: true, RetryElsewhere: true,
			ErrorType: "authentication_error", ErrorMessage: "invalid x-api-key",
		},
	}, {
		name:   "auth: 401 without x-should-retry",
		status: 401,
		body:   []byte("Unauthorized"),
		want:   Verdict{Kind: VerdictAuth, Status: 401, RetryElsewhere: true},
	}, {
		name:   "auth: 403 permission_error",
		status: 403,
		body:   []byte(`{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement"}}`),
		want: Verdict{
			Kind: VerdictAuth, Status: 403, RetryElsewhere: true,
			ErrorType: "permission_error", ErrorMessage: "OAuth token does not meet scope requirement",
		},
	}, {
		name:   "auth: an authentication_error body under 400",
		status: 400,
		body:   []byte(`{"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired"}}`),
		want: Verdict{
			Kind: VerdictAuth, Status: 400, RetryElsewhere: true,
			ErrorType: "authentication_error", ErrorMessage: "OAuth token has expired",
		},
	}, {
		name:   "billing: 402",
		status: 402,
		body:   []byte(`{"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low"}}`),
		want: Verdict{
			Kind: VerdictBilling, Status: 402, RetryElsewhere: true,
			ErrorType: "billing_error", ErrorMessage: "Your credit balance is too low",
		},
	}, {
		name:   "billing: a billing_error body under 400",
		status: 400,
		body:   []byte(`{"type":"error","error":{"type":"billing_error","message":"x"}}`),
		want:   Verdict{Kind: VerdictBilling, Status: 400, RetryElsewhere: true, ErrorType: "billing_error", ErrorMessage: "x"},
	}, {
		name:   "client error: 400 invalid_request_error",
		status: 400,
		body:   []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_body"}`),
		want: Verdict{
			Kind: VerdictClientError, Status: 400,
			ErrorType: "invalid_request_error", ErrorMessage: "max_tokens: Field required", RequestID: "req_body",
		},
	}, {
		name:   "client error: 413",
		status: 413,
		body:   []byte(`{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`),
		want: Verdict{
			Kind: VerdictClientError, Status: 413,
			ErrorType: "request_too_large", ErrorMessage: "Request exceeds the maximum allowed number of bytes.",
		},
	}, {
		name:   "client error: 409 is the client's to retry",
		status: 409,
		body:   []byte(`{"type":"error","error":{"type":"conflict_error","message":"conflict"}}`),
		want:   Verdict{Kind: VerdictClientError, Status: 409, ErrorType: "conflict_error", ErrorMessage: "conflict"},
	}, {
		name:   "client error: 404 with x-should-retry true is the client's to retry",
		status: 404,
		h:      rlHeader("x-should-retry", "true"),
		want:   Verdict{Kind: VerdictClientError, Status: 404},
	}, {
		name:   "server error: 500 api_error",
		status: 500,
		body:   []byte(`{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`),
		want:   Verdict{Kind: VerdictServerError, Status: 500, ErrorType: "api_error", ErrorMessage: "Internal server error"},
	}, {
		name:   "server error: 502 with an HTML body and retry-after",
		status: 502,
		h:      rlHeader("retry-after", "3"),
		body:   []byte("<html><body>502 Bad Gateway</body></html>"),
		want:   Verdict{Kind: VerdictServerError, Status: 502, RetryAfter: 3 * time.Second},
	}, {
		name:   "server error: an unexpected 302",
		status: 302,
		want:   Verdict{Kind: VerdictServerError, Status: 302},
	}, {
		name:   "malformed headers: the verdict is made of the rest",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "soon",
			"anthropic-ratelimit-unified-7d-status", "rejected",
			"anthropic-ratelimit-unified-7d-reset", "1763250000",
		),
		want: Verdict{
			Kind: VerdictQuota, Status: 429, Until: rlReset7d, RetryAfter: rlReset7d.Sub(rlNow),
			Window: "7d", Rejected: []string{"5h", "7d"}, RetryElsewhere: true,
		},
		wantMalformed: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tt.status, tt.h, tt.body, rlNow)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Verdict{}, "Limits", "Malformed"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Classify() mismatch (-want +got):\n%s", diff)
			}
			if (got.Malformed != nil) != tt.wantMalformed {
				t.Errorf("Classify().Malformed = %v, want malformed %v", got.Malformed, tt.wantMalformed)
			}
			wantLimits, _ := ParseRateLimit(tt.h, rlNow)
			if diff := cmp.Diff(wantLimits, got.Limits); diff != "" {
				t.Errorf("Classify().Limits differs from ParseRateLimit (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClassifyCarriesWindows checks that an OK verdict hands the pool the
// reported windows.
func TestClassifyCarriesWindows(t *testing.T) {
	t.Parallel()
	v := Classify(200, rlHeader(
		"anthropic-ratelimit-unified-status", "allowed_warning",
		"anthropic-ratelimit-unified-5h-utilization", "0.91",
		"anthropic-ratelimit-unified-5h-surpassed-threshold", "0.9",
		"anthropic-ratelimit-unified-5h-reset", "1762826400",
		"anthropic-ratelimit-unified-7d-utilization", "0.18",
		"anthropic-ratelimit-unified-7d-reset", "1763250000",
	), nil, rlNow)
	type window struct {
		Utilization float64
		Reset       time.Time
		Reported    bool
	}
	get := func(w UnifiedWindow, ok bool) window {
		if w.Utilization == nil {
			return window{Reset: w.Reset, Reported: ok}
		}
		return window{*w.Utilization, w.Reset, ok}
	}
	got := []window{get(v.Limits.Unified.FiveHour()), get(v.Limits.Unified.SevenDay())}
	want := []window{{0.91, rlReset5h, true}, {0.18, rlReset7d, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
	if v.Limits.Unified.Status != UnifiedAllowedWarning {
		t.Errorf("status = %q, want allowed_warning", v.Limits.Unified.Status)
	}
}

func TestUsingOverage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, overage string
		want            bool
	}{
		{"rejected", "allowed", true},
		{"rejected", "allowed_warning", true},
		{"rejected", "rejected", false},
		{"allowed", "allowed", false},
		{"rejected", "", false},
	}
	for _, tt := range tests {
		h := rlHeader("anthropic-ratelimit-unified-status", tt.status)
		if tt.overage != "" {
			h.Set("anthropic-ratelimit-unified-overage-status", tt.overage)
		}
		rl, _ := ParseRateLimit(h, rlNow)
		if got := rl.Unified.UsingOverage(); got != tt.want {
			t.Errorf("status %s, overage %q: UsingOverage() = %v, want %v", tt.status, tt.overage, got, tt.want)
		}
	}
}

func TestClaimWindow(t *testing.T) {
	t.Parallel()
	tests := map[UnifiedClaim]string{
		"":                           "",
		ClaimFiveHour:                "5h",
		ClaimSevenDay:                "7d",
		ClaimSevenDayOpus:            "7d_opus",
		ClaimSevenDaySonnet:          "7d_sonnet",
		ClaimSevenDayOverageIncluded: "7d_oi",
		ClaimOverage:                 "overage",
		"seven_day_oauth_apps":       "7d_oauth_apps",
		"something":                  "something",
	}
	for c, want := range tests {
		if got := c.Window(); got != want {
			t.Errorf("UnifiedClaim(%q).Window() = %q, want %q", c, got, want)
		}
	}
}

func TestOverageDisabledReasonKnown(t *testing.T) {
	t.Parallel()
	for _, r := range []OverageDisabledReason{"overage_not_provisioned", "org_level_disabled", "org_level_disabled_until",
		"out_of_credits", "seat_tier_level_disabled", "member_level_disabled", "seat_tier_zero_credit_limit",
		"group_zero_credit_limit", "member_zero_credit_limit", "org_service_level_disabled", "no_limits_configured",
		"fetch_error", "unknown"} {
		if !r.Known() {
			t.Errorf("%q.Known() = false", r)
		}
	}
	if OverageDisabledReason("brand_new").Known() {
		t.Error(`"brand_new".Known() = true`)
	}
}

func TestThrottleBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		retryAfter  time.Duration
		consecutive int
		want        time.Duration
	}{
		{30 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, 1, 30 * time.Second},
		{30 * time.Second, 2, time.Minute},
		{30 * time.Second, 3, 2 * time.Minute},
		{30 * time.Second, 4, 4 * time.Minute},
		{30 * time.Second, 5, MaxThrottleBackoff},
		{30 * time.Second, math.MaxInt, MaxThrottleBackoff},
		{0, 1, DefaultThrottlePause},
		{-time.Second, 2, 2 * DefaultThrottlePause},
		{time.Hour, 3, time.Hour}, // the server asked for longer than the cap
		{MaxThrottleBackoff, 9, MaxThrottleBackoff},
		{time.Nanosecond, 64, MaxThrottleBackoff},
	}
	for _, tt := range tests {
		if got := ThrottleBackoff(tt.retryAfter, tt.consecutive); got != tt.want {
			t.Errorf("ThrottleBackoff(%v, %d) = %v, want %v", tt.retryAfter, tt.consecutive, got, tt.want)
		}
	}
}

func TestVerdictString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		h      http.Header
		body   []byte
		want   string
	}{{
		name:   "quota",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-utilization", "1.02",
			"anthropic-ratelimit-unified-5h-reset", "1762826400",
			"anthropic-ratelimit-unified-7d-utilization", "0.5",
			"request-id", "req_1",
		),
		body: []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"limit\nreached"}}`),
		want: `quota status=429 until=2025-11-11T02:00:00Z retry-after=4h0m0s window=5h rejected=5h 5h=102% 7d=50% retry-elsewhere type=rate_limit_error message="limit\nreached" request-id=req_1`,
	}, {
		name:   "model quota",
		status: 429,
		h: rlHeader(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-7d_oi-status", "rejected",
			"anthropic-ratelimit-unified-7d_oi-reset", "1763250000",
		),
		want: "model-quota status=429 until=2025-11-15T23:40:00Z retry-after=121h40m0s window=7d_oi family=oi rejected=7d_oi retry-elsewhere",
	}, {
		name:   "auth",
		status: 401,
		h:      rlHeader("x-should-retry", "false", "request-id", "req 2"),
		want:   `auth status=401 retry-elsewhere bad-credential request-id="req 2"`,
	}, {
		name:   "ok with a malformed header",
		status: 200,
		h:      rlHeader("anthropic-ratelimit-unified-5h-utilization", "lots"),
		want:   "ok status=200 malformed-headers",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.status, tt.h, tt.body, rlNow).String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestVerdictKindString(t *testing.T) {
	t.Parallel()
	want := []string{"ok", "quota", "model-quota", "throttle", "request-scoped", "overloaded", "auth", "billing", "client-error", "server-error"}
	var got []string
	for k := VerdictOK; k <= VerdictServerError; k++ {
		got = append(got, k.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if s := VerdictKind(200).String(); s != "VerdictKind(200)" {
		t.Errorf("VerdictKind(200).String() = %q", s)
	}
	b, err := json.Marshal(struct{ K VerdictKind }{VerdictModelQuota})
	if err != nil || string(b) != `{"K":"model-quota"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	var back struct{ K VerdictKind }
	if err := json.Unmarshal(b, &back); err != nil || back.K != VerdictModelQuota {
		t.Errorf("json.Unmarshal = %v, %v", back.K, err)
	}
	if err := json.Unmarshal([]byte(`{"K":"nope"}`), &back); err == nil {
		t.Error("json.Unmarshal of an unknown kind: no error")
	}
}

// rlFuzzHeader turns fuzzer text into a header: one "name: value" a line,
// names used as they are (not canonicalized), so that odd spellings reach
// the parser.
func rlFuzzHeader(text string) http.Header {
	h := make(http.Header)
	for line := range strings.SplitSeq(text, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h[name] = append(h[name], strings.TrimSpace(value))
	}
	return h
}

// rlFuzzNow maps a fuzzer number to a time between 1970 and 2300.
func rlFuzzNow(n int64) time.Time {
	const span = 10_000_000_000 // seconds
	n %= span
	if n < 0 {
		n += span
	}
	return time.Unix(n, 0).UTC()
}

// FuzzParseRateLimit checks, for any headers: no panic; every error is a
// *HeaderError naming a header that is present, with its value; every
// reset parsed without an error for its header is a non-zero time after
// 1970 and by year 9999; numbers are finite and non-negative, pauses
// non-negative; and the value marshals as JSON.
func FuzzParseRateLimit(f *testing.F) {
	f.Add(strings.Join(rlPairs(rlFormatsExample), "\n"), int64(1762812000))
	f.Fuzz(func(t *testing.T, text string, nowUnix int64) {
		h := rlFuzzHeader(text)
		now := rlFuzzNow(nowUnix)
		rl, err := ParseRateLimit(h, now)
		bad := make(map[string]bool)
		for _, name := range rlHeaderErrors(t, err) {
			bad[name] = true
			found := false
			for k := range h {
				found = found || strings.ToLower(strings.TrimSpace(k)) == name
			}
			if !found {
				t.Errorf("error names header %q, which is not in %v", name, h)
			}
		}
		checkReset := func(header string, r time.Time) {
			if r.IsZero() {
				if _, present := rlLookup(h, header); present && !bad[header] {
					t.Errorf("%s present without an error but its reset is zero", header)
				}
				return
			}
			if r.Unix() <= 0 || r.Year() > 9999 {
				t.Errorf("%s: reset %v out of range", header, r)
			}
		}
		checkNumber := func(name string, f *float64) {
			if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0) || *f < 0) {
				t.Errorf("%s = %v", name, *f)
			}
		}
		for _, b := range []struct {
			name string
			b    RateLimitBucket
		}{{"requests", rl.Requests}, {"tokens", rl.Tokens}, {"input-tokens", rl.InputTokens}, {"output-tokens", rl.OutputTokens}} {
			checkReset(ratelimitPrefix+b.name+"-reset", b.b.Reset)
			if (b.b.Limit != nil && *b.b.Limit < 0) || (b.b.Remaining != nil && *b.b.Remaining < 0) {
				t.Errorf("bucket %s negative: %+v", b.name, b.b)
			}
		}
		u := rl.Unified
		checkReset(unifiedPrefix+"reset", u.Reset)
		checkNumber("fallback-percentage", u.FallbackPercentage)
		windows := map[string]UnifiedWindow{WindowOverage: u.Overage.UnifiedWindow}
		for name, w := range u.Windows {
			windows[name] = w
		}
		for name, w := range windows {
			if len(name) <= 64 { // longer names are clipped
				checkReset(unifiedPrefix+name+"-reset", w.Reset)
			}
			checkNumber(name+"-utilization", w.Utilization)
			checkNumber(name+"-surpassed-threshold", w.SurpassedThreshold)
		}
		checkNumber("overage-period-monthly-utilization", u.Overage.PeriodMonthlyUtilization)
		checkNumber("overage-period-channel-utilization", u.Overage.PeriodChannelUtilization)
		for _, d := range []*time.Duration{rl.RetryAfter, rl.PreciseRetryAfter} {
			if d != nil && (*d < 0 || *d > maxRetryAfter) {
				t.Errorf("pause %v out of range", *d)
			}
		}
		if u.StatusMissing && u.Status != UnifiedAllowed {
			t.Errorf("status missing but %q", u.Status)
		}
		if _, err := json.Marshal(rl); err != nil {
			t.Errorf("json.Marshal: %v", err)
		}
	})
}

// rlLookup returns the first value of a header matched case-insensitively,
// as ParseRateLimit reads it.
func rlLookup(h http.Header, name string) (string, bool) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.ToLower(strings.TrimSpace(k)) == name && len(h[k]) > 0 {
			return h[k][0], true
		}
	}
	return "", false
}

func rlPairs(kv []string) []string {
	var lines []string
	for i := 0; i+1 < len(kv); i += 2 {
		lines = append(lines, kv[i]+": "+kv[i+1])
	}
	return lines
}

// FuzzClassify checks, for any status, headers and body: no panic; the kind
// is one of the ten; Limits is what ParseRateLimit gives; a 2xx is
// VerdictOK unless MidStream (then VerdictOverloaded or
// VerdictServerError); VerdictQuota, VerdictModelQuota, VerdictThrottle and
// VerdictOverloaded have Until after now and RetryAfter = Until - now > 0,
// the other kinds a zero Until; a VerdictQuota's Until is no earlier than
// any rejected 5h or 7d reset or the top-level reset that is in the future;
// a VerdictModelQuota names a window and lists it in ModelLimits with its
// Until; VerdictQuota and VerdictModelQuota come from a 429 only, and
// BadCredential from a 401 VerdictAuth only; RetryElsewhere is false for
// VerdictOK; String is one line starting with the kind; the message is at
// most 1 KiB; the body is not modified.
func FuzzClassify(f *testing.F) {
	f.Add(429, strings.Join(rlPairs(rlFormatsExample), "\n"), []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"x"}}`), int64(1762812000))
	f.Fuzz(func(t *testing.T, status int, text string, body []byte, nowUnix int64) {
		h := rlFuzzHeader(text)
		now := rlFuzzNow(nowUnix)
		orig := bytes.Clone(body)
		v := Classify(status, h, body, now)
		if v.Kind > VerdictServerError {
			t.Fatalf("kind %d", v.Kind)
		}
		if v.Status != status {
			t.Errorf("Status = %d, want %d", v.Status, status)
		}
		rl, _ := ParseRateLimit(h, now)
		if diff := cmp.Diff(rl, v.Limits); diff != "" {
			t.Errorf("Limits differ from ParseRateLimit:\n%s", diff)
		}
		if status >= 200 && status <= 299 {
			if v.MidStream != (v.Kind != VerdictOK) || (v.MidStream && v.Kind != VerdictOverloaded && v.Kind != VerdictServerError) {
				t.Errorf("2xx gave %v, mid-stream %v", v.Kind, v.MidStream)
			}
		}
		switch v.Kind {
		case VerdictQuota, VerdictModelQuota, VerdictThrottle, VerdictOverloaded:
			if !v.Until.After(now) {
				t.Errorf("%v: Until %v not after now %v", v.Kind, v.Until, now)
			}
			if v.RetryAfter <= 0 || (v.RetryAfter < math.MaxInt64 && !now.Add(v.RetryAfter).Equal(v.Until)) {
				t.Errorf("%v: RetryAfter %v, Until - now %v", v.Kind, v.RetryAfter, v.Until.Sub(now))
			}
		default:
			if !v.Until.IsZero() {
				t.Errorf("%v: Until %v, want zero", v.Kind, v.Until)
			}
		}
		switch v.Kind {
		case VerdictQuota:
			u := v.Limits.Unified
			for _, name := range []string{WindowFiveHour, WindowSevenDay} {
				if w := u.Windows[name]; w.Rejected() && w.Reset.After(now) && v.Until.Before(w.Reset) {
					t.Errorf("Until %v before the %s reset %v", v.Until, name, w.Reset)
				}
			}
			if u.Reset.After(now) && v.Until.Before(u.Reset) {
				t.Errorf("Until %v before the reset %v", v.Until, u.Reset)
			}
		case VerdictModelQuota:
			for _, name := range []string{WindowFiveHour, WindowSevenDay} {
				if v.Limits.Unified.Windows[name].Rejected() {
					t.Errorf("model quota with %s rejected", name)
				}
			}
			i := slices.IndexFunc(v.ModelLimits, func(l ModelLimit) bool { return l.Window == v.Window })
			if v.Window == "" || i < 0 || !v.ModelLimits[i].Until.Equal(v.Until) {
				t.Errorf("model quota window %q, limits %v", v.Window, v.ModelLimits)
			}
		}
		if (v.Kind == VerdictQuota || v.Kind == VerdictModelQuota) && status != http.StatusTooManyRequests {
			t.Errorf("%v from status %d", v.Kind, status)
		}
		if v.BadCredential && (status != 401 || v.Kind != VerdictAuth) {
			t.Errorf("bad credential from %d %v", status, v.Kind)
		}
		if v.Kind == VerdictOK && v.RetryElsewhere {
			t.Error("OK with RetryElsewhere")
		}
		for _, l := range v.ModelLimits {
			if !l.Until.After(now) {
				t.Errorf("model limit %v not after now", l)
			}
		}
		if len(v.ErrorMessage) > 1024 {
			t.Errorf("message of %d bytes", len(v.ErrorMessage))
		}
		if s := v.String(); strings.ContainsAny(s, "\n\r") || !strings.HasPrefix(s, v.Kind.String()) {
			t.Errorf("String() = %q", s)
		}
		if !bytes.Equal(orig, body) {
			t.Error("Classify changed the body")
		}
	})
}
