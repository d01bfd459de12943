package claude_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/cli"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// cliResultLine is the result line Claude Code 2.1.332 prints for a turn
// that ended on an API error (the fields the pool reads, as measured:
// docs/claude-code.md); apiError is its api_error ("usage_limit_reached" or
// none).
func cliResultLine(status int, errorType, apiError, text string) string {
	extra := ""
	if apiError != "" {
		extra = fmt.Sprintf(`"api_error":%q,`, apiError)
	}
	return fmt.Sprintf(`{"type":"result","subtype":"success","is_error":true,"num_turns":1,"duration_ms":120,"duration_api_ms":0,`+
		`"api_error_status":%d,"api_error_type":%q,%s"result":%q,"terminal_reason":"api_error","total_cost_usd":0,"modelUsage":{},`+
		`"session_id":"5d80aaa1-2dd6-478c-8717-603c51d761a9","uuid":"31b42d1c-4511-4a3b-bf75-c89735398181","result_index":0}`,
		status, errorType, extra, text)
}

// cliStream is a stream-json output: the rate_limit_event the CLI emits
// for the answer (OAuth mode; none when info is ""), then the result line.
func cliStream(info, result string) string {
	if info == "" {
		return result + "\n"
	}
	return `{"type":"rate_limit_event","rate_limit_info":` + info + `,"uuid":"b2ee91ca-2295-4228-ad6f-568def489759","session_id":"5d80aaa1-2dd6-478c-8717-603c51d761a9"}` +
		"\n" + result + "\n"
}

// The Transport (Classify, on the HTTP answer) and the Runner
// (Result.Verdict, on what Claude Code reports of the same answer, as
// measured with CLI 2.1.332 in OAuth and API-key mode, json and
// stream-json) decide alike: the same kind, the same fail-over, the same
// end of a quota (to the minute the CLI prints). One answer the CLI cannot
// tell apart: a throttle (limit headers, no rejection) is printed exactly
// as a 429 without headers, so the Runner takes it for that.
func TestVerdictAgreement(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	reset := now.Add(2 * time.Hour)
	r := strconv.FormatInt(reset.Unix(), 10)
	const (
		limiting = "API Error: Server is temporarily limiting requests (not your usage limit) · "
		rejected = "API Error: Request rejected (429) · "
	)
	overage := fakeanthropic.Response{Status: 429, Error: &fakeanthropic.Error{Type: "billing_error", Message: "authpool: cap"}}.
		WithHeader("anthropic-ratelimit-unified-status", "rejected").WithHeader("anthropic-ratelimit-unified-reset", r).
		WithHeader("anthropic-ratelimit-unified-overage-status", "rejected").WithHeader("anthropic-ratelimit-unified-representative-claim", "overage")
	for _, tc := range []struct {
		name   string
		answer fakeanthropic.Response
		kind   claude.VerdictKind
		family string
		until  time.Time // Verdict.Until
		// What Claude Code prints for the answer, by mode.
		cli map[string]string
		// cliKind is the Runner's kind when the CLI's report cannot carry
		// the answer's; zero when it is kind.
		cliKind claude.VerdictKind
	}{{
		name: "quota", answer: fakeanthropic.Quota429(now, reset), kind: claude.VerdictQuota, until: reset,
		cli: map[string]string{
			"oauth json": cliResultLine(429, "rate_limit_error", "usage_limit_reached", "You've hit your 5-hour limit · resets 12pm (UTC)"),
			"oauth stream": cliStream(`{"status":"rejected","resetsAt":`+r+`,"rateLimitType":"five_hour","overageStatus":"rejected","overageDisabledReason":"org_level_disabled","isUsingOverage":false,"unifiedWindows":{"five_hour":{"utilization":1,"resetsAt":`+r+`,"status":"rejected"}}}`,
				cliResultLine(429, "rate_limit_error", "usage_limit_reached", "You've hit your 5-hour limit · resets 12pm (UTC)")),
		},
	}, {
		name: "a model's quota", answer: fakeanthropic.ModelQuota429(now, reset), kind: claude.VerdictModelQuota, family: "opus", until: reset,
		cli: map[string]string{
			"oauth json": cliResultLine(429, "rate_limit_error", "usage_limit_reached", "You've hit your Opus limit · resets 12pm (UTC)"),
			"oauth stream": cliStream(`{"status":"rejected","resetsAt":`+r+`,"rateLimitType":"seven_day_opus","isUsingOverage":false}`,
				cliResultLine(429, "rate_limit_error", "usage_limit_reached", "You've hit your Opus limit · resets 12pm (UTC)")),
		},
	}, {
		name: "the overage (a gateway's cap)", answer: overage, kind: claude.VerdictQuota, until: reset,
		cli: map[string]string{
			"oauth json": cliResultLine(429, "billing_error", "usage_limit_reached", "You've hit your limit · resets 12pm (UTC)"),
			"oauth stream": cliStream(`{"status":"rejected","resetsAt":`+r+`,"rateLimitType":"overage","overageStatus":"rejected","isUsingOverage":false}`,
				cliResultLine(429, "billing_error", "usage_limit_reached", "You've hit your limit · resets 12pm (UTC)")),
		},
	}, {
		name: "a 429 without limit headers", answer: fakeanthropic.Headerless429(), kind: claude.VerdictRequestScoped,
		cli: map[string]string{
			"oauth json":   cliResultLine(429, "rate_limit_error", "", limiting+"Rate limited. Please try again later."),
			"oauth stream": cliStream(`{"status":"rejected","isUsingOverage":false}`, cliResultLine(429, "rate_limit_error", "", limiting+"Rate limited. Please try again later.")),
			"key json":     cliResultLine(429, "rate_limit_error", "", rejected+"Rate limited. Please try again later."),
		},
	}, {
		name: "a throttle", answer: fakeanthropic.Throttle429(5 * time.Second), kind: claude.VerdictThrottle, until: now.Add(5 * time.Second),
		cliKind: claude.VerdictRequestScoped,
		cli: map[string]string{
			"oauth json": cliResultLine(429, "rate_limit_error", "", limiting+"Number of requests has exceeded your rate limit. Please slow down and try again."),
			"oauth stream": cliStream(`{"status":"rejected","isUsingOverage":false}`,
				cliResultLine(429, "rate_limit_error", "", limiting+"Number of requests has exceeded your rate limit. Please slow down and try again.")),
			"key json": cliResultLine(429, "rate_limit_error", "", rejected+"Number of requests has exceeded your rate limit. Please slow down and try again."),
		},
	}, {
		name:   "a 429 overloaded_error",
		answer: fakeanthropic.Response{Status: 429, Error: &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded"}}, kind: claude.VerdictOverloaded,
		until: now.Add(claude.DefaultOverloadedPause),
		cli: map[string]string{
			"oauth stream": cliStream(`{"status":"rejected","isUsingOverage":false}`, cliResultLine(429, "overloaded_error", "", limiting+"Overloaded")),
			"key json":     cliResultLine(429, "overloaded_error", "", rejected+"Overloaded"),
		},
	}, {
		name: "529", answer: fakeanthropic.Overloaded529(), kind: claude.VerdictOverloaded, until: now.Add(claude.DefaultOverloadedPause),
		cli: map[string]string{"key json": cliResultLine(529, "overloaded_error", "",
			"API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8787).")},
	}, {
		name: "401", answer: fakeanthropic.Unauthorized401(), kind: claude.VerdictAuth,
		cli: map[string]string{"key json": cliResultLine(401, "authentication_error", "", "Failed to authenticate. API Error: 401 invalid x-api-key")},
	}, {
		name: "402", answer: fakeanthropic.Response{Status: 402}, kind: claude.VerdictBilling,
		cli: map[string]string{"oauth json": cliResultLine(402, "billing_error", "", "API Error: 402 Payment Required")},
	}, {
		name: "400", answer: fakeanthropic.Response{Status: 400}, kind: claude.VerdictClientError,
		cli: map[string]string{"key json": cliResultLine(400, "invalid_request_error", "", "API Error: 400 Bad Request")},
	}, {
		name: "500", answer: fakeanthropic.Response{Status: 500}, kind: claude.VerdictServerError,
		cli: map[string]string{"key json": cliResultLine(500, "api_error", "",
			"API Error: 500 Internal Server Error. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:8787).")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &fakeanthropic.Server{}
			srv.SetDefault(tc.answer)
			ts := httptest.NewServer(srv)
			defer ts.Close()
			resp, err := ts.Client().Post(ts.URL+fakeanthropic.MessagesPath, "application/json",
				strings.NewReader(`{"model":"claude-opus-4-5","max_tokens":1,"messages":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			web := claude.Classify(resp.StatusCode, resp.Header, body, now)
			if web.Kind != tc.kind || web.Family != tc.family || !web.Until.Equal(tc.until) {
				t.Errorf("Classify: %v family %q until %v; want %v family %q until %v", web.Kind, web.Family, web.Until, tc.kind, tc.family, tc.until)
			}
			if web.RetryElsewhere != tc.kind.FailsOver() {
				t.Errorf("Classify: RetryElsewhere %v; want %v", web.RetryElsewhere, tc.kind.FailsOver())
			}
			want, until := tc.kind, tc.until
			if tc.cliKind != 0 {
				want, until = tc.cliKind, time.Time{} // a request-scoped 429 holds nothing
			}
			for mode, out := range tc.cli {
				var res cli.Result
				if strings.HasSuffix(mode, "stream") {
					res, err = cli.ParseStream(bytes.NewReader([]byte(out)))
				} else {
					res, err = cli.ParseResult([]byte(out))
				}
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				cli := res.Verdict(now)
				if cli.Kind != want || cli.Family != tc.family || cli.RetryElsewhere != web.RetryElsewhere {
					t.Errorf("%s: Result.Verdict: %v family %q, retry elsewhere %v; want %v family %q, retry elsewhere %v",
						mode, cli.Kind, cli.Family, cli.RetryElsewhere, want, tc.family, web.RetryElsewhere)
				}
				// The CLI prints the reset to the minute: never early,
				// at most a minute late.
				if d := cli.Until.Sub(until); d < 0 || d > time.Minute || cli.Until.IsZero() != until.IsZero() {
					t.Errorf("%s: Result.Verdict until %v; want %v (to the minute)", mode, cli.Until, until)
				}
			}
		})
	}
}

// FailsOver is the one predicate: what the Transport and the Runner send
// elsewhere.
func TestFailsOver(t *testing.T) {
	want := map[claude.VerdictKind]bool{
		claude.VerdictQuota: true, claude.VerdictModelQuota: true, claude.VerdictThrottle: true, claude.VerdictRequestScoped: true,
		claude.VerdictOverloaded: true, claude.VerdictAuth: true, claude.VerdictBilling: true,
	}
	for k := claude.VerdictOK; k <= claude.VerdictServerError; k++ {
		if k.FailsOver() != want[k] {
			t.Errorf("%v.FailsOver() = %v; want %v", k, k.FailsOver(), want[k])
		}
	}
}
