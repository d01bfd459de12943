package redaction_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/server"
)

// The server's own secrets, besides those of redaction_test.go.
const (
	adminToken  = "admin-REDACTME-7f3a9c-token-1d8e5b2f0a6c9347"
	statusToken = "status-REDACTME-7f3a9c-token-e04b7a19c3d2f856"
	subC        = "sk-ant-oat01-REDACTME-7f3a9c-sub-c-5b3e8d1a9f07c264"   // a subscription added through the admin API
	subCRefresh = "sk-ant-ort01-REDACTME-7f3a9c-sub-c-r-0e6a4f2d8b1c73"   // its refresh token
	subCLogin   = "sk-ant-oat01-REDACTME-7f3a9c-sub-c-login-94d2a7e1c0b6" // its new login, PUT as its credential
	subCLoginR  = "sk-ant-ort01-REDACTME-7f3a9c-sub-c-login-r-3a8f5c1e7d"
	prompt      = "REDACTME-7f3a9c-prompt-6e2c9a0f4b7d1853 c1d9e7a2b4f60835" // what a caller asks, which only the upstream may see
)

// TestServerShowsNoSecret runs `authpool serve` (package server) as a team
// would — a subscription logged in with OAuth and refreshed, callers from
// the config file and callers added through the admin API, requests from
// Claude Code and the SDKs, an upstream that echoes the credentials it is
// sent, bad input to the admin API that quotes secrets — on the in-memory
// store and on Redis, both sealed. Nothing the server says — its admin
// answers (but the one that shows a new caller its key), its request log
// and other logs, /status in HTML and JSON, /metrics — nor what its store
// keeps (the memstore's every reachable byte, every Redis key and value)
// holds a subscription's credential or refresh token, a caller's key, a
// token, or the prompt, nor 12 bytes of one.
func TestServerShowsNoSecret(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		st := memstore.New()
		r := runServer(t, server.Options{Store: st}, nil)
		r.exercise(t)
		r.said.add("memstore", "%s", reachableText(st))
		r.check(t)
	})
	t.Run("redis", func(t *testing.T) {
		rdb := redistest.Client(t)
		prefix := redistest.Prefix(t, rdb)
		r := runServer(t, server.Options{}, func(f *configfile.File) {
			f.Server.Store = configfile.ServerStore{URL: redistest.URL(), Prefix: prefix}
		})
		r.exercise(t)
		scanRedis(t.Context(), t, &r.said, rdb, prefix)
		r.check(t)
	})
}

// serverRun is a server under the redaction test, and what it said.
type serverRun struct {
	srv     *server.Server
	url     string
	up      *fakeanthropic.Server
	oauth   *fakeoauth.Server
	logs    *syncBuffer
	said    transcript
	secrets []string
	// keys are the stored callers' keys, each shown in the answer that
	// added its caller, by the answers that showed it.
	keys map[string]int
	key  string // caller ci's
	stop func()
}

// runServer serves a config with a subscription logged in with OAuth
// (sub-a, its token about to expire: it is refreshed at once), one with a
// plain credential (sub-b), a fallback and two callers, sealed with a
// keyring, until the test ends.
func runServer(t *testing.T, opts server.Options, edit func(*configfile.File)) *serverRun {
	t.Helper()
	var clockNS atomic.Int64
	clockNS.Store(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clockNS.Load()).UTC() }
	r := &serverRun{up: &fakeanthropic.Server{}, oauth: fakeoauth.New(fakeoauth.Options{Now: now}), logs: &syncBuffer{},
		keys: map[string]int{}}
	// The upstream answers the session "echo" with a 529 that echoes the
	// credential it was sent, on every subscription; the fallback serves.
	r.up.SetRespond(func(req *fakeanthropic.Request) fakeanthropic.Response {
		if req.Header.Get("X-Claude-Code-Session-Id") != "echo" || req.Credential() == fallback {
			return fakeanthropic.OK(fakeanthropic.DefaultUsage)
		}
		return fakeanthropic.Response{Status: 529, Error: &fakeanthropic.Error{Type: "overloaded_error",
			Message: "overloaded for x-api-key " + req.Credential()}}
	})
	upTS, oauthTS := httptest.NewServer(r.up), httptest.NewServer(r.oauth)
	t.Cleanup(upTS.Close)
	t.Cleanup(oauthTS.Close)
	login := r.oauth.Mint(oauth.DefaultScopes()...)
	r.secrets = append(append([]string{}, secrets...), adminToken, statusToken, subC, subCRefresh, subCLogin, subCLoginR, prompt,
		login.AccessToken, login.RefreshToken)
	js := fmt.Sprintf(`{
  "allowLiteralCredentials": true,
  "subscriptions": [
    {"id": "sub-a", "kind": "max20x", "credential": %q, "refreshToken": %q, "credentialExpiresAt": %q, "weeklyBudgetUSD": 1000, "blockBudgetUSD": 140},
    {"id": "sub-b", "kind": "max5x", "credential": %q, "weeklyBudgetUSD": 250, "blockBudgetUSD": 35}
  ],
  "fallback": {"credential": %q, "dailyBudgetUSD": 5},
  "callers": [{"id": "alice", "key": %q}, {"id": "bob", "key": %q}],
  "notify": {"log": {"level": "debug"}},
  "server": {
    "listen": "127.0.0.1:0", "adminToken": %q, "statusToken": %q, "upstream": %q, "usagePoll": {"off": true},
    "oauth": {"authorizeUrl": "%[11]s/oauth/authorize", "tokenUrl": "%[11]s/v1/oauth/token", "usageUrl": "%[11]s/api/oauth/usage", "profileUrl": "%[11]s/api/oauth/profile"}
  }
}`, login.AccessToken, login.RefreshToken, now().Add(5*time.Minute).Format(time.RFC3339), subB, fallback, keyAlice, keyBob,
		adminToken, statusToken, upTS.URL, oauthTS.URL)
	f, err := configfile.Read(strings.NewReader(js), "pool.json")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&f)
	}
	sum := sha256.Sum256([]byte("redaction server test"))
	if opts.Keyring, err = seal.NewKeyring(seal.Key{ID: "k1", Bytes: sum[:]}); err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Clock = now
	if r.srv, err = server.New(t.Context(), f, opts); err != nil {
		t.Fatal(err)
	}
	r.url = r.srv.URL()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Serve(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}
	return r
}

// exercise waits for sub-a's refresh, then drives the admin API, the
// proxy and the pages, adding what the server answered to said.
func (r *serverRun) exercise(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.oauth.Count(fakeoauth.TokenPath) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	subs, err := r.srv.Pool().Subscriptions(t.Context())
	if err != nil || r.oauth.Count(fakeoauth.TokenPath) == 0 {
		t.Fatalf("sub-a was not refreshed at the start (%v):\n%s", err, r.logs.String())
	}
	for _, s := range subs { // the refreshed tokens are secrets too
		r.secrets = append(r.secrets, s.Credential.Reveal(), s.RefreshToken.Reveal())
	}
	r.admin(t)
	r.proxy(t)
	for _, page := range []string{"/status", "/status?format=json", "/metrics"} {
		r.call(t, http.MethodGet, page, statusToken, "", http.StatusOK)
	}
	r.call(t, http.MethodGet, "/metrics", "", "", http.StatusUnauthorized)
	r.stop()
	r.said.add("server log", "%s", r.logs.String())
}

// call sends a request to the server and adds the answer to said, but for
// the stored callers' keys, which it counts: an answer that adds a caller
// shows its key.
func (r *serverRun) call(t *testing.T, method, path, bearer, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, r.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("%s %s: %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	var added struct {
		Key string `json:"key"`
	}
	if json.Unmarshal(b, &added) == nil && strings.HasPrefix(added.Key, "apk-") {
		r.keys[added.Key] += 0
		r.secrets = append(r.secrets, added.Key)
	}
	text := fmt.Sprintf("%s\n%v\n%s", resp.Status, resp.Header, b)
	for key := range r.keys {
		if strings.Contains(text, key) {
			r.keys[key]++
			text = strings.ReplaceAll(text, key, "<a key, shown once>")
		}
	}
	r.said.add(method+" "+path, "%s", text)
	return b
}

// admin drives every admin endpoint, with good input and bad input that
// carries secrets.
func (r *serverRun) admin(t *testing.T) {
	t.Helper()
	const subs, callers = "/admin/v1/subscriptions", "/admin/v1/callers"
	r.call(t, http.MethodGet, subs, adminToken, "", 200)
	r.call(t, http.MethodPost, subs, adminToken, fmt.Sprintf(`{"id": "sub-c", "kind": "pro", "credential": %q, "refreshToken": %q}`, subC, subCRefresh), 201)
	r.call(t, http.MethodPatch, subs+"/sub-c", adminToken, `{"maxClients": 4}`, 200)
	r.call(t, http.MethodPut, subs+"/sub-c/credential", adminToken, fmt.Sprintf(`{"access": %q, "refresh": %q}`, subCLogin, subCLoginR), 200)
	r.call(t, http.MethodPost, subs+"/sub-c/disable", adminToken, `{"reason": "for the night"}`, 200)
	r.call(t, http.MethodPost, subs+"/sub-c/enable", adminToken, "", 200)
	r.call(t, http.MethodGet, subs+"/sub-a", adminToken, "", 200)
	r.call(t, http.MethodPost, subs, adminToken, fmt.Sprintf(`{"id": "bad", "kind": "pro", "credential": %q}`, multiline), 400)
	r.call(t, http.MethodPost, subs, adminToken, fmt.Sprintf(`{"id": "sub-c", "kind": "pro", "credential": %q}`, subA), 409)
	r.call(t, http.MethodPut, subs+"/sub-c/credential", adminToken, fmt.Sprintf(`{"access": %q, "refresh": 5}`, subB), 400)
	r.call(t, http.MethodGet, subs, subA, "", 401)
	r.call(t, http.MethodDelete, subs+"/sub-c", adminToken, "", 200)

	b := r.call(t, http.MethodPost, callers, adminToken, `{"id": "ci", "capUSD": 20}`, 201)
	var added struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &added); err != nil || !strings.HasPrefix(added.Key, "apk-") {
		t.Fatalf("adding a caller: %s", b)
	}
	r.key = added.Key
	r.call(t, http.MethodPost, callers, adminToken, `{"id": "tiny", "capUSD": 0.000001}`, 201)
	r.call(t, http.MethodPost, callers, adminToken, fmt.Sprintf(`{"id": "x", "key": %q}`, keyAlice), 400)
	r.call(t, http.MethodPost, callers, adminToken, fmt.Sprintf(`{"id": "%s!"}`, keyBob), 400)
	r.call(t, http.MethodPost, callers, adminToken, fmt.Sprintf(`{"id": "ci", "capUSD": %q}`, keyBob), 400)
	r.call(t, http.MethodPost, callers, adminToken, fmt.Sprintf(`{"id": "ci", "capWindow": %q}`, keyBob), 400)
	r.call(t, http.MethodPatch, callers+"/ci", adminToken, fmt.Sprintf(`{"key": %q}`, r.key), 400)
	r.call(t, http.MethodPatch, callers+"/ci", adminToken, fmt.Sprintf(`{"sessionless": %q}`, subA), 400)
	r.call(t, http.MethodPatch, callers+"/ci", adminToken, `{"capUSD": 25}`, 200)
	r.call(t, http.MethodGet, callers, adminToken, "", 200)
	r.call(t, http.MethodGet, callers+"/ci", adminToken, "", 200)
	r.call(t, http.MethodGet, callers, r.key, "", 401)
}

// proxy sends requests through the proxy: Claude Code with the stored
// caller's key, a config caller's message with the prompt, a capped
// caller past its cap, an unknown key, and a request whose upstream
// answers echo the credentials; then reads the callers' usage.
func (r *serverRun) proxy(t *testing.T) {
	t.Helper()
	cli := &fakeanthropic.CLI{BaseURL: r.url, Auth: fakeanthropic.AuthOAuth, Key: r.key}
	if turn, err := cli.Session().Turn(t.Context()); err != nil || turn.Status != 200 {
		t.Errorf("Claude Code with the stored caller's key: %v, %d", err, turn.Status)
	}
	msg := fmt.Sprintf(`{"model": %q, "max_tokens": 64, "messages": [{"role": "user", "content": %q}]}`, model, prompt)
	send := func(key, session string, want int) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.url+"/v1/messages", strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("X-Claude-Code-Session-Id", session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.said.add("proxy answer", "%s\n%v\n%s", resp.Status, resp.Header, b)
		if resp.StatusCode != want && want != 0 {
			t.Errorf("a request (session %q): %d, want %d: %.300s", session, resp.StatusCode, want, b)
		}
	}
	send(keyAlice, "s-alice", 200)
	tiny := r.call(t, http.MethodPost, "/admin/v1/callers", adminToken, `{"id": "tiny2", "capUSD": 0.000001}`, 201)
	var added struct{ Key string }
	_ = json.Unmarshal(tiny, &added)
	send(added.Key, "s-tiny", 200)
	send(added.Key, "s-tiny", 429)
	send(strayKey, "s-stray", 401)
	send(keyBob, "echo", 0) // every subscription echoes (the fallback, kept for when they are spent, may serve)
	echoed := 0
	for _, req := range r.up.Requests() {
		if req.Status == 529 {
			echoed++
		}
	}
	if echoed == 0 {
		t.Errorf("no upstream answer echoed a credential")
	}
	for _, id := range []string{"ci", "tiny2"} {
		r.call(t, http.MethodGet, "/admin/v1/callers/"+id+"/usage", adminToken, "", 200)
	}
	r.call(t, http.MethodDelete, "/admin/v1/callers/tiny2", adminToken, "", 204)
}

// check looks for every secret in what the server said, and checks that
// the stored caller's key was shown once, to whom added it.
func (r *serverRun) check(t *testing.T) {
	t.Helper()
	if len(r.keys) != 3 {
		t.Errorf("%d callers' keys shown; want 3", len(r.keys))
	}
	for _, n := range r.keys {
		if n != 1 {
			t.Errorf("a stored caller's key was shown in %d answers; want 1, the one that added it", n)
		}
	}
	r.said.mu.Lock()
	defer r.said.mu.Unlock()
	var redacted int
	for _, pt := range r.said.parts {
		if strings.Contains(pt.text, "[REDACTED]") {
			redacted++
		}
		for _, s := range r.secrets {
			if s == "" {
				continue
			}
			if leak, ok := leaks(pt.text, s); ok {
				t.Errorf("%s shows %q of a secret:\n%s", pt.where, leak, excerpt(pt.text, leak))
			}
		}
	}
	if redacted == 0 || !strings.Contains(r.logs.String(), `"msg":"request"`) || !strings.Contains(r.logs.String(), `"caller":"ci"`) {
		t.Errorf("%d texts with the upstream's words redacted, and request lines %v; want some of each", redacted,
			strings.Contains(r.logs.String(), `"msg":"request"`))
	}
	t.Logf("%d texts checked for %d secrets", len(r.said.parts), len(r.secrets))
}
