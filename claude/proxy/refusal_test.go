package proxy

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
)

// The pool's exhaustion 429 says, for every state of the pool, which
// subscriptions refuse and why, and when the first is back — or that it is
// not known, or that only the operator can bring one back — with the retry
// headers that go with it.
func TestExhaustedResponse(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	type reasons = map[authpool.Reason]int
	for _, tc := range []struct {
		name string
		ex   authpool.ExhaustedError
		// want: retry-after ("" for none), x-should-retry, message.
		retryAfter, shouldRetry, message string
	}{{
		name:       "limited, back within the bound",
		ex:         authpool.ExhaustedError{Reasons: reasons{authpool.ReasonLimited: 2}, RetryAt: now.Add(6500 * time.Millisecond)},
		retryAfter: "7", shouldRetry: "true",
		message: "authpool: the pool's 2 subscriptions all refuse the request (2 limited); the first is expected back in 7 s: retry then",
	}, {
		name:       "full, freeing within the bound (once slots report when they free)",
		ex:         authpool.ExhaustedError{Reasons: reasons{authpool.ReasonFull: 3}, RetryAt: now.Add(40 * time.Second)},
		retryAfter: "40", shouldRetry: "true",
		message: "authpool: the pool's 3 subscriptions all refuse the request (3 full); the first is expected back in 40 s: retry then",
	}, {
		name:        "full, no time known",
		ex:          authpool.ExhaustedError{Reasons: reasons{authpool.ReasonFull: 3}},
		shouldRetry: "false",
		message:     "authpool: the pool's 3 subscriptions all refuse the request (3 full); when one frees up is not known: retry later",
	}, {
		name: "every reason, in order, and the fallback's",
		ex: authpool.ExhaustedError{Reasons: reasons{authpool.ReasonDisabled: 1, authpool.ReasonWeekSpent: 1, authpool.ReasonLimited: 1,
			authpool.ReasonModelLimited: 1, "a reason of a newer pool": 1}, Fallback: authpool.ReasonDaySpent,
			RetryAt: now.Add(26*time.Hour + 30*time.Second)},
		retryAfter: "93630", shouldRetry: "false",
		message: "authpool: the pool's 5 subscriptions all refuse the request (1 limited, 1 limited for the model, 1 weekly budget spent, " +
			"1 disabled, 1 a reason of a newer pool); its fallback too (daily budget spent); the first is expected back at Nov 27 12:01 UTC (in 26 h 1 min)",
	}, {
		name:        "disabled and removed: only the operator",
		ex:          authpool.ExhaustedError{Reasons: reasons{authpool.ReasonDisabled: 1, authpool.ReasonGone: 1}, Fallback: authpool.ReasonDisabled},
		shouldRetry: "false",
		message: "authpool: the pool's 2 subscriptions all refuse the request (1 disabled, 1 removed); its fallback too (disabled); " +
			"none comes back by itself: the pool's operator must enable a subscription or add one",
	}, {
		name:        "disabled, with a fallback that comes back by itself",
		ex:          authpool.ExhaustedError{Reasons: reasons{authpool.ReasonDisabled: 1}, Fallback: authpool.ReasonLimited},
		shouldRetry: "false",
		message:     "authpool: the pool's one subscription refuses the request (1 disabled); its fallback too (limited); when one frees up is not known: retry later",
	}, {
		name:       "no subscription, the fallback spent",
		ex:         authpool.ExhaustedError{Reasons: reasons{}, Fallback: authpool.ReasonDaySpent, RetryAt: now.Add(14 * time.Hour)},
		retryAfter: "50400", shouldRetry: "false",
		message: "authpool: the pool has no subscription to take the request; its fallback too (daily budget spent); the first is expected back at Nov 27 00:00 UTC (in 14 h)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := exhaustedResponse(nil, &tc.ex, now, DefaultRetryWithin)
			body, _ := io.ReadAll(resp.Body)
			want := http.Header{"Content-Type": {"application/json"}, "X-Should-Retry": {tc.shouldRetry}}
			if tc.retryAfter != "" {
				want["Retry-After"] = []string{tc.retryAfter}
			}
			if diff := cmp.Diff(want, resp.Header); diff != "" || resp.StatusCode != 429 {
				t.Errorf("status %d; headers (-want +got):\n%s", resp.StatusCode, diff)
			}
			if got := claude.Classify(resp.StatusCode, nil, body, time.Time{}); got.ErrorType != "rate_limit_error" || got.ErrorMessage != tc.message {
				t.Errorf("%s: %q\nwant rate_limit_error: %q", got.ErrorType, got.ErrorMessage, tc.message)
			}
		})
	}
}

// A wait reads as people say it, never shorter than it is.
func TestHumanWait(t *testing.T) {
	for secs, want := range map[int64]string{
		1: "1 s", 59: "59 s", 60: "1 min", 61: "1 min 1 s", 3599: "59 min 59 s", 3600: "1 h", 3601: "1 h 1 min",
		7800: "2 h 10 min", 47 * 3600: "47 h", 48 * 3600: "2 d", 48*3600 + 1: "2 d 1 h", 8 * 86400: "8 d",
	} {
		if got := humanWait(secs); got != want {
			t.Errorf("humanWait(%d) = %q; want %q", secs, got, want)
		}
	}
}

// retryHeaders rounds up, and says true up to the bound inclusive, as
// Claude Code waits a retry-after of 60 and not 61.
func TestRetryHeaders(t *testing.T) {
	for _, tc := range []struct {
		wait              time.Duration
		after, shouldWait string
	}{
		{0, "1", "true"}, {-time.Second, "1", "true"}, {time.Millisecond, "1", "true"}, {59500 * time.Millisecond, "60", "true"},
		{time.Minute, "60", "true"}, {time.Minute + time.Millisecond, "61", "false"}, {5 * time.Hour, "18000", "false"},
	} {
		h := http.Header{}
		retryHeaders(h, tc.wait, DefaultRetryWithin)
		if h.Get("Retry-After") != tc.after || h.Get("X-Should-Retry") != tc.shouldWait {
			t.Errorf("wait %v: retry-after %q, x-should-retry %q; want %q, %q", tc.wait, h.Get("Retry-After"), h.Get("X-Should-Retry"), tc.after, tc.shouldWait)
		}
	}
}

// TestRefusalTotalsBounded: the refusals counted for CallerRefusals hold
// at most maxRefusalTotals kinds and callers; the pairs counted go on
// counting once the bound is reached, and a new one is not counted.
func TestRefusalTotalsBounded(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	l := newRefusalLog(slog.New(slog.DiscardHandler), func() time.Time { return now }, time.Hour)
	for i := range maxRefusalTotals + 5 {
		l.add(t.Context(), refuseCapped, fmt.Sprintf("c%06d", i), "cap spent")
	}
	l.add(t.Context(), refuseCapped, "c000000", "cap spent")
	if n := len(l.totals); n != maxRefusalTotals {
		t.Errorf("%d pairs counted, want %d", n, maxRefusalTotals)
	}
	if n := l.totals[refusalKey{"capped", "c000000"}]; n != 2 {
		t.Errorf("c000000: %d refusals counted, want 2", n)
	}
	if _, ok := l.totals[refusalKey{"capped", fmt.Sprintf("c%06d", maxRefusalTotals)}]; ok {
		t.Errorf("a pair beyond the bound was counted")
	}
}
