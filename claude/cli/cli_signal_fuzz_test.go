package cli

import (
	"testing"
	"time"

	"github.com/authpool/authpool/claude"
)

// FuzzResetAt reads arbitrary limit messages, times and rate-limit states
// with Signal.ResetAt. Whatever the input it does not panic; a rejected
// state with a reset time gives that time exactly; a time read from the
// text is in UTC, comes only from a message saying "reset", and is where
// ResetAt's doc puts it: for a bare clock time, the first such time after
// now (so after now, and no more than two days ahead, the most a zone's
// change of offset can push it); for a date, the one nearest to now (within
// half a year and a couple of days, or two years for the 29th of
// February).
//
//	go test -run '^$' -fuzz '^FuzzResetAt$' -parallel 1 ./claude/cli/
func FuzzResetAt(f *testing.F) {
	f.Add("You've hit your 5-hour limit · resets 12:31pm (UTC)", int64(1795692690), "", int64(0))
	f.Add("Weekly limit · resets Nov 30, 5pm (UTC)", int64(1795692690), "allowed", int64(1795696289))
	f.Add("Claude usage limit reached. Your limit will reset at 5pm (UTC).", int64(1795692690), "", int64(0))
	f.Add("resets Feb 29, 11:59pm (Pacific/Apia)", int64(1325160000), "", int64(0))
	f.Add("resets 5pm (America/New_York)", int64(1794247200), "rejected", int64(1795696289))
	f.Add("resets 12am (Local)", int64(0), "rejected", int64(0))
	f.Fuzz(func(t *testing.T, msg string, nowUnix int64, status string, resetsUnix int64) {
		now := fuzzNow(nowUnix)
		sig := Signal{Message: msg}
		if status != "" {
			sig.RateLimit = &RateLimitInfo{Status: status}
			if resetsUnix != 0 {
				sig.RateLimit.ResetsAt = fuzzNow(resetsUnix)
			}
		}
		got, ok := sig.ResetAt(now)
		if again, againOK := sig.ResetAt(now); again != got || againOK != ok {
			t.Fatalf("ResetAt(%v) = %v, %v, then %v, %v", now, got, ok, again, againOK)
		}
		if ok == got.IsZero() {
			t.Fatalf("ResetAt(%v) = %v, %v", now, got, ok)
		}
		if status == "rejected" && resetsUnix != 0 {
			if !ok || !got.Equal(sig.RateLimit.ResetsAt) {
				t.Fatalf("rejected state resetting at %v: ResetAt = %v, %v", sig.RateLimit.ResetsAt, got, ok)
			}
			return
		}
		m := cliResetText.FindStringSubmatch(msg)
		if !ok {
			return
		}
		if m == nil {
			t.Fatalf("ResetAt(%q, %v) = %v from a message without a reset time", msg, now, got)
		}
		if got.Location() != time.UTC {
			t.Fatalf("ResetAt(%q, %v) = %v, not in UTC", msg, now, got)
		}
		if m[1] == "" {
			if !got.After(now) || got.Sub(now) > 50*time.Hour {
				t.Fatalf("ResetAt(%q, %v) = %v: want the first such time after now", msg, now, got)
			}
			return
		}
		limit := 186 * 24 * time.Hour
		if m[1] == "Feb" && m[2] == "29" {
			limit = 2 * 366 * 24 * time.Hour
		}
		if d := cliAbs(got.Sub(now)); d > limit {
			t.Fatalf("ResetAt(%q, %v) = %v, %v away: want the date nearest to now", msg, now, got, d)
		}
	})
}

// FuzzResultVerdict judges arbitrary CLI reports of a failed turn with
// Result.Verdict. Whatever the input it does not panic; it fails over
// exactly when its kind does; a 429 is a quota (or a model's) exactly when
// the CLI read a usage limit in it (usage_limit_reached, or a rejected
// state naming its limit), and then holds the subscription until after
// now; a 429 the CLI read no limit in holds nothing.
//
//	go test -run '^$' -fuzz '^FuzzResultVerdict$' -parallel 1 ./claude/cli/
func FuzzResultVerdict(f *testing.F) {
	f.Add(429, "rate_limit_error", "usage_limit_reached", "You've hit your Opus limit · resets 12pm (UTC)", "", "", "", int64(1795692690))
	f.Add(429, "rate_limit_error", "", "API Error: Server is temporarily limiting requests (not your usage limit) · x", "rejected", "", "", int64(1795692690))
	f.Add(429, "billing_error", "usage_limit_reached", "You've hit your limit", "rejected", "overage", "rejected", int64(1795692690))
	f.Add(429, "overloaded_error", "", "API Error: Request rejected (429) · Overloaded", "", "", "", int64(0))
	f.Add(529, "overloaded_error", "", "API Error: 529 Overloaded.", "", "", "", int64(0))
	f.Add(0, "", "", "", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, status int, errorType, apiError, text, rlStatus, rlType, overage string, nowUnix int64) {
		now := fuzzNow(nowUnix)
		sig := Signal{Status: max(status, 0), ErrorType: errorType, Error: apiError, TerminalReason: "api_error", Message: text}
		if rlStatus != "" {
			sig.RateLimit = &RateLimitInfo{Status: rlStatus, RateLimitType: rlType, OverageStatus: overage}
		}
		v := sig.verdict(now)
		if v.RetryElsewhere != v.Kind.FailsOver() {
			t.Fatalf("%+v: %v, RetryElsewhere %v", sig, v.Kind, v.RetryElsewhere)
		}
		if sig.Status != 429 {
			return
		}
		quota := v.Kind == claude.VerdictQuota || v.Kind == claude.VerdictModelQuota
		if named := apiError == "usage_limit_reached" || sig.Rejected(); quota != named {
			t.Fatalf("%+v: %v; the CLI read a usage limit: %v", sig, v.Kind, named)
		}
		if quota && !v.Until.After(now) {
			t.Fatalf("%+v: %v until %v, not after %v", sig, v.Kind, v.Until, now)
		}
		if !quota && v.Kind != claude.VerdictOverloaded && (v.Kind != claude.VerdictRequestScoped || !v.Until.IsZero()) {
			t.Fatalf("%+v: %v until %v; want request-scoped, holding nothing", sig, v.Kind, v.Until)
		}
	})
}

// fuzzNow maps a fuzzer number to a time between 1970 and 2300.
func fuzzNow(n int64) time.Time {
	const span = 10_000_000_000 // seconds
	n %= span
	if n < 0 {
		n += span
	}
	return time.Unix(n, 0).UTC()
}
