package authpool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// expires sets when a subscription's credential expires.
func expires(at time.Time) func(*authpool.Subscription) {
	return func(s *authpool.Subscription) { s.CredentialExpiresAt = at }
}

// refreshCall is one call of a RefreshFunc.
type refreshCall struct {
	ID      string
	Current string
}

// refresher is a RefreshFunc that keeps its calls and answers with answer,
// given the access token, with a token of the access token and expiry it
// returns (no refresh token: the pool keeps the current one). It is safe
// for concurrent use.
type refresher struct {
	mu     sync.Mutex
	calls  []refreshCall
	answer func(id string, current authpool.Credential) (authpool.Credential, time.Time, error)
}

func (r *refresher) refresh(ctx context.Context, id string, current authpool.Token) (authpool.Token, error) {
	if _, ok := ctx.Deadline(); !ok {
		return authpool.Token{}, errors.New("the RefreshFunc got a context without a deadline")
	}
	r.mu.Lock()
	r.calls = append(r.calls, refreshCall{id, current.Access.Reveal()})
	r.mu.Unlock()
	access, expiresAt, err := r.answer(id, current.Access)
	return authpool.Token{Access: access, ExpiresAt: expiresAt}, err
}

// take returns the calls made since the last take.
func (r *refresher) take() []refreshCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	return calls
}

// renew answers with the credential plus "+" and an expiry life after
// clk's time.
func renew(clk *clock, life time.Duration) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
	return func(_ string, current authpool.Credential) (authpool.Credential, time.Time, error) {
		return current + "+", clk.Now().Add(life), nil
	}
}

// credentialOf returns a subscription's credential and expiry as the pool
// lists them.
func credentialOf(t testing.TB, p *authpool.Pool, id string) (string, time.Time) {
	t.Helper()
	list, err := p.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == id {
			return s.Credential.Reveal(), s.CredentialExpiresAt
		}
	}
	t.Fatalf("no subscription %q", id)
	return "", time.Time{}
}

// refreshSummary is what RefreshCredentials tried, split into the
// refreshes that worked and those that failed, without their errors, which
// are checked apart.
type refreshSummary struct {
	Refreshed, Failed []authpool.CredentialRefresh
}

func summary(tried []authpool.CredentialRefresh) refreshSummary {
	var s refreshSummary
	for _, r := range tried {
		if r.Err != nil {
			r.Err = nil
			s.Failed = append(s.Failed, r)
		} else {
			s.Refreshed = append(s.Refreshed, r)
		}
	}
	return s
}

// failures returns the refreshes of tried that failed.
func failures(tried []authpool.CredentialRefresh) []authpool.CredentialRefresh {
	var failed []authpool.CredentialRefresh
	for _, r := range tried {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	return failed
}

func TestRefreshCredentials(t *testing.T) {
	t.Parallel()
	errUpstream := errors.New("token endpoint: 503")
	cred := func(id string) string { return secret + "-" + id }
	tests := []struct {
		name      string
		expiresAt time.Time // of max-a's credential
		answer    func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error)
		wantCalls []refreshCall
		want      refreshSummary
		wantErr   error  // matched by errors.Is, for the one failure
		wantMsg   string // in the failure's message
		wantCred  string // max-a's credential after the refresh
		wantExp   time.Time
	}{{
		name:      "no expiry: never refreshed",
		expiresAt: time.Time{},
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return renew(clk, 8*time.Hour)
		},
		wantCred: cred("max-a"),
	}, {
		name:      "expires after the lead time: not yet",
		expiresAt: t0.Add(10*time.Minute + time.Nanosecond),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return renew(clk, 8*time.Hour)
		},
		wantCred: cred("max-a"),
		wantExp:  t0.Add(10*time.Minute + time.Nanosecond),
	}, {
		name:      "expires at the end of the lead time: refreshed",
		expiresAt: t0.Add(10 * time.Minute),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return renew(clk, 8*time.Hour)
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Refreshed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(10 * time.Minute), NewExpiresAt: t0.Add(8 * time.Hour)}}},
		wantCred: cred("max-a") + "+",
		wantExp:  t0.Add(8 * time.Hour),
	}, {
		name:      "already expired: refreshed",
		expiresAt: t0.Add(-time.Hour),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return renew(clk, time.Hour)
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Refreshed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(-time.Hour), NewExpiresAt: t0.Add(time.Hour)}}},
		wantCred: cred("max-a") + "+",
		wantExp:  t0.Add(time.Hour),
	}, {
		name:      "the function fails: nothing changes",
		expiresAt: t0.Add(time.Minute),
		answer: func(*clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
				return "", time.Time{}, fmt.Errorf("refresh: %w", errUpstream)
			}
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Failed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(time.Minute), RetryAt: t0.Add(time.Minute)}}},
		wantErr:  errUpstream,
		wantMsg:  `authpool: refresh the credential of "max-a" (expires 2026-11-26T12:31:00Z): refresh: token endpoint: 503`,
		wantCred: cred("max-a"),
		wantExp:  t0.Add(time.Minute),
	}, {
		name:      "the function's error holds the credential: redacted",
		expiresAt: t0.Add(time.Minute),
		answer: func(*clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return func(_ string, current authpool.Credential) (authpool.Credential, time.Time, error) {
				return "", time.Time{}, fmt.Errorf("token %s refused: %w", current.Reveal(), errUpstream)
			}
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Failed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(time.Minute), RetryAt: t0.Add(time.Minute)}}},
		wantErr:  errUpstream,
		wantMsg:  "token [REDACTED] refused: token endpoint: 503",
		wantCred: cred("max-a"),
		wantExp:  t0.Add(time.Minute),
	}, {
		name:      "an empty credential is refused",
		expiresAt: t0.Add(time.Minute),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
				return "", clk.Now().Add(time.Hour), nil
			}
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Failed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(time.Minute), RetryAt: t0.Add(time.Minute)}}},
		wantErr:  authpool.ErrInvalidArgument,
		wantMsg:  "the RefreshFunc returned a bad credential: the credential is missing",
		wantCred: cred("max-a"),
		wantExp:  t0.Add(time.Minute),
	}, {
		name:      "a credential with a line break is refused, and not shown",
		expiresAt: t0.Add(time.Minute),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
				return secret + "\nnew", clk.Now().Add(time.Hour), nil
			}
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Failed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(time.Minute), RetryAt: t0.Add(time.Minute)}}},
		wantErr:  authpool.ErrInvalidArgument,
		wantMsg:  "holds a control character or a line break",
		wantCred: cred("max-a"),
		wantExp:  t0.Add(time.Minute),
	}, {
		name:      "a credential that expires at once is refused",
		expiresAt: t0.Add(time.Minute),
		answer: func(clk *clock) func(string, authpool.Credential) (authpool.Credential, time.Time, error) {
			return func(_ string, current authpool.Credential) (authpool.Credential, time.Time, error) {
				return current + "+", clk.Now(), nil
			}
		},
		wantCalls: []refreshCall{{"max-a", cred("max-a")}},
		want: refreshSummary{Failed: []authpool.CredentialRefresh{
			{SubscriptionID: "max-a", ExpiresAt: t0.Add(time.Minute), RetryAt: t0.Add(time.Minute)}}},
		wantErr:  authpool.ErrInvalidArgument,
		wantMsg:  "returned a credential expiring at 2026-11-26T12:30:00Z, not after now (2026-11-26T12:30:00Z)",
		wantCred: cred("max-a"),
		wantExp:  t0.Add(time.Minute),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock(t0)
			r := &refresher{answer: tt.answer(clk)}
			var logs bytes.Buffer
			p := newPool(t, subs(sub("max-a", expires(tt.expiresAt)), sub("max-b", expires(t0.Add(time.Hour)))), clk,
				authpool.WithRefresher(r.refresh, 10*time.Minute), authpool.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

			report, err := p.RefreshCredentials(ctx)
			if diff := cmp.Diff(tt.wantCalls, r.take()); diff != "" {
				t.Errorf("RefreshFunc calls (-want +got):\n%s", diff)
			}
			failed := failures(report)
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("RefreshCredentials: %v", err)
				}
			} else {
				if len(failed) != 1 || !errors.Is(failed[0].Err, tt.wantErr) || !strings.Contains(failed[0].Err.Error(), tt.wantMsg) {
					t.Errorf("report.Failed = %+v, want one failure matching %v and saying %q", failed, tt.wantErr, tt.wantMsg)
				}
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("RefreshCredentials error = %v, want one matching %v and saying %q", err, tt.wantErr, tt.wantMsg)
				}
				for _, leak := range []string{cred("max-a"), secret} {
					if err != nil && strings.Contains(err.Error(), leak) {
						t.Errorf("the error shows a credential: %v", err)
					}
				}
			}
			if diff := cmp.Diff(tt.want, summary(report)); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			gotCred, gotExp := credentialOf(t, p, "max-a")
			if gotCred != tt.wantCred || !gotExp.Equal(tt.wantExp) {
				t.Errorf("max-a's credential is %q, expiring %v; want %q, %v", gotCred, gotExp, tt.wantCred, tt.wantExp)
			}
			if a := allocate(t, p, "alice"); a.SubscriptionID == "max-a" && a.Credential.Reveal() != tt.wantCred {
				t.Errorf("Allocate gave max-a's credential %q, want %q", a.Credential.Reveal(), tt.wantCred)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log shows a credential:\n%s", logs.String())
			}
		})
	}
}

func TestUpdateCredentialExpiresAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("max-a", expires(t0.Add(time.Hour)))), clk)
	steps := []struct {
		what      string
		cred      authpool.Credential
		expiresAt time.Time
		want      time.Time
	}{
		{"with an expiry", "sk-ant-oat01-two", t0.Add(8 * time.Hour).In(time.FixedZone("X", 3600)), t0.Add(8 * time.Hour)},
		{"without one: the old expiry goes with the old credential", "sk-ant-api03-three", time.Time{}, time.Time{}},
	}
	for _, s := range steps {
		if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: s.cred, ExpiresAt: s.expiresAt}); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if c, exp := credentialOf(t, p, "max-a"); c != s.cred.Reveal() || !exp.Equal(s.want) || exp.Location() != time.UTC {
			t.Errorf("%s: credential %q expiring %v, want %q expiring %v (UTC)", s.what, c, exp, s.cred.Reveal(), s.want)
		}
	}
}

func TestWithRefresherRefusesANonPositiveLead(t *testing.T) {
	t.Parallel()
	f := func(context.Context, string, authpool.Token) (authpool.Token, error) { return authpool.Token{}, nil }
	for _, before := range []time.Duration{0, -time.Minute} {
		_, err := authpool.New(context.Background(), subs(sub("max-a")), authpool.WithStore(authpool.NewTestStore(t)),
			authpool.WithRefresher(f, before))
		if !errors.Is(err, authpool.ErrInvalidArgument) || !strings.Contains(err.Error(), before.String()) {
			t.Errorf("New with WithRefresher(f, %v) = %v, want ErrInvalidArgument naming the value", before, err)
		}
	}
	// Without a refresher, RefreshCredentials does nothing.
	p := newPool(t, subs(sub("max-a", expires(t0))), newClock(t0), authpool.WithRefresher(nil, 0))
	if report, err := p.RefreshCredentials(context.Background()); err != nil || len(report) != 0 {
		t.Errorf("RefreshCredentials without a refresher = %+v, %v; want nothing done", report, err)
	}
}

// TestCredentialRefreshJSON: a report's failure shows its message, never
// the credential.
func TestCredentialRefreshJSON(t *testing.T) {
	t.Parallel()
	r := authpool.CredentialRefresh{SubscriptionID: "max-a", ExpiresAt: t0, RetryAt: t0.Add(time.Minute),
		Err: errors.New("token endpoint: 503")}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"subscriptionId":"max-a","expiresAt":"2026-11-26T12:30:00Z","retryAt":"2026-11-26T12:31:00Z","error":"token endpoint: 503"}`
	if string(got) != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}
