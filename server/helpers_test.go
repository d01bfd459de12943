package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// The secrets of these tests: none may appear in a log line, an answer of
// the server's own endpoints, the status page or the metrics.
const (
	credA       = "sk-ant-oat01-server-test-a-0123456789abcdef"
	keyAPI      = "sk-ant-api03-server-test-b-0123456789abcdef"
	keyAlice    = "caller-key-alice-0123456789abcdef"
	keyBob      = "caller-key-bob-0123456789abcdef00"
	adminTok    = "admin-token-0123456789abcdef0123"
	statusTok   = "status-token-0123456789abcdef012"
	testPrompt  = "The secret prompt of the server tests"
	testModel   = "claude-sonnet-4-5-20250929"
	fakeTokenOf = "sk-ant-o" // the start of every token fakeoauth issues (oat01, ort01)
)

var testSecrets = []string{credA, keyAPI, keyAlice, keyBob, adminTok, statusTok, testPrompt, fakeTokenOf}

// testNow is where the tests' clock starts: before the resets of
// fakeoauth's DefaultUsage.
var testNow = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer is a log's text, safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the JSON lines logged with message msg ("": every line).
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", line, err)
		}
		if msg == "" || m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// testFile is a config with one OAuth subscription (max-a), one API key
// (api-b), callers alice (capped) and bob, both tokens, the poller off,
// the upstream and OAuth endpoints at the fakes' URLs.
func testFile(t *testing.T, upstream, oauthURL string) configfile.File {
	t.Helper()
	js := `{
	  "allowLiteralCredentials": true,
	  "subscriptions": [
	    {"id": "max-a", "kind": "max20x", "credential": "` + credA + `", "weeklyBudgetUSD": 1000, "blockBudgetUSD": 140},
	    {"id": "api-b", "kind": "api", "credential": "` + keyAPI + `", "weeklyBudgetUSD": 100, "blockBudgetUSD": 20}
	  ],
	  "callers": [
	    {"id": "alice", "key": "` + keyAlice + `", "capUSD": 40},
	    {"id": "bob", "key": "` + keyBob + `"}
	  ],
	  "server": {
	    "listen": "127.0.0.1:0",
	    "adminToken": "` + adminTok + `",
	    "statusToken": "` + statusTok + `",
	    "upstream": "` + upstream + `",
	    "shutdownGrace": "10s",
	    "usagePoll": {"off": true},
	    "oauth": {
	      "authorizeUrl": "` + oauthURL + fakeoauth.AuthorizePath + `",
	      "tokenUrl": "` + oauthURL + fakeoauth.TokenPath + `",
	      "usageUrl": "` + oauthURL + fakeoauth.UsagePath + `",
	      "profileUrl": "` + oauthURL + fakeoauth.ProfilePath + `"
	    }
	  }
	}`
	f, err := configfile.Read(strings.NewReader(js), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// harness is a server under test with its fakes.
type harness struct {
	srv      *Server
	url      string
	oauthURL string
	up       *fakeanthropic.Server
	oauth    *fakeoauth.Server
	clock    *fakeClock
	logs     *logBuffer
	cancel   context.CancelFunc
	done     chan error
}

// setup says how a harness's server is made.
type setup struct {
	clock *fakeClock
	up    *fakeanthropic.Server
	oauth *fakeoauth.Server
	edit  func(f *configfile.File)
	opts  Options
}

// start serves a server of testFile (changed by edit) until the test ends,
// and checks then that Serve returned nil and that no log line shows a
// secret.
func start(t *testing.T, s setup) *harness {
	t.Helper()
	if s.clock == nil {
		s.clock = newClock()
	}
	if s.up == nil {
		s.up = &fakeanthropic.Server{}
	}
	if s.oauth == nil {
		s.oauth = fakeoauth.New(fakeoauth.Options{Now: s.clock.Now})
	}
	upTS := httptest.NewServer(s.up)
	t.Cleanup(upTS.Close)
	oauthTS := httptest.NewServer(s.oauth)
	t.Cleanup(oauthTS.Close)
	f := testFile(t, upTS.URL, oauthTS.URL)
	if s.edit != nil {
		s.edit(&f)
	}
	h := &harness{up: s.up, oauth: s.oauth, oauthURL: oauthTS.URL, clock: s.clock, logs: &logBuffer{}, done: make(chan error, 1)}
	opts := s.opts
	opts.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Clock = s.clock.Now
	srv, err := New(t.Context(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.url = srv, srv.URL()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
		for _, secret := range testSecrets {
			if strings.Contains(h.logs.String(), secret) {
				t.Errorf("a log line shows the secret %q:\n%s", secret, h.logs.String())
			}
		}
	})
	return h
}

// stop stops the server and returns what Serve returned (once; later calls
// return nil).
func (h *harness) stop() error {
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
			return err
		}
		return nil
	case <-time.After(30 * time.Second):
		return context.DeadlineExceeded
	}
}

// do sends a request to the server with the bearer token (none when "")
// and returns the answer with its body read.
func (h *harness) do(t *testing.T, method, path, bearer, body string) (*http.Response, []byte) {
	t.Helper()
	return send(t, http.DefaultClient, method, h.url+path, bearer, body)
}

func send(t *testing.T, c *http.Client, method, url, bearer, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// errorOf decodes an error answer, failing unless it has the server's one
// error shape.
func errorOf(t *testing.T, b []byte) errorJSON {
	t.Helper()
	var e errorJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("not the server's error shape: %s (%v)", b, err)
	}
	return e
}

// discard is a logger that logs nothing.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
