package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
)

// testWebhookSecret is the webhooks' secret in these tests: distinctive, so
// that a test can look for it anywhere.
const testWebhookSecret = "whsec_TEST-7f3a9c1e5b2d4086"

// testThresholdEvent is a threshold event with a fixed ID and time: the
// event of the golden payload.
func testThresholdEvent() authpool.Event {
	at := time.Date(2025, 3, 10, 14, 5, 0, 0, time.UTC)
	return authpool.Event{
		ID:             "evt_5f0c2a9e4b7d4e11a3c8d2f6b9e01a74",
		Type:           authpool.EventThreshold,
		Time:           at,
		SubscriptionID: "max-a",
		Threshold: &authpool.ThresholdDetail{
			Window:             "block",
			Start:              time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC),
			End:                time.Date(2025, 3, 10, 17, 0, 0, 0, time.UTC),
			Threshold:          0.8,
			UsedUSD:            112.5,
			BudgetUSD:          140,
			Percent:            80.35714285714286,
			BurnRateUSDPerHour: 54,
			ExhaustsAt:         time.Date(2025, 3, 10, 14, 35, 0, 0, time.UTC),
		},
	}
}

// received is one request a test receiver got.
type received struct {
	method string
	uri    string
	header http.Header
	body   []byte
}

// receiver is an httptest webhook receiver that records every request and
// answers with respond, given the request's number (from 1).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

// newReceiver starts a receiver; respond nil answers 204 to everything.
func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body})
	n := len(rc.reqs)
	rc.mu.Unlock()
	if rc.respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.respond(n, w, r)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// failFirst answers status (with the headers given as name, value pairs)
// to the first n requests and 200 to the rest.
func failFirst(n, status int, header ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		if i > n {
			w.WriteHeader(http.StatusOK)
			return
		}
		for j := 0; j+1 < len(header); j += 2 {
			w.Header().Set(header[j], header[j+1])
		}
		w.WriteHeader(status)
	}
}

// waits records what an injected sleep and jitter were asked for.
type waits struct {
	mu     sync.Mutex
	slept  []time.Duration // the sleeps asked for
	bounds []time.Duration // the jitter bounds asked for
}

func (ws *waits) sleep(ctx context.Context, d time.Duration) error {
	ws.mu.Lock()
	ws.slept = append(ws.slept, d)
	ws.mu.Unlock()
	return ctx.Err()
}

// maxJitter returns its bound: the longest wait full jitter may choose.
func (ws *waits) maxJitter(bound time.Duration) time.Duration {
	ws.mu.Lock()
	ws.bounds = append(ws.bounds, bound)
	ws.mu.Unlock()
	return bound
}

func (ws *waits) get() (slept, bounds []time.Duration) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]time.Duration(nil), ws.slept...), append([]time.Duration(nil), ws.bounds...)
}

// newTestNotifier returns a notifier for url with the test secret, whose
// sleeps are instant and recorded and whose jitter takes the longest wait.
// edit, when set, changes the config first.
func newTestNotifier(t *testing.T, url string, edit func(*Config)) (*Notifier, *waits) {
	t.Helper()
	cfg := Config{URL: url, Secret: testWebhookSecret, MinBackoff: authpool.Duration(time.Second), MaxBackoff: authpool.Duration(time.Minute)}
	if edit != nil {
		edit(&cfg)
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A transport of its own: a test server's Close closes the idle
	// connections of http.DefaultTransport, under other tests' feet.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	n.client.Transport = tr
	ws := new(waits)
	n.sleep = ws.sleep
	n.jitter = ws.maxJitter
	return n, ws
}

// TestWebhookPayloadUnpricedModel checks an unpricedModel event's payload
// against testdata/unpricedModel.json.
func TestWebhookPayloadUnpricedModel(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	n, _ := newTestNotifier(t, rc.srv.URL, nil)
	// The ID is the one the pool gives it: "evt_" and the first 16 bytes of
	// the SHA-256 of "unpricedModel/claude-opus-7", in hex.
	e := authpool.Event{ID: "evt_0eccc3534287e794e129241d49aafa0e", Type: authpool.EventUnpricedModel, Time: time.Date(2026, 12, 3, 9, 15, 0, 0, time.UTC),
		Unpriced: &authpool.UnpricedDetail{Model: "claude-opus-7", PricedAs: "claude-opus-5-5"}}
	if err := n.Notify(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	golden := filepath.Join("testdata", "unpricedModel.json")
	if *update {
		if err := os.WriteFile(golden, reqs[0].body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWebhookPayloadUnpricedModel -update to write it)", err)
	}
	if !bytes.Equal(reqs[0].body, want) {
		t.Errorf("body differs from %s (go test -update rewrites it):\ngot  %s\nwant %s", golden, reqs[0].body, want)
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(reqs[0].body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not a Payload: %v", err)
	}
	if diff := cmp.Diff(Payload{Version: 1, Event: e}, p); diff != "" {
		t.Errorf("payload round trip (-want +got):\n%s", diff)
	}
}

func TestWebhookPayloadAndHeaders(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	n, _ := newTestNotifier(t, rc.srv.URL+"/hooks/authpool?tenant=a", nil)
	e := testThresholdEvent()
	if err := n.Notify(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]

	golden := filepath.Join("testdata", "threshold.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWebhookPayloadAndHeaders -update to write it)", err)
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("body differs from %s (go test -update rewrites it):\ngot  %s\nwant %s", golden, r.body, want)
	}

	var p Payload
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not a Payload: %v", err)
	}
	if diff := cmp.Diff(Payload{Version: 1, Event: e}, p); diff != "" {
		t.Errorf("payload round trip (-want +got):\n%s", diff)
	}

	if r.method != http.MethodPost || r.uri != "/hooks/authpool?tenant=a" {
		t.Errorf("request %s %s, want POST /hooks/authpool?tenant=a", r.method, r.uri)
	}
	mac := hmac.New(sha256.New, []byte(testWebhookSecret))
	mac.Write(want)
	wantHeader := map[string]string{
		"Content-Type":         "application/json",
		"User-Agent":           "authpool-webhook/1",
		"X-Authpool-Event":     "threshold",
		"X-Authpool-Delivery":  e.ID,
		"X-Authpool-Signature": "sha256=" + hex.EncodeToString(mac.Sum(nil)),
	}
	for k, v := range wantHeader {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}
	for k := range r.header {
		if strings.HasPrefix(k, "X-") && wantHeader[k] == "" {
			t.Errorf("undocumented header %s: %q", k, r.header[k])
		}
	}
	if r.header.Get("Authorization") != "" || r.header.Get("Cookie") != "" {
		t.Errorf("request carries credentials: %v", r.header)
	}
	if !Verify([]byte(testWebhookSecret), r.body, r.header.Get("X-Authpool-Signature")) {
		t.Error("Verify rejects the request's own signature")
	}
}

func TestWebhookPayloadTimesInUTC(t *testing.T) {
	t.Parallel()
	want, err := json.Marshal(Payload{Version: 1, Event: testThresholdEvent()})
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("CET", 3600)
	e := testThresholdEvent()
	e.Time = e.Time.In(zone)
	e.Threshold.Start, e.Threshold.End = e.Threshold.Start.In(zone), e.Threshold.End.In(zone)
	e.Threshold.ExhaustsAt = e.Threshold.ExhaustsAt.In(zone)
	before := fmt.Sprintf("%+v %+v", e, *e.Threshold)

	rc := newReceiver(t, nil)
	n, _ := newTestNotifier(t, rc.srv.URL, nil)
	if err := n.Notify(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if got := rc.requests()[0].body; !bytes.Equal(got, want) {
		t.Errorf("body with local times:\ngot  %s\nwant %s", got, want)
	}
	if after := fmt.Sprintf("%+v %+v", e, *e.Threshold); after != before {
		t.Errorf("Notify modified the event:\nbefore %s\nafter  %s", before, after)
	}
	for _, e := range []authpool.Event{
		{Limit: &authpool.LimitDetail{Until: time.Date(2025, 3, 10, 15, 0, 0, 0, zone)}},
		{Exhausted: &authpool.ExhaustedDetail{RetryAt: time.Date(2025, 3, 10, 15, 0, 0, 0, zone)}},
		{Exhausted: &authpool.ExhaustedDetail{}},
	} {
		u := eventInUTC(e)
		if u.Limit != nil && (u.Limit.Until.Location() != time.UTC || e.Limit.Until.Location() != zone) ||
			u.Exhausted != nil && (u.Exhausted.RetryAt.Location() != time.UTC || u.Exhausted == e.Exhausted) {
			t.Errorf("eventInUTC(%+v) = %+v", e, u)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	// RFC 4231, test case 2.
	if !Verify([]byte("Jefe"), []byte("what do ya want for nothing?"),
		"sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") {
		t.Error("RFC 4231 test case 2 does not verify")
	}

	secret := []byte(testWebhookSecret)
	body, err := json.Marshal(Payload{Version: 1, Event: testThresholdEvent()})
	if err != nil {
		t.Fatal(err)
	}
	sig := signature(secret, body)
	if !Verify(secret, body, sig) {
		t.Fatal("a body's own signature does not verify")
	}
	if sig != strings.ToLower(sig) {
		t.Errorf("signature %q is not lowercase", sig)
	}
	for i := range body {
		tampered := bytes.Clone(body)
		tampered[i] ^= 0x01
		if Verify(secret, tampered, sig) {
			t.Fatalf("body with byte %d changed still verifies", i)
		}
		if signature(secret, tampered) == sig {
			t.Fatalf("body with byte %d changed has the same signature", i)
		}
	}
	if Verify(secret, append(bytes.Clone(body), ' '), sig) {
		t.Error("a body with a byte appended verifies")
	}
	if !Verify(secret, body, "sha256="+strings.ToUpper(strings.TrimPrefix(sig, "sha256="))) {
		t.Error("upper-case hex does not verify")
	}
	for _, bad := range []struct {
		name, secret, header string
	}{
		{"wrong secret", "whsec_other", sig},
		{"empty secret", "", signature(nil, body)},
		{"no header", testWebhookSecret, ""},
		{"no prefix", testWebhookSecret, strings.TrimPrefix(sig, "sha256=")},
		{"other algorithm", testWebhookSecret, "sha1=" + strings.TrimPrefix(sig, "sha256=")},
		{"truncated", testWebhookSecret, sig[:len(sig)-2]},
		{"extended", testWebhookSecret, sig + "00"},
		{"not hex", testWebhookSecret, sig[:len(sig)-2] + "zz"},
		{"space", testWebhookSecret, " " + sig},
	} {
		if Verify([]byte(bad.secret), body, bad.header) {
			t.Errorf("%s: verifies", bad.name)
		}
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 429, 408} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(3, status))
			n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) {
				c.MaxAttempts = 4
				c.MinBackoff = authpool.Duration(time.Second)
				c.MaxBackoff = authpool.Duration(3 * time.Second)
			})
			e := testThresholdEvent()
			if err := n.Notify(t.Context(), e); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			reqs := rc.requests()
			if len(reqs) != 4 {
				t.Fatalf("got %d requests, want 4", len(reqs))
			}
			for i, r := range reqs {
				if got := r.header.Get("X-Authpool-Delivery"); got != e.ID {
					t.Errorf("attempt %d: delivery id %q, want %q", i+1, got, e.ID)
				}
				if !bytes.Equal(r.body, reqs[0].body) || r.header.Get("X-Authpool-Signature") != reqs[0].header.Get("X-Authpool-Signature") {
					t.Errorf("attempt %d: body or signature differ from the first attempt's", i+1)
				}
				if !Verify([]byte(testWebhookSecret), r.body, r.header.Get("X-Authpool-Signature")) {
					t.Errorf("attempt %d: signature does not verify", i+1)
				}
			}
			slept, bounds := ws.get()
			want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
			if diff := cmp.Diff(want, bounds); diff != "" {
				t.Errorf("jitter bounds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, slept); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookRetriesConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	n, ws := newTestNotifier(t, url, func(c *Config) { c.MaxAttempts = 3 })
	err := n.Notify(t.Context(), testThresholdEvent())
	if err == nil {
		t.Fatal("Notify to a closed server succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error %q: want connection refused, after 3 attempts", err)
	}
	slept, _ := ws.get()
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, slept); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestWebhookBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	wantBounds := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for i := range wantBounds {
		wantBounds[i] *= time.Second
	}
	edit := func(c *Config) {
		c.MaxAttempts = len(wantBounds) + 1
		c.MinBackoff = authpool.Duration(time.Second)
		c.MaxBackoff = authpool.Duration(10 * time.Second)
	}
	t.Run("longest", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		n, ws := newTestNotifier(t, rc.srv.URL, edit)
		if err := n.Notify(t.Context(), testThresholdEvent()); err == nil {
			t.Fatal("Notify succeeded against a failing receiver")
		}
		slept, bounds := ws.get()
		if diff := cmp.Diff(wantBounds, bounds); diff != "" {
			t.Errorf("jitter bounds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantBounds, slept); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		if got := len(rc.requests()); got != len(wantBounds)+1 {
			t.Errorf("got %d requests, want %d", got, len(wantBounds)+1)
		}
	})
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) })
		n, ws := newTestNotifier(t, rc.srv.URL, edit)
		var mu sync.Mutex
		var chosen []time.Duration
		n.jitter = func(bound time.Duration) time.Duration {
			ws.maxJitter(bound)
			d := randomJitter(bound) // the production jitter
			mu.Lock()
			chosen = append(chosen, d)
			mu.Unlock()
			return d
		}
		if err := n.Notify(t.Context(), testThresholdEvent()); err == nil {
			t.Fatal("Notify succeeded against a failing receiver")
		}
		slept, bounds := ws.get()
		if diff := cmp.Diff(wantBounds, bounds); diff != "" {
			t.Errorf("jitter bounds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(chosen, slept); diff != "" {
			t.Errorf("waits are not the jitter's choices (-chosen +slept):\n%s", diff)
		}
		for i, d := range slept {
			if d < 0 || d > wantBounds[i] {
				t.Errorf("wait %d: %v, want within [0, %v]", i+1, d, wantBounds[i])
			}
		}
	})
}

func TestWebhookBackoffBound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n          int
		minB, maxB time.Duration
		want       time.Duration
	}{
		{1, time.Second, time.Minute, time.Second},
		{2, time.Second, time.Minute, 2 * time.Second},
		{6, time.Second, time.Minute, 32 * time.Second},
		{7, time.Second, time.Minute, time.Minute},
		{100, time.Second, time.Minute, time.Minute},
		{100, time.Second, math.MaxInt64, math.MaxInt64},
		{3, 0, time.Minute, 0},
		{3, time.Minute, time.Minute, time.Minute},
	} {
		if got := backoffBound(c.n, c.minB, c.maxB); got != c.want {
			t.Errorf("backoffBound(%d, %v, %v) = %v, want %v", c.n, c.minB, c.maxB, got, c.want)
		}
	}
	for _, bound := range []time.Duration{0, 1, time.Second, math.MaxInt64} {
		for range 100 {
			if d := randomJitter(bound); d < 0 || d > bound {
				t.Fatalf("randomJitter(%v) = %v", bound, d)
			}
		}
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 10, 14, 5, 0, 0, time.UTC)
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{"429 seconds", 429, "3", 3 * time.Second},
		{"503 seconds", 503, "17", 17 * time.Second},
		{"503 date", 503, now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"429 date", 429, now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"429 zero", 429, "0", 0},
		{"429 past date", 429, now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"503 capped at MaxBackoff", 503, "86400", 2 * time.Minute},
		{"429 date capped at MaxBackoff", 429, now.Add(time.Hour).Format(http.TimeFormat), 2 * time.Minute},
		{"429 huge", 429, "99999999999999999999", 2 * time.Minute},
		{"429 unparsable: backoff", 429, "soon", time.Second},
		{"429 negative: backoff", 429, "-5", time.Second},
		{"500 ignores Retry-After", 500, "30", time.Second},
		{"502 ignores Retry-After", 502, "30", time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(1, c.status, "Retry-After", c.retryAfter))
			n, ws := newTestNotifier(t, rc.srv.URL, func(cfg *Config) {
				cfg.MaxAttempts = 2
				cfg.MinBackoff = authpool.Duration(time.Second)
				cfg.MaxBackoff = authpool.Duration(2 * time.Minute)
			})
			n.now = func() time.Time { return now }
			if err := n.Notify(t.Context(), testThresholdEvent()); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			slept, _ := ws.get()
			if diff := cmp.Diff([]time.Duration{c.want}, slept); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := len(rc.requests()); got != 2 {
				t.Errorf("got %d requests, want 2", got)
			}
		})
	}
}

func TestWebhookNoRetryOnClientErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 410, 413, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(100, status, "Retry-After", "1"))
			n, ws := newTestNotifier(t, rc.srv.URL, nil)
			err := n.Notify(t.Context(), testThresholdEvent())
			wantStatus := fmt.Sprintf("status %d %s", status, http.StatusText(status))
			if err == nil || !strings.Contains(err.Error(), wantStatus) || strings.Contains(err.Error(), "gave up") {
				t.Errorf("error %v: want one naming %q at once", err, wantStatus)
			}
			if got := len(rc.requests()); got != 1 {
				t.Errorf("got %d requests, want 1", got)
			}
			if slept, _ := ws.get(); len(slept) != 0 {
				t.Errorf("waited %v before giving up on a %d", slept, status)
			}
		})
	}
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL, http.StatusTemporaryRedirect)
	})
	n, ws := newTestNotifier(t, rc.srv.URL, nil)
	err := n.Notify(t.Context(), testThresholdEvent())
	if err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Errorf("error %v: want one naming status 307", err)
	}
	if got := len(elsewhere.requests()); got != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", got)
	}
	if got := len(rc.requests()); got != 1 {
		t.Errorf("got %d requests, want 1", got)
	}
	if slept, _ := ws.get(); len(slept) != 0 {
		t.Errorf("waited %v", slept)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	for _, attempts := range []int{1, 3} {
		t.Run(fmt.Sprint(attempts), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(100, 503))
			n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) { c.MaxAttempts = attempts })
			err := n.Notify(t.Context(), testThresholdEvent())
			if err == nil {
				t.Fatal("Notify succeeded against a failing receiver")
			}
			want := fmt.Sprintf("gave up after %s; last: status 503 Service Unavailable", countAttempts(attempts))
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if got := len(rc.requests()); got != attempts {
				t.Errorf("got %d requests, want %d", got, attempts)
			}
			if slept, _ := ws.get(); len(slept) != attempts-1 {
				t.Errorf("waited %v, want %d waits", slept, attempts-1)
			}
		})
	}
}

func TestWebhookContextEndsDuringWait(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, failFirst(100, 500))
	n, _ := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.MinBackoff = authpool.Duration(time.Hour)
		c.MaxBackoff = authpool.Duration(time.Hour)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var asked []time.Duration
	n.sleep = func(ctx context.Context, d time.Duration) error {
		asked = append(asked, d)
		cancel()                    // the pool closes during the wait...
		return sleepContext(ctx, d) // ...and the production sleep notices
	}
	start := time.Now()
	err := n.Notify(ctx, testThresholdEvent())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v: want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Notify took %v after its context ended", took)
	}
	if len(asked) != 1 || len(rc.requests()) != 1 {
		t.Errorf("%d waits, %d requests; want 1 and 1", len(asked), len(rc.requests()))
	}
}

func TestWebhookContextEndsDuringRequest(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select { // a receiver that never answers
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	n, ws := newTestNotifier(t, rc.srv.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- n.Notify(ctx, testThresholdEvent()) }()
	<-arrived
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v: want context.Canceled", err)
		}
		if err != nil && !strings.Contains(err.Error(), "stopped during attempt 1") {
			t.Errorf("error %q does not say when it stopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Notify did not return after its context ended")
	}
	if slept, _ := ws.get(); len(slept) != 0 {
		t.Errorf("waited %v", slept)
	}
}

func TestWebhookAttemptTimeout(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(i int, w http.ResponseWriter, r *http.Request) {
		if i == 1 {
			<-r.Context().Done() // too slow: the attempt times out
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.Timeout = authpool.Duration(20 * time.Millisecond)
		c.MaxAttempts = 2
	})
	if err := n.Notify(t.Context(), testThresholdEvent()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if got := len(rc.requests()); got != 2 {
		t.Errorf("got %d requests, want 2", got)
	}
	if slept, _ := ws.get(); len(slept) != 1 {
		t.Errorf("waited %v, want one wait", slept)
	}

	// Timing out every time, the error says so.
	rc2 := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	n2, _ := newTestNotifier(t, rc2.srv.URL, func(c *Config) {
		c.Timeout = authpool.Duration(time.Millisecond)
		c.MaxAttempts = 2
	})
	err := n2.Notify(t.Context(), testThresholdEvent())
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts; last: attempt timed out after 1ms") {
		t.Errorf("error %v: want a timeout after 2 attempts", err)
	}
}

func TestWebhookFiltersEventTypes(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	n, _ := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.Events = []authpool.EventType{authpool.EventLimited, authpool.EventRecovered}
	})
	for _, typ := range authpool.EventTypes {
		e := authpool.Event{ID: "evt_" + string(typ), Type: typ, Time: time.Date(2025, 3, 10, 14, 5, 0, 0, time.UTC)}
		if err := n.Notify(t.Context(), e); err != nil {
			t.Fatalf("Notify(%s): %v", typ, err)
		}
	}
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.header.Get("X-Authpool-Event"))
	}
	if diff := cmp.Diff([]string{"limited", "recovered"}, got); diff != "" {
		t.Errorf("events sent (-want +got):\n%s", diff)
	}
}

func TestWebhookDrainsResponses(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	big := bytes.Repeat([]byte("x"), 32<<10)
	rc := &receiver{respond: func(i int, w http.ResponseWriter, _ *http.Request) {
		if i < 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = w.Write(big)
	}}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	n, _ := newTestNotifier(t, rc.srv.URL, nil)
	if err := n.Notify(t.Context(), testThresholdEvent()); err != nil {
		t.Fatal(err)
	}
	if got := len(rc.requests()); got != 3 {
		t.Errorf("got %d requests, want 3", got)
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d connections for 3 attempts, want 1 (responses drained and the connection reused)", got)
	}
}

// Tokens some receivers (chat webhooks) put in their URLs: they must not
// reach errors or logs either.
const (
	testPathToken  = "T0PATHTOKEN"
	testQueryToken = "Q0QUERYTOKEN"
)

func TestWebhookSecretNeverSent(t *testing.T) {
	t.Parallel()
	var all []received
	var errs []error
	check := func(name string, respond func(int, http.ResponseWriter, *http.Request), url string) {
		var rc *receiver
		if url == "" {
			rc = newReceiver(t, respond)
			url = rc.srv.URL + "/hook/" + testPathToken + "?key=" + testQueryToken
		}
		n, _ := newTestNotifier(t, url, func(c *Config) { c.MaxAttempts = 3 })
		err := n.Notify(t.Context(), testThresholdEvent())
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range []string{fmt.Sprint(n), fmt.Sprintf("%v %+v %#v %+v", n, *n, n, n.cfg)} {
			if strings.Contains(s, testWebhookSecret) {
				t.Errorf("%s: the notifier prints its secret: %s", name, s)
			}
		}
		if s := n.String(); strings.Contains(s, testPathToken) || strings.Contains(s, testQueryToken) {
			t.Errorf("%s: String shows the URL's path or query: %s", name, s)
		}
		if rc != nil {
			all = append(all, rc.requests()...)
		}
	}
	check("2xx", nil, "")
	check("404", failFirst(100, 404), "")
	check("500", failFirst(100, 500), "")
	check("429", failFirst(1, 429, "Retry-After", "1"), "")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	check("refused", nil, closed.URL)

	if len(all) != 7 || len(errs) != 3 {
		t.Fatalf("%d requests, %d errors; the cases did not run as meant", len(all), len(errs))
	}
	for i, r := range all {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.method, r.uri)
		_ = r.header.Write(&b)
		b.Write(r.body)
		if strings.Contains(b.String(), testWebhookSecret) {
			t.Errorf("request %d carries the secret:\n%s", i, b.String())
		}
	}
	for _, err := range errs {
		if msg := err.Error(); strings.Contains(msg, testWebhookSecret) ||
			strings.Contains(msg, testPathToken) || strings.Contains(msg, testQueryToken) {
			t.Errorf("error carries the secret or the URL's path or query: %v", err)
		}
	}
}

func TestWebhookConcurrentNotify(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	tried := map[string]bool{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Authpool-Delivery")
		mu.Lock()
		again := tried[id]
		tried[id] = true
		mu.Unlock()
		if !again { // each event's first attempt fails
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	n, _ := newTestNotifier(t, rc.srv.URL, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				e := testThresholdEvent()
				e.ID = fmt.Sprintf("evt_%d_%d", g, i)
				if err := n.Notify(t.Context(), e); err != nil {
					t.Errorf("Notify(%s): %v", e.ID, err)
				}
			}
		})
	}
	wg.Wait()
	attempts := map[string]int{}
	for _, r := range rc.requests() {
		attempts[r.header.Get("X-Authpool-Delivery")]++
	}
	if len(attempts) != 40 {
		t.Errorf("%d distinct deliveries, want 40", len(attempts))
	}
	for id, k := range attempts {
		if k != 2 {
			t.Errorf("%s: %d attempts, want 2", id, k)
		}
	}
}

func TestNewRefusesAnInvalidConfig(t *testing.T) {
	t.Parallel()
	valid := func(edit func(*Config)) Config {
		c := Config{URL: "https://hooks.example.com/authpool", Secret: testWebhookSecret}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"plain http", valid(func(c *Config) { c.URL = "http://hooks.example.com/authpool" }), "webhook: /url: "},
		{"plain http to a LAN address", valid(func(c *Config) { c.URL = "http://10.0.0.7:8080/hook" }), "plain http"},
		{"no URL", valid(func(c *Config) { c.URL = "" }), "webhook: /url: missing"},
		{"relative URL", valid(func(c *Config) { c.URL = "/hook" }), "/url: "},
		{"other scheme", valid(func(c *Config) { c.URL = "ftp://hooks.example.com/x" }), "/url: "},
		{"no secret", valid(func(c *Config) { c.Secret = "" }), "webhook: /secret: missing"},
		{"negative attempts", valid(func(c *Config) { c.MaxAttempts = -1 }), "webhook: /maxAttempts: -1"},
		{"too many attempts", valid(func(c *Config) { c.MaxAttempts = 101 }), "webhook: /maxAttempts: 101"},
		{"negative timeout", valid(func(c *Config) { c.Timeout = authpool.Duration(-time.Second) }), "webhook: /timeout: "},
		{"negative backoff", valid(func(c *Config) { c.MinBackoff = authpool.Duration(-time.Second) }), "webhook: /minBackoff: "},
		{"backoff bounds reversed", valid(func(c *Config) {
			c.MinBackoff = authpool.Duration(time.Minute)
			c.MaxBackoff = authpool.Duration(time.Second)
		}), "webhook: /maxBackoff: "},
		{"unknown event", valid(func(c *Config) { c.Events = []authpool.EventType{"thresholds"} }), "webhook: /events: "},
	} {
		n, err := New(c.cfg, nil)
		if n != nil || !errors.Is(err, authpool.ErrInvalidConfig) {
			t.Errorf("%s: got %v, %v; want an ErrInvalidConfig", c.name, n, err)
			continue
		}
		var ce *authpool.ConfigError
		if !errors.As(err, &ce) || ce.Source != "webhook" {
			t.Errorf("%s: error %#v is not a *ConfigError from webhook", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		if strings.Contains(err.Error(), testWebhookSecret) {
			t.Errorf("%s: error %q shows the secret", c.name, err)
		}
	}

	for _, url := range []string{
		"https://hooks.example.com/authpool?tenant=a",
		"http://127.0.0.1:9000/hook",
		"http://localhost/hook",
		"http://[::1]:8080/",
	} {
		if _, err := New(valid(func(c *Config) { c.URL = url }), nil); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}

	n, err := New(valid(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := Config{ // the URL kept apart (n.url), as the secret is (in n.sign)
		Timeout:     authpool.Duration(DefaultTimeout),
		MaxAttempts: DefaultAttempts,
		MinBackoff:  authpool.Duration(DefaultMinBackoff),
		MaxBackoff:  authpool.Duration(DefaultMaxBackoff),
	}
	if diff := cmp.Diff(wantCfg, n.cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if req, err := n.request(context.Background(), nil); err != nil || req.URL.String() != "https://hooks.example.com/authpool" {
		t.Errorf("the request is to %v (%v), want https://hooks.example.com/authpool", req.URL, err)
	}
	if n.client == nil || n.client == http.DefaultClient {
		t.Errorf("nil client became %p (http.DefaultClient is %p)", n.client, http.DefaultClient)
	}
	if got := n.String(); got != "webhook https://hooks.example.com" {
		t.Errorf("String() = %q", got)
	}

	// A client of the caller's is used, but not changed.
	own := &http.Client{Timeout: time.Minute}
	n, err = New(valid(nil), own)
	if err != nil {
		t.Fatal(err)
	}
	if own.CheckRedirect != nil || n.client.Timeout != time.Minute {
		t.Errorf("caller's client changed (%v) or not used (%v)", own.CheckRedirect != nil, n.client.Timeout)
	}
}
