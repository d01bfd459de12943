package redaction_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/statuspage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// refresher returns the RefreshFunc of the test's pool: sub-a's token
// refreshes to subANew; each refresh of sub-b fails, in turn: twice with an
// error naming the token in use and the new one (returned with the error),
// then with a new token spanning lines (refused), then with a new token
// that has already expired (refused).
func refresher(now func() time.Time) authpool.RefreshFunc {
	var calls atomic.Int32
	return func(ctx context.Context, id string, current authpool.Token) (authpool.Token, error) {
		token := func(access authpool.Credential, expiresAt time.Time) authpool.Token {
			return authpool.Token{Access: access, ExpiresAt: expiresAt}
		}
		if id != "sub-b" {
			return token(subANew, now().Add(8*time.Hour)), nil
		}
		switch n := calls.Add(1); n {
		case 1, 2:
			return token(subBNew, now().Add(8*time.Hour)),
				fmt.Errorf("token endpoint (try %d): got %s for %s, but could not keep the refresh token", n, subBNew, current.Access.Reveal())
		case 3:
			return token(multiline, now().Add(8*time.Hour)), nil
		default:
			return token(subBNew, now().Add(-time.Minute)), nil
		}
	}
}

// refreshAll refreshes the credentials due (sub-a's and sub-b's, expiring
// at 12:30, refreshed from an hour before) four times, a minute and more
// apart, by RefreshCredentials and Rebalance in turn: sub-a's refresh
// succeeds the first time, and sub-b's fails each time (see refresher). It
// adds the reports, their failures and errors, and Stats to said.
func refreshAll(ctx context.Context, t *testing.T, said *transcript, p *authpool.Pool, advance func(time.Duration)) {
	t.Helper()
	var refreshed, failed []authpool.CredentialRefresh
	for i := range 4 {
		if i > 0 {
			advance(time.Minute + time.Second) // the failed refresh may be tried again
		}
		var report []authpool.CredentialRefresh
		if i%2 == 0 {
			var err error
			report, err = p.RefreshCredentials(ctx)
			said.err("RefreshCredentials", err)
			if err == nil {
				t.Errorf("RefreshCredentials %d: no error, want sub-b's", i)
			}
		} else {
			rebalanced, err := p.Rebalance(ctx) // sub-b's failure is in the report, not the error
			said.err("Rebalance (refresh)", err)
			said.values("RebalanceReport (refresh)", rebalanced)
			report = rebalanced.Credentials
		}
		said.values("CredentialRefresh", report)
		for _, r := range report {
			if r.Err != nil {
				failed = append(failed, r)
			} else {
				refreshed = append(refreshed, r)
			}
		}
	}
	if len(refreshed) != 1 || refreshed[0].SubscriptionID != "sub-a" || len(failed) != 4 {
		t.Errorf("the refreshes: %d refreshed, %d failed; want sub-a's refreshed and 4 of sub-b's failed", len(refreshed), len(failed))
	}
	for _, f := range append(refreshed, failed...) {
		said.values("CredentialRefresh", f)
		said.err("CredentialRefresh.Err", f.Err)
	}
	said.values("Stats", p.Stats())
}

// scrapeAll reads the pool as a host serves it: a /metrics scrape of
// metrics.NewCollector through promhttp, and the status page in HTML and
// JSON, logging into logger. It adds what they answered to said, and checks
// their status codes: after Close, the status page answers 503.
func scrapeAll(ctx context.Context, t *testing.T, said *transcript, p *authpool.Pool, logger *slog.Logger, closed bool) {
	t.Helper()
	c := metrics.NewCollector(p)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	said.values("metrics.Collector", c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	mux.Handle("/status", statuspage.New(p, statuspage.WithLogger(logger)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	pageStatus, pageWants, metricsWants := http.StatusOK, "sub-a", `authpool_subscription_info{`
	if closed {
		pageStatus, pageWants, metricsWants = http.StatusServiceUnavailable, "unavailable", "authpool_up 0"
	}
	for _, tc := range []struct {
		path, accept string
		status       int
		wants        string
	}{
		{"/metrics", "", http.StatusOK, metricsWants},
		{"/metrics", "application/openmetrics-text", http.StatusOK, "authpool_allocations_total"},
		{"/status", "", pageStatus, pageWants},
		{"/status?format=json", "", pageStatus, pageWants},
		{"/status", "application/json", pageStatus, pageWants},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		said.add("GET "+tc.path, "%s\n%v\n%s", resp.Status, resp.Header, body)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.wants) {
			t.Errorf("GET %s (Accept %q, closed %v): %s, %d bytes; want %d with %q", tc.path, tc.accept, closed,
				resp.Status, len(body), tc.status, tc.wants)
		}
	}
	said.values("Stats", p.Stats())
}
