package fakeoauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/fakeoauth"
)

// call sends a request to the fake and returns the status and body.
func call(t *testing.T, ts *httptest.Server, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(b)
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func authorizeQuery(mod func(url.Values)) string {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"code": {"true"}, "client_id": {fakeoauth.ClaudeCodeClientID}, "response_type": {"code"},
		"redirect_uri": {"https://platform.claude.com/oauth/code/callback"}, "scope": {"user:profile user:inference"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "state": {"st"}}
	if mod != nil {
		mod(q)
	}
	return fakeoauth.AuthorizePath + "?" + q.Encode()
}

// The authorize page refuses what Claude's would, and answers code#state.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(fakeoauth.New(fakeoauth.Options{}))
	defer ts.Close()
	tests := []struct {
		name   string
		mod    func(url.Values)
		status int
		want   string
	}{
		{"ok", nil, 200, "#st\n"},
		{"loopback redirect", func(q url.Values) { q.Set("redirect_uri", "http://localhost:5/callback") }, 302, "http://localhost:5/callback?code=fakecode-"},
		{"other client", func(q url.Values) { q.Set("client_id", "x") }, 400, "client_id must be"},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 400, "code_challenge_method must be"},
		{"no code=true", func(q url.Values) { q.Del("code") }, 400, "code must be"},
		{"no state", func(q url.Values) { q.Del("state") }, 400, "state is missing"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, 400, "not a base64url SHA-256"},
		{"relative redirect", func(q url.Values) { q.Set("redirect_uri", "/cb") }, 400, "redirect_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, ts, http.MethodGet, authorizeQuery(tt.mod), "", nil)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%d %q, want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
}

// The token endpoint checks the client, the body's form, the code, its
// verifier and state, and uses codes and refresh tokens once.
func TestToken(t *testing.T) {
	t.Parallel()
	srv := fakeoauth.New(fakeoauth.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	jsonCT := map[string]string{"Content-Type": "application/json"}
	codeOf := func() string {
		_, page := call(t, ts, http.MethodGet, authorizeQuery(nil), "", nil)
		code, _, _ := strings.Cut(strings.TrimSpace(page), "#")
		return code
	}
	exchange := func(code, ver, state string) string {
		b, _ := json.Marshal(map[string]string{"grant_type": "authorization_code", "code": code, "code_verifier": ver, "state": state,
			"client_id": fakeoauth.ClaudeCodeClientID, "redirect_uri": "https://platform.claude.com/oauth/code/callback"})
		return string(b)
	}
	login := srv.Mint("user:profile", "user:inference")
	refresh := func(tok string) string {
		return `{"grant_type":"refresh_token","client_id":"` + fakeoauth.ClaudeCodeClientID + `","refresh_token":"` + tok + `"}`
	}
	tests := []struct {
		name   string
		body   string
		header map[string]string
		status int
		want   string
	}{
		{"form body", "grant_type=refresh_token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, `"invalid_request"`},
		{"other client", `{"grant_type":"refresh_token","client_id":"x"}`, jsonCT, 401, `"invalid_client"`},
		{"other grant", `{"grant_type":"password","client_id":"` + fakeoauth.ClaudeCodeClientID + `"}`, jsonCT, 400, "unsupported_grant_type"},
		{"unknown code", exchange("nope", verifier, "st"), jsonCT, 400, "invalid_grant"},
		{"wrong verifier", exchange(codeOf(), "x"+verifier[1:], "st"), jsonCT, 400, "code_verifier does not match"},
		{"wrong state", exchange(codeOf(), verifier, "other"), jsonCT, 400, "state differs"},
		{"exchange", exchange(codeOf(), verifier, "st"), jsonCT, 200, `"refresh_token":"sk-ant-ort01-fake-`},
		{"refresh", refresh(login.RefreshToken), jsonCT, 200, `"scope":"user:profile user:inference"`},
		{"refresh again", refresh(login.RefreshToken), jsonCT, 400, "invalid_grant"},
		{"more scope", `{"grant_type":"refresh_token","client_id":"` + fakeoauth.ClaudeCodeClientID + `","refresh_token":"` +
			srv.Mint("user:inference").RefreshToken + `","scope":"user:inference user:profile"}`, jsonCT, 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, ts, http.MethodPost, fakeoauth.TokenPath, tt.body, tt.header)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
	if n := srv.Count("refresh"); n != 1 {
		t.Errorf("Count(refresh) = %d, want 1", n)
	}
}

// The usage endpoint wants the beta, a live token and the user:profile
// scope; FailNext answers in its place once.
func TestUsage(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	srv := fakeoauth.New(fakeoauth.Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	login := srv.Mint("user:profile", "user:inference")
	setup := srv.MintSetupToken()
	srv.SetUsage(login.AccessToken, []byte(`{"five_hour":null}`))
	auth := func(tok string, beta bool) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + tok}
		if beta {
			h["anthropic-beta"] = "claude-code-20250219," + fakeoauth.OAuthBeta
		}
		return h
	}
	srv.FailNext(fakeoauth.UsagePath, 503, `{"type":"error","error":{"type":"overloaded_error"}}`)
	tests := []struct {
		name   string
		header map[string]string
		status int
		want   string
	}{
		{"failed once", auth(login.AccessToken, true), 503, "overloaded_error"},
		{"ok", auth(login.AccessToken, true), 200, `{"five_hour":null}`},
		{"no beta", auth(login.AccessToken, false), 401, "not supported"},
		{"unknown token", auth("x", true), 401, "Invalid bearer token"},
		{"setup token", auth(setup.AccessToken, true), 403, "user:profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, ts, http.MethodGet, fakeoauth.UsagePath, "", tt.header)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
	if n := srv.Count(fakeoauth.UsagePath); n != 1 {
		t.Errorf("Count(usage) = %d, want 1", n)
	}
	if n := len(srv.Requests()); n != len(tests) {
		t.Errorf("%d requests recorded, want %d", n, len(tests))
	}
	mu.Lock()
	now = now.Add(9 * time.Hour)
	mu.Unlock()
	if status, _ := call(t, ts, http.MethodGet, fakeoauth.UsagePath, "", auth(login.AccessToken, true)); status != 401 {
		t.Errorf("an expired token: %d, want 401", status)
	}
}
