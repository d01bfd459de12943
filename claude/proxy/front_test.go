package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// The helpers of the Transport and Proxy tests: a fake upstream whose every
// response is kept as it went on the wire, a pool of three subscriptions in
// front of it, and the official SDK as the client.

// frontNow is the pool's clock in these tests.
var frontNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// The subscriptions' credentials, the callers' keys and the prompt: none
// may appear in a log line or reach where it does not belong.
const (
	credA      = "sk-ant-oat01-front-test-a-0123456789abcdef"
	credB      = "sk-ant-oat01-front-test-b-0123456789abcdef"
	credD      = "sk-ant-oat01-front-test-d-0123456789abcdef"
	keyC       = "sk-ant-api03-front-test-c-0123456789abcdef"
	keyAlice   = "caller-alice-key-0123456789abcdef"
	keyBob     = "caller-bob-key-0123456789abcdef0"
	callerJunk = "sk-ant-api03-the-callers-own-key-0123456789"
	prompt     = "What is the secret recipe of the front tests?"
	model      = "claude-sonnet-4-5-20250929"
)

var frontSecrets = []string{credA, credB, credD, keyC, keyAlice, keyBob, callerJunk, prompt}

// frontSubs: sub-a (Max 20x, the largest budgets, so the first choice),
// sub-b (Max 5x), sub-c (an API key).
var frontSubs = []authpool.Subscription{
	{ID: "sub-a", Kind: authpool.KindMax20x, Credential: credA, WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
	{ID: "sub-b", Kind: authpool.KindMax5x, Credential: credB, WeeklyBudgetUSD: 250, BlockBudgetUSD: 35},
	{ID: "sub-c", Kind: authpool.KindAPI, Credential: keyC, WeeklyBudgetUSD: 100, BlockBudgetUSD: 20},
}

// subD is a fourth subscription (Max 5x), for tests that need one more.
var subD = authpool.Subscription{ID: "sub-d", Kind: authpool.KindMax5x, Credential: credD, WeeklyBudgetUSD: 250, BlockBudgetUSD: 35}

// wire keeps every response the upstream wrote, byte for byte, in order.
type wire struct {
	mu   sync.Mutex
	sent [][]byte
	next http.Handler
}

func (wr *wire) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &wireWriter{ResponseWriter: w}
	wr.next.ServeHTTP(rec, r)
	wr.mu.Lock()
	wr.sent = append(wr.sent, rec.buf.Bytes())
	wr.mu.Unlock()
}

// bodies returns the bodies written so far.
func (wr *wire) bodies() [][]byte {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([][]byte(nil), wr.sent...)
}

type wireWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *wireWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *wireWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

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

// front is an upstream, a pool in front of it and a Transport.
type front struct {
	up   *fakeanthropic.Server
	wire *wire
	ts   *httptest.Server // the upstream
	pool *authpool.Pool
	tr   *proxy.Transport
	logs *logBuffer
}

// newFront returns a fake upstream (200 with DefaultUsage unless told
// otherwise), a pool of subs on the clock frontNow, and a Transport to the
// upstream that logs at debug level into logs. The test fails if a log line
// shows a secret.
func newFront(t *testing.T, subs []authpool.Subscription, opts ...authpool.Option) *front {
	t.Helper()
	return newFrontConfig(t, authpool.Config{Subscriptions: subs}, opts...)
}

// newFrontConfig is newFront with the pool's whole config.
func newFrontConfig(t *testing.T, cfg authpool.Config, opts ...authpool.Option) *front {
	t.Helper()
	return newFrontClock(t, cfg, func() time.Time { return frontNow }, opts...)
}

// newFrontClock is newFrontConfig with the pool's and the Transport's clock.
func newFrontClock(t *testing.T, cfg authpool.Config, clock func() time.Time, opts ...authpool.Option) *front {
	t.Helper()
	f := &front{up: &fakeanthropic.Server{}, logs: &logBuffer{}}
	f.wire = &wire{next: f.up}
	f.ts = httptest.NewServer(f.wire)
	t.Cleanup(f.ts.Close)
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := authpool.New(context.Background(), cfg,
		append([]authpool.Option{authpool.WithClock(clock), authpool.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Close(context.Background())
		for _, s := range frontSecrets {
			if strings.Contains(f.logs.String(), s) {
				t.Errorf("a log line shows the secret %q:\n%s", s, f.logs.String())
			}
		}
	})
	f.pool = p
	f.tr = &proxy.Transport{Pool: p, Base: f.ts.Client().Transport, Clock: clock, Logger: logger}
	return f
}

// sdk returns an SDK client that sends its requests with h to base, with
// the caller's own key, no retries, and every response body it reads kept
// in seen.
func sdk(base string, h http.RoundTripper, seen *wireTee, opts ...option.RequestOption) anthropic.Client {
	seen.next = h
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(base),
		option.WithHTTPClient(&http.Client{Transport: seen}),
		option.WithMaxRetries(0),
	}, opts...)...)
}

// wireTee keeps what the client read of each response body, and each
// response's headers.
type wireTee struct {
	next    http.RoundTripper
	mu      sync.Mutex
	read    []*bytes.Buffer
	headers []http.Header
}

func (w *wireTee) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	buf := new(bytes.Buffer)
	w.mu.Lock()
	w.read = append(w.read, buf)
	w.headers = append(w.headers, resp.Header.Clone())
	w.mu.Unlock()
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, &lockedWriter{mu: &w.mu, w: buf}), resp.Body}
	return resp, nil
}

// bodies returns what the client read of each body.
func (w *wireTee) bodies() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]byte, len(w.read))
	for i, b := range w.read {
		out[i] = bytes.Clone(b.Bytes())
	}
	return out
}

// header returns the headers of the i-th response.
func (w *wireTee) header(i int) http.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.headers[i]
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// params is a small request whose message is the prompt.
var params = anthropic.MessageNewParams{
	Model:     anthropic.Model(model),
	MaxTokens: 1024,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
}

// defaultCounts are fakeanthropic.DefaultUsage's tokens as authpool counts
// them, and defaultCost their price on model.
var (
	defaultTokens = authpool.Tokens{Input: 12, Output: 640, CacheWrite: 5210 + 1024, CacheRead: 18300}
	// $3/M input, $15/M output, $3.75/M 5-minute writes, $6/M 1-hour
	// writes, $0.30/M reads.
	defaultCost = (12*3 + 640*15 + 5210*3.75 + 1024*6 + 18300*0.30) / 1e6
)

// session returns a client's session, failing the test without one.
func (f *front) session(t *testing.T, clientID string) authpool.SessionStatus {
	t.Helper()
	snap, err := f.pool.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Sessions {
		if s.ClientID == clientID {
			return s
		}
	}
	t.Fatalf("no session of %q in %+v", clientID, snap.Sessions)
	return authpool.SessionStatus{}
}

// sub returns a subscription's status.
func (f *front) sub(t *testing.T, id string) authpool.SubscriptionStatus {
	t.Helper()
	snap, err := f.pool.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Subscriptions {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no subscription %q", id)
	return authpool.SubscriptionStatus{}
}

// credentials returns the credential each upstream request carried.
func (f *front) credentials() []string {
	var out []string
	for _, r := range f.up.Requests() {
		out = append(out, r.Credential())
	}
	return out
}

// gzipping serves next's responses gzipped to requests that accept gzip.
func gzipping(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(buf.Bytes())
	})
}
