package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/internal/redistest"
)

// TestServeMemory runs the scenario on one server keeping its pool in
// memory.
func TestServeMemory(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	run(t, w, w.serveAll(t, "serve"), nil)
}

// TestServeRedis runs the scenario on two servers sharing one Redis: a
// login made through the first serves the second, usage and the refresh are
// shared, and one stopping leaves the other serving.
func TestServeRedis(t *testing.T) {
	t.Parallel()
	opts := redistest.Options(t)
	if opts.Password != "" {
		t.Skip("the test Redis has a password, which this test does not pass to the server")
	}
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	w := newWorld(t, `"store": {"url": "redis://`+opts.Addr+"/"+strconv.Itoa(opts.DB)+`", "prefix": "`+prefix+`"}`)
	run(t, w, w.serveAll(t, "serve-a", "serve-b"), &redisKeys{client: client, prefix: prefix})
}

// scenario is one run of the end-to-end test over servers sharing a
// store: servers[0] gets the first login, the last server is stopped in the
// middle of a stream.
type scenario struct {
	w       *world
	servers []*proc
	store   *redisKeys // nil for memory
	// pkce is the access token the PKCE login stored.
	pkce string
	// expiring is the imported login, whose access token expires during
	// the test at expiresAt; refreshed is the token its refresh gave, seen
	// at refreshedAt.
	expiring    fakeoauth.Login
	expiresAt   time.Time
	refreshed   string
	refreshedAt time.Time
	// keys are the keys of the callers the admin API added: secrets too.
	keys []string
}

// run runs the scenario's steps in order, each a subtest; the first to fail
// ends the test.
func run(t *testing.T, w *world, servers []*proc, store *redisKeys) {
	s := &scenario{w: w, servers: servers, store: store}
	for _, step := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"probes before any login", s.probes},
		{"login with PKCE through the first server", s.loginPKCE},
		{"requests with the SDK and as Claude Code", s.requests},
		{"login again with an expiring token (-import)", s.loginImport},
		{"status, metrics and the request log", s.observe},
		{"callers through the admin API", s.callers},
		{"the expiring token is refreshed once", s.refresh},
		{"SIGTERM in the middle of a stream", s.sigterm},
		{"nothing shows a secret", s.redaction},
	} {
		if !t.Run(step.name, step.f) {
			t.FailNow()
		}
	}
}

// last is the server stopped mid-stream.
func (s *scenario) last() *proc { return s.servers[len(s.servers)-1] }

// probes: /healthz and /readyz answer anyone; the status, the metrics and
// the admin API ask for their tokens; the pool is empty.
func (s *scenario) probes(t *testing.T) {
	for _, p := range s.servers {
		var health, ready map[string]string
		s.w.getJSON(t, p.url+"/healthz", "", 200, &health)
		s.w.getJSON(t, p.url+"/readyz", "", 200, &ready)
		if health["status"] != "ok" || ready["status"] != "ready" {
			t.Errorf("%s: /healthz %v, /readyz %v", p.name, health, ready)
		}
		for _, path := range []string{"/status", "/metrics", "/admin/v1/subscriptions"} {
			if code, body := s.w.get(t, p.url+path, ""); code != 401 || !strings.Contains(body, `"authentication_error"`) {
				t.Errorf("%s: GET %s without a token: %d %s, want 401", p.name, path, code, body)
			}
		}
		if code, _ := s.w.get(t, p.url+"/admin/v1/subscriptions", statusToken); code != 401 {
			t.Errorf("%s: the admin API took the status token: %d", p.name, code)
		}
		var list struct{ Subscriptions []json.RawMessage }
		s.w.getJSON(t, p.url+"/admin/v1/subscriptions", adminToken, 200, &list)
		if len(list.Subscriptions) != 0 {
			t.Errorf("%s: subscriptions before any login: %s", p.name, list.Subscriptions)
		}
	}
}

// loginPKCE: `authpool login` through the first server's admin API, with
// the authorization code pasted back, adds the subscription; every server
// then has it, its credential hidden.
func (s *scenario) loginPKCE(t *testing.T) {
	p := loginPKCE(t, s.w.env, "max-a", "-kind", "max20x", "-name", "Max A", "-server", s.servers[0].url,
		"-admin-token-file", filepath.Join(s.w.dir, "admin.token"), "-config", s.w.config)
	s.w.logins = append(s.w.logins, p)
	if out := p.stdout.String(); !strings.Contains(out, `subscription "max-a" added and logged in`) ||
		!strings.Contains(out, "the server refreshes it before then") {
		t.Errorf("login printed:\n%s", out)
	}
	if n := s.w.oauth.Count(fakeoauth.TokenPath); n != 1 {
		t.Errorf("the token endpoint answered %d exchanges, want 1", n)
	}
	for _, srv := range s.servers {
		var sub struct {
			ID, Kind, Credential string
			Status               struct{ State string }
		}
		if !poll(eventually, func() bool {
			code, _ := s.w.get(t, srv.url+"/admin/v1/subscriptions/max-a", adminToken)
			return code == 200
		}) {
			t.Fatalf("%s does not have max-a", srv.name)
		}
		s.w.getJSON(t, srv.url+"/admin/v1/subscriptions/max-a", adminToken, 200, &sub)
		if sub.ID != "max-a" || sub.Kind != "max20x" || sub.Credential != "[REDACTED]" || sub.Status.State != "active" {
			t.Errorf("%s: max-a is %+v", srv.name, sub)
		}
	}
}

// requests: on every server, a message and a stream with the SDK (alice)
// and a turn as Claude Code sends it (bob) are answered by the upstream
// with the login's token, never a caller's key.
func (s *scenario) requests(t *testing.T) {
	from := s.w.up.Count()
	for i, p := range s.servers {
		alice := sdk(p, keyAlice, fmt.Sprintf("session-alice-%d", i))
		// A server that is not the login's sees the subscription within
		// the pool's refresh interval (1 s).
		var lastErr error
		if !poll(eventually, func() bool {
			msg, err := alice.Messages.New(t.Context(), params)
			lastErr = err
			return err == nil && len(msg.Content) == 1 && msg.Content[0].Text == fakeanthropic.DefaultText &&
				msg.Usage.OutputTokens == fakeanthropic.DefaultUsage.Output
		}) {
			t.Fatalf("%s: no message: %v", p.name, lastErr)
		}
		if st := stream(t, alice); !st.complete() || st.msg.Usage.OutputTokens != fakeanthropic.DefaultUsage.Output {
			t.Errorf("%s: the stream: events %v, %+v, %v", p.name, st.events, st.msg.Content, st.err)
		}
		cli := &fakeanthropic.CLI{BaseURL: p.url, Auth: fakeanthropic.AuthOAuth, Key: keyBob, MaxRetries: 0}
		turn, err := cli.Session().Turn(t.Context())
		if err != nil || turn.Status != 200 || turn.Text != fakeanthropic.DefaultText {
			t.Errorf("%s: Claude Code's turn: %d %q %v", p.name, turn.Status, turn.Shown, err)
		}
	}
	creds := bearers(s.w.up.Requests(), from)
	if len(creds) == 0 {
		t.Fatal("the upstream received nothing")
	}
	s.pkce = creds[0]
	if len(creds) != 3*len(s.servers) || slices.ContainsFunc(creds, func(c string) bool { return c != s.pkce }) {
		t.Errorf("the upstream got %d requests with %d credentials, want %d with the login's", len(creds),
			len(slices.Compact(slices.Sorted(slices.Values(creds)))), 3*len(s.servers))
	}
	if !strings.HasPrefix(s.pkce, "sk-ant-oat01-fake-") || !s.w.live(t, s.pkce) {
		t.Errorf("the upstream got a credential that is not the fake's live access token")
	}
	for _, r := range s.w.up.Requests()[from:] {
		if strings.Contains(fmt.Sprint(r.Header), keyAlice) || strings.Contains(fmt.Sprint(r.Header), keyBob) {
			t.Errorf("a caller's key reached the upstream")
		}
	}
}

// loginImport: `authpool login -import` through the last server's admin
// API replaces max-a's login with one whose access token expires in
// refreshBefore plus 2 s.
func (s *scenario) loginImport(t *testing.T) {
	s.expiring = s.w.oauth.Mint(oauth.DefaultScopes()...)
	s.expiresAt = time.Now().Add(refreshBefore + 2*time.Second)
	creds, err := json.Marshal(map[string]any{"claudeAiOauth": map[string]any{
		"accessToken": s.expiring.AccessToken, "refreshToken": s.expiring.RefreshToken,
		"expiresAt": s.expiresAt.UnixMilli(), "scopes": s.expiring.Scopes, "subscriptionType": "max"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), ".credentials.json")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	p := runLogin(t, s.w.env, nil, "-import", file, "max-a", "-server", s.last().url,
		"-admin-token-file", filepath.Join(s.w.dir, "admin.token"))
	s.w.logins = append(s.w.logins, p)
	if out := p.stdout.String(); !strings.Contains(out, `subscription "max-a" logged in`) ||
		!strings.Contains(out, "Log the Claude Code it came from out") {
		t.Errorf("login -import printed:\n%s", out)
	}
}
