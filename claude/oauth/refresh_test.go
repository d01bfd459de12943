package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// A refresh sends Claude Code's JSON body, gets new tokens, and uses the
// old refresh token up: refreshing with it again is ErrInvalidGrant.
func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	login := f.fake.Mint(oauth.DefaultScopes()...)
	f.clk.Advance(7 * time.Hour)
	tok, err := f.client.Refresh(context.Background(), store.Secret(login.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken.Reveal() == login.AccessToken || tok.RefreshToken.Reveal() == login.RefreshToken || !tok.CanRefresh() {
		t.Errorf("Refresh kept a token: %+v", tok)
	}
	if want := t0.Add(7*time.Hour + 8*time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, want)
	}
	var body map[string]string
	if err := json.Unmarshal(lastRequest(t, f, fakeoauth.TokenPath).Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"grant_type": "refresh_token", "refresh_token": login.RefreshToken, "client_id": oauth.DefaultClientID,
		"scope": strings.Join(oauth.DefaultScopes(), " "),
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("refresh body (-want +got):\n%s", diff)
	}
	_, err = f.client.Refresh(context.Background(), store.Secret(login.RefreshToken))
	var he *oauth.HTTPError
	if !errors.Is(err, oauth.ErrInvalidGrant) || !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("refresh with a used token: %v, want ErrInvalidGrant in a 400 HTTPError", err)
	}
	if strings.Contains(err.Error(), login.RefreshToken) {
		t.Errorf("error %q quotes the refresh token", err)
	}
	if n := f.fake.Count("refresh"); n != 1 {
		t.Errorf("the fake answered %d refreshes, want 1", n)
	}
}

// What Refresh returns when the answer leaves things out.
func TestRefreshAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      fakeoauth.Options
		scopes    []string
		keepsOld  bool
		refreshAt time.Time
		wantScope []string
	}{
		{"rotated, lifetime given", fakeoauth.Options{RefreshTTL: 10 * 24 * time.Hour}, nil, false, t0.Add(10 * 24 * time.Hour), oauth.DefaultScopes()},
		{"rotated, no lifetime: 30 days", fakeoauth.Options{RefreshTTL: 10 * 24 * time.Hour, OmitRefreshTTL: true}, nil, false,
			t0.Add(30 * 24 * time.Hour), oauth.DefaultScopes()},
		{"not rotated: the old one back, expiry unknown", fakeoauth.Options{KeepRefreshToken: true}, nil, true, time.Time{}, oauth.DefaultScopes()},
		{"fewer scopes", fakeoauth.Options{}, []string{"user:profile", "user:inference"}, false, t0.Add(30 * 24 * time.Hour),
			[]string{"user:profile", "user:inference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.opts, oauth.Config{})
			login := f.fake.Mint(oauth.DefaultScopes()...)
			tok, err := f.client.Refresh(context.Background(), store.Secret(login.RefreshToken), tt.scopes...)
			if err != nil {
				t.Fatal(err)
			}
			if kept := tok.RefreshToken.Reveal() == login.RefreshToken; kept != tt.keepsOld {
				t.Errorf("kept the old refresh token: %v, want %v", kept, tt.keepsOld)
			}
			if !tok.RefreshTokenExpiresAt.Equal(tt.refreshAt) {
				t.Errorf("RefreshTokenExpiresAt = %v, want %v", tok.RefreshTokenExpiresAt, tt.refreshAt)
			}
			if diff := cmp.Diff(tt.wantScope, tok.Scopes); diff != "" {
				t.Errorf("Scopes (-want +got):\n%s", diff)
			}
		})
	}
}

// Failures other than invalid_grant keep their status and a scrubbed,
// bounded body; they do not match ErrInvalidGrant.
func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	const secret = "sk-ant-ort01-SECRET-refresh-token-value"
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		invalid bool
	}{
		{"invalid_grant", 400, `{"error":"invalid_grant","error_description":"Refresh token not found or invalid"}`, "invalid_grant", true},
		{"invalid_grant in 401", 401, `{"error":"invalid_grant"}`, "invalid_grant", true},
		{"invalid_scope", 400, `{"error":"invalid_scope","error_description":"bad"}`, "invalid_scope", false},
		{"Anthropic error object", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "rate_limit_error", false},
		{"echoes the token", 500, `{"error":"server_error","error_description":"could not refresh ` + secret + `"}`, "server_error", false},
		{"echoes it in plain text", 502, "bad gateway for refresh_token=" + secret, "", false},
		{"long HTML", 503, "<html>" + long + "</html>", "", false},
		{"odd code", 400, `{"error":"<b>bad</b>"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
			f.fake.FailNext(fakeoauth.TokenPath, tt.status, tt.body)
			_, err := f.client.Refresh(context.Background(), secret)
			var he *oauth.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("Refresh: %v, want an *HTTPError", err)
			}
			if he.Op != "refresh" || he.Status != tt.status || he.Code != tt.code {
				t.Errorf("HTTPError{Op %q, Status %d, Code %q}, want refresh, %d, %q", he.Op, he.Status, he.Code, tt.status, tt.code)
			}
			if got := errors.Is(err, oauth.ErrInvalidGrant); got != tt.invalid {
				t.Errorf("errors.Is(ErrInvalidGrant) = %v, want %v", got, tt.invalid)
			}
			if strings.Contains(err.Error(), "SECRET") || len(he.Body) > 512 {
				t.Errorf("error %.200q: quotes the token or is longer than 512 bytes (%d)", err, len(he.Body))
			}
		})
	}
}

// Refresh refuses an empty or unsendable token without a request, and
// stops with its context.
func TestRefreshBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	for _, tok := range []store.Secret{"", "has space", "new\nline"} {
		if _, err := f.client.Refresh(context.Background(), tok); err == nil || strings.Contains(err.Error(), string(tok)) && tok != "" {
			t.Errorf("Refresh(%q): %v, want an error that does not quote it", tok, err)
		}
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want none", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.client.Refresh(ctx, "sk-ant-ort01-x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Refresh with a canceled context: %v, want context.Canceled", err)
	}
}

// A token answer that is not one is an error naming the field, never
// quoting a token.
func TestRefreshBadAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"not JSON", `<html>`, "oauth: token answer: invalid character"},
		{"no access token", `{"expires_in":3600}`, "access_token is missing"},
		{"no expiry", `{"access_token":"sk-ant-oat01-NEWSECRET"}`, "expires_in is missing"},
		{"negative expiry", `{"access_token":"sk-ant-oat01-NEWSECRET","expires_in":-1}`, "expires_in -1 is not a number of seconds"},
		{"bad refresh lifetime", `{"access_token":"sk-ant-oat01-NEWSECRET","expires_in":60,"refresh_token":"r-NEWSECRET","refresh_token_expires_in":0}`,
			"refresh_token_expires_in 0"},
		{"token with a space", `{"access_token":"sk-ant NEWSECRET","expires_in":60}`, "access_token has a space"},
		{"wrong type", `{"access_token":7,"expires_in":60}`, "cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
			f.fake.FailNext(fakeoauth.TokenPath, 200, tt.body)
			_, err := f.client.Refresh(context.Background(), "sk-ant-ort01-x")
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "NEWSECRET") {
				t.Errorf("Refresh: %v\nwant an error with %q that does not quote a token", err, tt.want)
			}
		})
	}
}

// The default http.Client follows no redirect: a token request sent on
// elsewhere would carry the refresh token there.
func TestRefreshNoRedirect(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer ts.Close()
	c, err := oauth.New(oauth.Config{TokenURL: ts.URL + "/token"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Refresh(context.Background(), "sk-ant-ort01-x")
	var he *oauth.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusTemporaryRedirect {
		t.Errorf("Refresh: %v, want an HTTPError 307", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the request was sent on %d times", n)
	}
}
