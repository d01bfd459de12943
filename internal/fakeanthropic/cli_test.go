package fakeanthropic_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/internal/fakeanthropic"
)

// newCLI returns a CLI of auth mode auth against srv, with a clock at now
// and a Wait that records each wait instead of sleeping.
func newCLI(t *testing.T, srv *fakeanthropic.Server, auth fakeanthropic.CLIAuth) (*fakeanthropic.CLI, *[]time.Duration) {
	t.Helper()
	ts := start(t, srv)
	var waits []time.Duration
	return &fakeanthropic.CLI{
		BaseURL: ts.URL, Auth: auth, Key: "caller-key-0123456789abcdef",
		Client: ts.Client(),
		Wait:   func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Now:    func() time.Time { return now },
	}, &waits
}

// TestCLIRequest: a turn is one streamed POST /v1/messages?beta=true with the
// headers Claude Code 2.1.332 sends, the key where its auth mode puts it, the
// auth mode's default model, and the session's id; every Session is new.
func TestCLIRequest(t *testing.T) {
	for _, tc := range []struct {
		auth          fakeanthropic.CLIAuth
		apiKey, token string
		model         string
		oauthBeta     bool
	}{
		{fakeanthropic.AuthAPIKey, "caller-key-0123456789abcdef", "", fakeanthropic.CLIDefaultModel, false},
		{fakeanthropic.AuthToken, "", "caller-key-0123456789abcdef", fakeanthropic.CLIDefaultModel, false},
		{fakeanthropic.AuthOAuth, "", "caller-key-0123456789abcdef", fakeanthropic.CLIDefaultOAuthModel, true},
	} {
		srv := &fakeanthropic.Server{}
		cli, _ := newCLI(t, srv, tc.auth)
		s := cli.Session()
		for range 2 {
			turn, err := s.Turn(t.Context())
			if err != nil || turn.Status != 200 || turn.Shown != fakeanthropic.DefaultText {
				t.Fatalf("auth %d: turn = %+v, %v", tc.auth, turn, err)
			}
		}
		other := cli.Session()
		if _, err := other.Turn(t.Context()); err != nil {
			t.Fatal(err)
		}
		reqs := srv.Requests()
		if len(reqs) != 3 {
			t.Fatalf("auth %d: %d requests, want 3", tc.auth, len(reqs))
		}
		for i, r := range reqs {
			hasOAuth := false
			for _, b := range r.Beta {
				hasOAuth = hasOAuth || b == "oauth-2025-04-20"
			}
			got := []any{r.Method, r.Path, r.RawQuery, r.Stream, r.ContentLength > 0, r.Model, r.APIKey, r.Bearer, hasOAuth,
				r.Header.Get("User-Agent"), r.Header.Get("X-App"), r.Header.Get("Anthropic-Version")}
			want := []any{"POST", "/v1/messages", "beta=true", true, true, tc.model, tc.apiKey, tc.token, tc.oauthBeta,
				"claude-cli/2.1.332 (external, sdk-cli)", "cli", "2023-06-01"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("auth %d, request %d (-want +got):\n%s", tc.auth, i, diff)
			}
		}
		ids := []string{reqs[0].Header.Get("X-Claude-Code-Session-Id"), reqs[1].Header.Get("X-Claude-Code-Session-Id"), reqs[2].Header.Get("X-Claude-Code-Session-Id")}
		if ids[0] != s.ID || ids[1] != s.ID || ids[2] != other.ID || s.ID == other.ID || len(s.ID) != 36 {
			t.Errorf("auth %d: session ids %q, sessions %q and %q", tc.auth, ids, s.ID, other.ID)
		}
	}
}

// TestCLIRetries: what Claude Code 2.1.332 retries, and after how long.
func TestCLIRetries(t *testing.T) {
	rateLimited := func(h ...string) fakeanthropic.Response {
		r := fakeanthropic.Response{Status: 429, Error: &fakeanthropic.Error{Type: "rate_limit_error", Message: "authpool: m"}}
		for i := 0; i+1 < len(h); i += 2 {
			r = r.WithHeader(h[i], h[i+1])
		}
		return r
	}
	ok := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	for _, tc := range []struct {
		name    string
		auth    fakeanthropic.CLIAuth
		answers []fakeanthropic.Response // the last repeats
		waits   []time.Duration
		status  int
	}{
		{"x-should-retry false is final", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "false", "retry-after", "1"), ok}, nil, 429},
		{"retry-after 7 is waited", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "7"), ok}, []time.Duration{7 * time.Second}, 200},
		{"retry-after without x-should-retry is waited", fakeanthropic.AuthOAuth,
			[]fakeanthropic.Response{rateLimited("retry-after", "3"), ok}, []time.Duration{3 * time.Second}, 200},
		{"retry-after 60 is the longest wait", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "60"), ok}, []time.Duration{time.Minute}, 200},
		{"retry-after 61 ends the turn", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "61"), ok}, nil, 429},
		{"backoff grows past a short retry-after", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("retry-after", "1"), rateLimited("retry-after", "1"), rateLimited("retry-after", "1"), rateLimited("retry-after", "1"), ok},
			[]time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second}, 200},
		{"a 429 without headers is retried with backoff, 10 times", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited()},
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
				32 * time.Second, 32 * time.Second, 32 * time.Second, 32 * time.Second}, 429},
		{"a usage limit is final with an OAuth token, whatever it says", fakeanthropic.AuthOAuth,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "2", "anthropic-ratelimit-unified-status", "rejected",
				"anthropic-ratelimit-unified-representative-claim", "overage", "anthropic-ratelimit-unified-overage-status", "rejected"), ok}, nil, 429},
		{"a usage limit is retried with a key", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "2", "anthropic-ratelimit-unified-status", "rejected",
				"anthropic-ratelimit-unified-representative-claim", "overage", "anthropic-ratelimit-unified-overage-status", "rejected"), ok},
			[]time.Duration{2 * time.Second}, 200},
		{"a rejection naming no limit is retried with an OAuth token", fakeanthropic.AuthOAuth,
			[]fakeanthropic.Response{rateLimited("x-should-retry", "true", "retry-after", "2", "anthropic-ratelimit-unified-status", "rejected"), ok},
			[]time.Duration{2 * time.Second}, 200},
		{"a 401 is final with a key", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{fakeanthropic.Response{Status: 401}, ok}, nil, 401},
		{"a 401 is sent twice with an OAuth token", fakeanthropic.AuthOAuth,
			[]fakeanthropic.Response{fakeanthropic.Response{Status: 401}}, []time.Duration{500 * time.Millisecond}, 401},
		{"a 529 is retried", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{fakeanthropic.Overloaded529(), ok}, []time.Duration{500 * time.Millisecond}, 200},
		{"a 400 is final", fakeanthropic.AuthAPIKey,
			[]fakeanthropic.Response{fakeanthropic.Response{Status: 400}, ok}, nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &fakeanthropic.Server{}
			srv.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
				return tc.answers[min(r.Seq-1, len(tc.answers)-1)]
			})
			cli, waits := newCLI(t, srv, tc.auth)
			turn, err := cli.Session().Turn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if turn.Status != tc.status || len(turn.Attempts) != len(tc.waits)+1 {
				t.Errorf("status %d after %d attempts, want %d after %d", turn.Status, len(turn.Attempts), tc.status, len(tc.waits)+1)
			}
			if diff := cmp.Diff(tc.waits, *waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCLIShown: the line Claude Code 2.1.332 prints for a failed turn, by
// auth mode and headers, and the notice its screen shows for a gateway's
// warning.
func TestCLIShown(t *testing.T) {
	reset := time.Date(2025, 11, 11, 3, 17, 30, 0, time.UTC) // now is 18:40 UTC the day before
	const u = "Anthropic-Ratelimit-Unified-"
	fail := func(status int, typ string, h ...string) fakeanthropic.Response {
		r := fakeanthropic.Response{Status: status, Error: &fakeanthropic.Error{Type: typ, Message: "authpool: m"}}.
			WithHeader("X-Should-Retry", "false")
		for i := 0; i+1 < len(h); i += 2 {
			r = r.WithHeader(h[i], h[i+1])
		}
		return r
	}
	rs := strconv.FormatInt(reset.Unix(), 10)
	const limiting = "API Error: Server is temporarily limiting requests (not your usage limit) · authpool: m"
	for _, tc := range []struct {
		name   string
		auth   fakeanthropic.CLIAuth
		answer fakeanthropic.Response
		shown  string
	}{
		{"429, key", fakeanthropic.AuthAPIKey, fail(429, "rate_limit_error", u+"Status", "rejected"), "API Error: Request rejected (429) · authpool: m"},
		{"429, auth token", fakeanthropic.AuthToken, fail(429, "billing_error", u+"Status", "rejected", u+"Overage-Status", "rejected", u+"Representative-Claim", "overage", u+"Reset", rs),
			"API Error: Request rejected (429) · authpool: m"},
		{"429 rejected, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Reset", rs), limiting},
		{"429 without headers, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error"), limiting},
		{"cap, OAuth", fakeanthropic.AuthOAuth, fail(429, "billing_error", u+"Status", "rejected", u+"Overage-Status", "rejected", u+"Representative-Claim", "overage", u+"Reset", rs),
			"You've hit your limit · resets 3:17am (UTC)"},
		{"claim overage alone, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "overage", u+"Reset", rs),
			"You've hit your usage limit · resets 3:17am (UTC)"},
		{"5-hour, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "five_hour", u+"Reset", rs),
			"You've hit your 5-hour limit · resets 3:17am (UTC)"},
		{"5-hour with overage rejected and disabled, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "five_hour",
			u+"Overage-Status", "rejected", u+"Overage-Disabled-Reason", "org_level_disabled", u+"Reset", rs),
			"You've hit your 5-hour limit · resets 3:17am (UTC)"},
		{"5-hour with overage rejected, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "five_hour",
			u+"Overage-Status", "rejected", u+"Reset", rs),
			"You've hit your limit · resets 3:17am (UTC)"},
		{"Opus, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "seven_day_opus", u+"Reset", rs),
			"You've hit your Opus limit · resets 3:17am (UTC)"},
		{"cap without a reset, OAuth", fakeanthropic.AuthOAuth, fail(429, "billing_error", u+"Status", "rejected", u+"Overage-Status", "rejected", u+"Representative-Claim", "overage"),
			"You've hit your limit"},
		{"weekly, OAuth", fakeanthropic.AuthOAuth, fail(429, "rate_limit_error", u+"Status", "rejected", u+"Representative-Claim", "seven_day", u+"Reset", rs),
			"You've hit your weekly limit · resets 3:17am (UTC)"},
		{"529", fakeanthropic.AuthAPIKey, fail(529, "overloaded_error"), "API Error: 529 authpool: m. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:PORT)."},
		{"401", fakeanthropic.AuthAPIKey, fail(401, "authentication_error"), "Failed to authenticate. API Error: 401 authpool: m"},
		{"402", fakeanthropic.AuthOAuth, fail(402, "billing_error"), "API Error: 402 authpool: m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &fakeanthropic.Server{}
			srv.SetDefault(tc.answer)
			cli, _ := newCLI(t, srv, tc.auth)
			turn, err := cli.Session().Turn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.shown
			if tc.answer.Status == 529 {
				want = want[:len(want)-len("127.0.0.1:PORT).")] + cli.BaseURL[len("http://"):] + ")."
			}
			if turn.Shown != want {
				t.Errorf("shown %q\nwant  %q", turn.Shown, want)
			}
		})
	}

	t.Run("warning notice, OAuth only", func(t *testing.T) {
		warn := fakeanthropic.OK(fakeanthropic.DefaultUsage).
			WithHeader(u+"Status", "allowed_warning").WithHeader(u+"Reset", strconv.FormatInt(time.Date(2025, 11, 11, 4, 0, 0, 0, time.UTC).Unix(), 10)).
			WithHeader(u+"Overage-Utilization", "0.9600").WithHeader(u+"Overage-Surpassed-Threshold", "0.95")
		for auth, want := range map[fakeanthropic.CLIAuth]string{
			fakeanthropic.AuthAPIKey: "",
			fakeanthropic.AuthOAuth:  "You've used 96% of your usage credits · resets 4am (UTC)",
		} {
			srv := &fakeanthropic.Server{}
			srv.SetDefault(warn)
			cli, _ := newCLI(t, srv, auth)
			turn, err := cli.Session().Turn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if turn.Notice != want || turn.Status != http.StatusOK {
				t.Errorf("auth %d: notice %q, want %q", auth, turn.Notice, want)
			}
		}
	})
}
