package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/server"
)

const (
	adminTok = "admin-token-cmd-test-0123456789"
	credA    = "sk-ant-oat01-cmd-test-a-0123456789abcdef"
	keyAlice = "caller-key-alice-cmd-0123456789"
)

// syncBuffer is a buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is an environment with the variables given and buffers for
// output.
func testEnv(stdin io.Reader, vars map[string]string) (environment, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return environment{stdin: stdin, stdout: out, stderr: errOut, getenv: func(k string) string { return vars[k] }}, out, errOut
}

// writeConfig writes a config file whose OAuth endpoints are the fake's,
// with one subscription (max-a), one caller and an admin token, and
// returns its path; extra is spliced into its server section.
func writeConfig(t *testing.T, oauthURL, extra string) string {
	t.Helper()
	js := `{
	  "allowLiteralCredentials": true,
	  "subscriptions": [{"id": "max-a", "kind": "max20x", "credential": "` + credA + `"}],
	  "callers": [{"id": "alice", "key": "` + keyAlice + `"}],
	  "server": {
	    "listen": "127.0.0.1:0",
	    "adminToken": {"file": "admin.token"},
	    "usagePoll": {"off": true},
	    "oauth": {
	      "authorizeUrl": "` + oauthURL + fakeoauth.AuthorizePath + `",
	      "tokenUrl": "` + oauthURL + fakeoauth.TokenPath + `",
	      "usageUrl": "` + oauthURL + fakeoauth.UsagePath + `"
	    }` + extra + `
	  }
	}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pool.json")
	if err := os.WriteFile(path, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUsageErrors: a wrong command line exits 2 saying what is wrong,
// before anything else happens.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve"}, "serve: -config is required"},
		{[]string{"serve", "-config", "x.json", "extra"}, `serve: unexpected argument "extra"`},
		{[]string{"serve", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"login"}, "login: the subscription's id is required"},
		{[]string{"login", "max-a"}, "login: say where the login goes"},
		{[]string{"login", "max-a", "other", "-server", "http://127.0.0.1:1"}, `one subscription at a time: unexpected argument "other"`},
		{[]string{"login", "max-a", "-server", "http://127.0.0.1:1", "-kind", "team"}, `-kind "team": must be pro, max5x or max20x`},
		{[]string{"status"}, "status: -server is required"},
		{[]string{"status", "-server", "http://127.0.0.1:1", "x"}, `status: unexpected argument "x"`},
	} {
		env, _, errOut := testEnv(nil, nil)
		if code := run(t.Context(), tc.args, env); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", tc.args, code, errOut)
		}
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: stderr %q, want %q", tc.args, errOut, tc.want)
		}
	}
	env, out, _ := testEnv(nil, nil)
	if code := run(t.Context(), []string{"help"}, env); code != 0 || !strings.Contains(out.String(), "authpool serve") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

// TestParseFlags: flags and positional arguments in any order.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		kind string
	}{
		{[]string{"max-a", "-kind", "pro"}, []string{"max-a"}, "pro"},
		{[]string{"-kind", "pro", "max-a"}, []string{"max-a"}, "pro"},
		{[]string{"--kind=pro", "max-a", "--", "-x"}, []string{"max-a", "-x"}, "pro"},
	} {
		env, _, _ := testEnv(nil, nil)
		fs := newFlags("t", env)
		kind := fs.String("kind", "", "")
		pos, err := parseFlags(fs, tc.args)
		if err != nil || !slicesEqual(pos, tc.pos) || *kind != tc.kind {
			t.Errorf("%q: %q, kind %q, %v; want %q, %q", tc.args, pos, *kind, err, tc.pos, tc.kind)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestServe: serve prints where it listens, serves, and exits 0 when told
// to stop; -listen overrides the file, and a non-loopback -listen is
// refused as the file's would be.
func TestServe(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "")
	ctx, cancel := context.WithCancel(t.Context())
	env, out, errOut := testEnv(nil, nil)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", path, "-listen", "127.0.0.1:0", "-upstream", "http://127.0.0.1:9"}, env)
	}()
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" && time.Now().Before(deadline) {
		if line, ok := strings.CutPrefix(out.String(), "listening on "); ok {
			url = strings.TrimSpace(line)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("serve printed %q, %q", out, errOut)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d, want 0: %s", code, errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit")
	}
	env, _, errOut = testEnv(nil, nil)
	if code := run(t.Context(), []string{"serve", "-config", path, "-listen", "0.0.0.0:0"}, env); code != 1 ||
		!strings.Contains(errOut.String(), `/server/listen: "0.0.0.0:0" is not a loopback address`) {
		t.Errorf("serve -listen 0.0.0.0:0: exit %d, %s", code, errOut)
	}
}

// running is a server of a config file, serving until the test ends.
type running struct {
	srv  *server.Server
	file configfile.File
}

func runServer(t *testing.T, path string) running {
	t.Helper()
	f, err := configfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), f, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return running{srv: srv, file: f}
}

// subscription returns the pool's subscription id.
func (r running) subscription(t *testing.T, id string) (authpool.Subscription, bool) {
	t.Helper()
	subs, err := r.srv.Pool().Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.ID == id {
			return s, true
		}
	}
	return authpool.Subscription{}, false
}

// TestLoginPKCE: login prints the authorize URL, reads the pasted
// code#state, exchanges it at the token endpoint and stores the tokens
// through the server's admin API: a new subscription with -kind, a known
// one without. No token reaches the output.
func TestLoginPKCE(t *testing.T) {
	fake := fakeoauth.New(fakeoauth.Options{})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	path := writeConfig(t, ts.URL, "")
	r := runServer(t, path)
	for _, tc := range []struct {
		id    string
		extra []string
		added bool
	}{
		{"max-new", []string{"-kind", "max5x", "-name", "Max new"}, true},
		{"max-a", nil, false},
	} {
		stdin, paste := io.Pipe()
		env, out, errOut := testEnv(stdin, nil)
		done := make(chan int, 1)
		args := append([]string{"login", tc.id, "-server", r.srv.URL(), "-config", path}, tc.extra...)
		go func() { done <- run(t.Context(), args, env) }()
		authorize := waitLine(t, out, "  http")
		resp, err := http.Get(strings.TrimSpace(authorize))
		if err != nil {
			t.Fatal(err)
		}
		code, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		if _, err := io.WriteString(paste, code); err != nil {
			t.Fatal(err)
		}
		if c := <-done; c != 0 {
			t.Fatalf("login %s: exit %d: %s", tc.id, c, errOut)
		}
		s, ok := r.subscription(t, tc.id)
		if !ok || !strings.HasPrefix(s.Credential.Reveal(), "sk-ant-oat01-fake-") || !strings.HasPrefix(s.RefreshToken.Reveal(), "sk-ant-ort01-fake-") ||
			s.CredentialExpiresAt.IsZero() {
			t.Errorf("login %s: the pool holds %+v, want the fake's tokens and expiry", tc.id, s)
		}
		if strings.Contains(out.String(), s.Credential.Reveal()) || strings.Contains(out.String(), s.RefreshToken.Reveal()) {
			t.Errorf("login printed a token")
		}
		if want := map[bool]string{true: "added and logged in", false: "logged in"}[tc.added]; !strings.Contains(out.String(), want) ||
			!strings.Contains(out.String(), "do not use it in your own Claude Code") {
			t.Errorf("login %s printed %q", tc.id, out)
		}
	}
	if n := fake.Count(fakeoauth.TokenPath); n != 2 {
		t.Errorf("%d exchanges, want 2", n)
	}
	// A subscription the pool lacks, without -kind: refused, nothing stored.
	env, _, errOut := testEnv(strings.NewReader("x#y\n"), nil)
	if code := run(t.Context(), []string{"login", "max-nope", "-server", r.srv.URL(), "-config", path}, env); code != 1 {
		t.Errorf("login without the state's code: exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "state") {
		t.Errorf("a paste of another login: %s", errOut)
	}
}

// waitLine waits for a line of out starting with prefix.
func waitLine(t *testing.T, out *syncBuffer, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line starting with %q in %q", prefix, out)
	return ""
}

// TestLoginImport: login -import stores a Claude Code credentials file's
// login; without -kind a subscription the pool lacks is refused.
func TestLoginImport(t *testing.T) {
	fake := fakeoauth.New(fakeoauth.Options{})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	path := writeConfig(t, ts.URL, "")
	r := runServer(t, path)
	l := fake.Mint(oauth.DefaultScopes()...)
	creds, err := json.Marshal(map[string]any{"claudeAiOauth": map[string]any{
		"accessToken": l.AccessToken, "refreshToken": l.RefreshToken, "expiresAt": l.ExpiresAt.UnixMilli(),
		"scopes": l.Scopes, "subscriptionType": "max"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), ".credentials.json")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(tokenFile, []byte(adminTok), 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, errOut := testEnv(nil, nil)
	if code := run(t.Context(), []string{"login", "-import", file, "max-import", "-server", r.srv.URL(), "-admin-token-file", tokenFile}, env); code != 1 ||
		!strings.Contains(errOut.String(), `subscription "max-import" is not in the pool: give -kind`) {
		t.Errorf("import without -kind: exit %d, %s", code, errOut)
	}
	env, out, errOut := testEnv(nil, map[string]string{"AUTHPOOL_ADMIN_TOKEN": adminTok})
	if code := run(t.Context(), []string{"login", "-import", file, "max-import", "-kind", "max20x", "-server", r.srv.URL()}, env); code != 0 {
		t.Fatalf("import: exit %d, %s", code, errOut)
	}
	s, ok := r.subscription(t, "max-import")
	if !ok || s.Credential.Reveal() != l.AccessToken || s.RefreshToken.Reveal() != l.RefreshToken ||
		!s.CredentialExpiresAt.Equal(l.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("the pool holds %+v, want the file's login", s)
	}
	if !strings.Contains(out.String(), "Log the Claude Code it came from out") {
		t.Errorf("import printed %q", out)
	}
	env, _, errOut = testEnv(nil, map[string]string{"AUTHPOOL_ADMIN_TOKEN": "wrong-token-0123456789abcdef"})
	if code := run(t.Context(), []string{"login", "-import", file, "max-import", "-server", r.srv.URL()}, env); code != 1 ||
		!strings.Contains(errOut.String(), "401") {
		t.Errorf("a wrong admin token: exit %d, %s", code, errOut)
	}
}

// TestLoginConfigMemory: login -config into a memory store is refused: the
// command could not reach the server's memory.
func TestLoginConfigMemory(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "")
	env, _, errOut := testEnv(nil, nil)
	if code := run(t.Context(), []string{"login", "max-a", "-config", path}, env); code != 2 ||
		!strings.Contains(errOut.String(), "keeps its pool in memory") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}

// TestStatus prints a running server's pool as a table.
func TestStatus(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "")
	r := runServer(t, path)
	env, out, errOut := testEnv(nil, map[string]string{"AUTHPOOL_STATUS_TOKEN": adminTok})
	if code := run(t.Context(), []string{"status", "-server", r.srv.URL()}, env); code != 0 {
		t.Fatalf("status: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SUBSCRIPTION  KIND") || !strings.HasPrefix(lines[1], "max-a ") ||
		!strings.Contains(lines[1], "active") || !strings.HasPrefix(lines[2], "1 subscriptions, 0 sessions") {
		t.Errorf("status printed:\n%s", out)
	}
	env, _, errOut = testEnv(nil, nil)
	if code := run(t.Context(), []string{"status", "-server", r.srv.URL()}, env); code != 1 || !strings.Contains(errOut.String(), "401") {
		t.Errorf("status without a token: exit %d, %s", code, errOut)
	}
}
