package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// The test's secrets: none may appear in what the processes print or log,
// in the server's answers, or in the store.
const (
	adminToken  = "e2e-admin-token-0123456789abcdef"
	statusToken = "e2e-status-token-0123456789abcdef"
	keyAlice    = "e2e-caller-key-alice-0123456789ab"
	keyBob      = "e2e-caller-key-bob-0123456789abcd"
	testPrompt  = "The secret prompt of the end-to-end test"
	sealKey     = "ZTJlLXNlYWwta2V5LTAxMjM0NTY3ODlhYmNkZWZnaGk=" // 32 bytes, base64
	// Every token fakeoauth issues (sk-ant-oat01-fake-…, sk-ant-ort01-fake-…)
	// starts so, and every authorization code with fakecode-.
	fakeTokens = "sk-ant-o"
	fakeCodes  = "fakecode-"
)

var secrets = []string{adminToken, statusToken, keyAlice, keyBob, testPrompt, sealKey, fakeTokens, fakeCodes}

// The server's timings in this test: a rebalance (and a refresh check)
// every second, OAuth tokens refreshed 4 s before they expire, 10 s for
// streams to finish once told to stop.
const (
	rebalanceEvery = time.Second
	refreshBefore  = 4 * time.Second
	shutdownGrace  = 10 * time.Second
	testModel      = "claude-sonnet-4-5-20250929"
)

// world is what a test's servers run against: the fake upstream and OAuth
// server, a config file and the environment of the processes.
type world struct {
	dir      string // the config file's directory
	config   string // its path
	env      []string
	up       *fakeanthropic.Server
	upURL    string
	oauth    *fakeoauth.Server
	oauthURL string
	// answers gathers the bodies of the server's own answers (admin,
	// status, metrics, probes) for the redaction check.
	answers syncBuffer
	// logins are the login commands run, for the redaction check.
	logins []*proc
}

// newWorld starts the fakes and writes the config file, whose store
// section is store (`"store": {...}`, or "" for memory).
func newWorld(t *testing.T, store string) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), up: &fakeanthropic.Server{}, oauth: fakeoauth.New(fakeoauth.Options{})}
	upTS := httptest.NewServer(w.up)
	t.Cleanup(upTS.Close)
	oauthTS := httptest.NewServer(w.oauth)
	t.Cleanup(oauthTS.Close)
	w.upURL, w.oauthURL = upTS.URL, oauthTS.URL
	w.env = []string{"HOME=" + t.TempDir(), "GORACE=halt_on_error=1"}
	for name, content := range map[string]string{
		"admin.token": adminToken, "status.token": statusToken, "alice.key": keyAlice, "bob.key": keyBob,
	} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if store != "" {
		store = ",\n    " + store
		w.env = append(w.env, "AUTHPOOL_SEAL_KEYS=e2e:"+sealKey) // a Redis store keeps credentials sealed
	}
	js := `{
  "callers": [
    {"id": "alice", "key": {"file": "alice.key"}, "capUSD": 40, "capWindow": "5h"},
    {"id": "bob", "key": {"file": "bob.key"}, "sessionless": "spread"}
  ],
  "server": {
    "listen": "127.0.0.1:0",
    "adminToken": {"file": "admin.token"},
    "statusToken": {"file": "status.token"},
    "upstream": "` + w.upURL + `",
    "rebalanceEvery": "` + rebalanceEvery.String() + `",
    "refreshBefore": "` + refreshBefore.String() + `",
    "shutdownGrace": "` + shutdownGrace.String() + `",
    "usagePoll": {"off": true},
    "oauth": {
      "authorizeUrl": "` + w.oauthURL + fakeoauth.AuthorizePath + `",
      "tokenUrl": "` + w.oauthURL + fakeoauth.TokenPath + `",
      "usageUrl": "` + w.oauthURL + fakeoauth.UsagePath + `",
      "profileUrl": "` + w.oauthURL + fakeoauth.ProfilePath + `"
    }` + store + `
  }
}`
	w.config = filepath.Join(w.dir, "pool.json")
	if err := os.WriteFile(w.config, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// serveAll starts a server process of the world's config for each name,
// all at once, and waits for their URLs.
func (w *world) serveAll(t *testing.T, names ...string) []*proc {
	t.Helper()
	var ps []*proc
	for _, name := range names {
		ps = append(ps, startProc(t, name, nil, w.env, "serve", "-config", w.config))
	}
	for _, p := range ps {
		p.waitURL(t)
	}
	return ps
}

// get sends GET url with the bearer token (none when "") and returns the
// status and body; the body joins the answers the redaction check reads.
func (w *world) get(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
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
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.answers.Write(b)
	return resp.StatusCode, string(b)
}

// getJSON is get for a JSON answer of status want, decoded into out.
func (w *world) getJSON(t *testing.T, url, bearer string, want int, out any) {
	t.Helper()
	code, body := w.get(t, url, bearer)
	if code != want {
		t.Fatalf("GET %s: %d %s, want %d", url, code, body, want)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// live reports whether the fake OAuth server takes token as a live access
// token (its usage endpoint answers it).
func (w *world) live(t *testing.T, token string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.oauthURL+fakeoauth.UsagePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("anthropic-beta", fakeoauth.OAuthBeta)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// lastUpstream returns the credential of the last request the upstream
// received.
func (w *world) lastUpstream(t *testing.T) string {
	t.Helper()
	reqs := w.up.Requests()
	if len(reqs) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return reqs[len(reqs)-1].Credential()
}

// sdk returns an official SDK client of a server that sends key in the
// session given, without retries.
func sdk(p *proc, key, session string) anthropic.Client {
	return anthropic.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(p.url), option.WithAPIKey(key),
		option.WithMaxRetries(0), option.WithHeader("X-Claude-Code-Session-Id", session))
}

// params is a small request whose prompt is the test's secret prompt.
var params = anthropic.MessageNewParams{
	Model:     anthropic.Model(testModel),
	MaxTokens: 64,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(testPrompt))},
}

// streamed is what the SDK made of a stream.
type streamed struct {
	msg    anthropic.Message
	events []string
	err    error
}

// stream sends a streaming request and reads it to its end.
func stream(t *testing.T, c anthropic.Client) streamed {
	s := c.Messages.NewStreaming(t.Context(), params)
	defer s.Close()
	var out streamed
	for s.Next() {
		ev := s.Current()
		out.events = append(out.events, ev.Type)
		if err := out.msg.Accumulate(ev); err != nil {
			out.err = err
			return out
		}
	}
	out.err = s.Err()
	return out
}

// complete reports whether a stream ended with message_stop, without an
// error, with the fake's text.
func (s streamed) complete() bool {
	return s.err == nil && len(s.events) > 0 && s.events[len(s.events)-1] == "message_stop" &&
		len(s.msg.Content) == 1 && s.msg.Content[0].Text == fakeanthropic.DefaultText
}

// bearers returns the credentials the upstream's requests carried, from the
// n-th on.
func bearers(reqs []fakeanthropic.Request, from int) []string {
	var out []string
	for i := min(from, len(reqs)); i < len(reqs); i++ {
		out = append(out, reqs[i].Credential())
	}
	return out
}

// post sends POST url with a JSON body and the bearer token, and returns
// the status and body. The body is not kept for the redaction check: it
// may hold a caller's key, which the admin API shows this once.
func post(t *testing.T, url, bearer, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// message sends a small message with key through a server, as a bare
// request, and returns the answer's status and, for an error, its type. It
// may be called from any goroutine.
func message(t *testing.T, p *proc, key string) (int, string, error) {
	body := `{"model": "` + testModel + `", "max_tokens": 64, "messages": [{"role": "user", "content": "` + testPrompt + `"}]}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url+"/v1/messages", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var e struct{ Error struct{ Type string } }
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = json.Unmarshal(b, &e)
	}
	return resp.StatusCode, e.Error.Type, err
}
