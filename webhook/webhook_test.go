package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
		Unpriced: &authpool.Usage{ID: "msg_01", SubscriptionID: "max-a", Time: time.Date(2026, 12, 3, 9, 14, 58, 0, time.UTC), CostUSD: 0.0312,
			Tokens: authpool.Tokens{Input: 12, Output: 410}, Model: "claude-opus-7", PricedAs: "claude-opus-5-5"}}
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
		{Limit: &authpool.Status{State: authpool.Limited, Until: time.Date(2025, 3, 10, 15, 0, 0, 0, zone)}},
		{Exhausted: &authpool.ExhaustedError{RetryAt: time.Date(2025, 3, 10, 15, 0, 0, 0, zone)}},
		{Exhausted: &authpool.ExhaustedError{}},
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

func TestWebhookFiltersEventTypes(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	n, _ := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.Events = []authpool.EventType{authpool.EventLimited, authpool.EventRecovered}
	})
	for _, typ := range []authpool.EventType{authpool.EventThreshold, authpool.EventFailover, authpool.EventLimited,
		authpool.EventRecovered, authpool.EventExhausted} {
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
