package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
)

// refusalLine is a refusal's log line, as JSON.
type refusalLine struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Kind   string `json:"kind"`
	Status int    `json:"status"`
	Caller string `json:"caller"`
	Count  int64  `json:"count"`
	Since  string `json:"since"`
}

// A burst of 10,000 refusals of every kind the proxy makes itself, over 20
// s of the pool's clock, is logged in a few lines a kind and caller — the
// first at once, then one per LogEvery — each naming the kind, the status,
// the caller's ID (not its key) and how many there were; the lines' counts
// add up to the requests refused.
func TestProxyRefusalLog(t *testing.T) {
	t.Parallel()
	var ns atomic.Int64
	ns.Store(frontNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, ns.Load()).UTC() }
	callers := []proxy.Caller{
		{ID: "bob", Key: keyBob, Rate: &proxy.RateLimit{PerSecond: 1e-6, Burst: 1}},
		{ID: "carol", Key: keyAlice},
	}
	f := newFrontConfig(t, authpool.Config{Subscriptions: frontSubs}, authpool.WithClock(clock))
	for _, s := range frontSubs {
		if err := f.pool.Disable(t.Context(), s.ID, "by hand"); err != nil {
			t.Fatal(err)
		}
	}
	proxy, err := proxy.New(f.tr, callers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	proxy.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	proxy.MaxBody = 1024
	proxy.LogEvery = 10 * time.Second

	const msg = `{"model":"` + model + `","max_tokens":10,"messages":[]}`
	type send struct {
		kind, caller  string
		status        int
		method, path  string
		key           string
		contentLength int64
	}
	kinds := []send{
		{"unknown-key", "", 401, "POST", "/v1/messages", callerJunk, int64(len(msg))},
		{"not-found", "bob", 404, "POST", "/v1/complete", keyBob, int64(len(msg))},
		{"method", "bob", 405, "GET", "/v1/messages", keyBob, int64(len(msg))},
		{"no-length", "bob", 411, "POST", "/v1/messages", keyBob, -1},
		{"too-large", "bob", 413, "POST", "/v1/messages", keyBob, 2048},
		{"rate-limited", "bob", 429, "POST", "/v1/messages", keyBob, int64(len(msg))}, // bob's first is exhausted
		{"exhausted", "carol", 429, "POST", "/v1/messages", keyAlice, int64(len(msg))},
	}
	const burst = 10000
	sent := map[string]int64{}
	for i := range burst {
		k := kinds[i%len(kinds)]
		req := httptest.NewRequestWithContext(context.Background(), k.method, k.path, strings.NewReader(msg))
		req.ContentLength = k.contentLength
		req.Header.Set("X-Api-Key", k.key)
		w := httptest.NewRecorder()
		proxy.ServeHTTP(w, req)
		if k.kind == "rate-limited" && sent["exhausted/bob"] == 0 {
			k.kind = "exhausted" // the rate limit's burst of 1 let it through
		}
		if w.Code != k.status {
			t.Fatalf("request %d (%s): %d %s; want %d", i, k.kind, w.Code, w.Body, k.status)
		}
		sent[k.kind+"/"+k.caller]++
		ns.Add(int64(2 * time.Millisecond))
	}
	proxy.FlushRefusals()

	got := map[string]int64{}
	lines := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var l refusalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %s: %v", sc.Bytes(), err)
		}
		key := l.Kind + "/" + l.Caller
		got[key] += l.Count
		lines[key]++
		if !strings.HasPrefix(l.Msg, "authpool proxy: ") || l.Kind == "" || l.Status == 0 || l.Count < 1 {
			t.Errorf("a line that does not say what it counts: %s", sc.Bytes())
		}
		if lines[key] > 1 && l.Since == "" {
			t.Errorf("a count without since: %s", sc.Bytes())
		}
	}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Errorf("refusals counted by the log, by kind/caller (-sent +logged):\n%s", diff)
	}
	// CallerRefusals counts them all the same, but those of no caller.
	counted := map[string]int64{}
	for _, r := range proxy.CallerRefusals() {
		counted[strings.ReplaceAll(r.Reason, "_", "-")+"/"+r.Caller] += r.Count
	}
	delete(sent, "unknown-key/")
	if diff := cmp.Diff(sent, counted); diff != "" {
		t.Errorf("CallerRefusals, by kind/caller (-sent +counted):\n%s", diff)
	}
	for key, n := range lines {
		// The first, one after 10 s and after 20 s of the clock, the flush.
		if n > 4 {
			t.Errorf("%s: %d lines; want at most 4", key, n)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n > 4*len(sent) {
		t.Errorf("%d refusals wrote %d lines", burst, n)
	}
	for _, secret := range frontSecrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
	t.Logf("%d refusals: %d lines, %d bytes", burst, strings.Count(logs.String(), "\n"), len(logs.String()))
}

// The refusals counted after a first are logged an interval later, without
// another request to carry them.
func TestProxyRefusalLogFlushes(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	var logs logBuffer
	p.proxy.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p.proxy.LogEvery = 50 * time.Millisecond
	p.tr.Clock = nil // the timer's time, as in production
	for range 3 {
		p.post(t, "POST", "/v1/messages", "{}", "x-api-key", callerJunk)
	}
	if got := strings.Count(logs.String(), "\n"); got != 1 {
		t.Fatalf("3 refusals at once: %d lines; want the first alone:\n%s", got, logs.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "kind=unknown-key status=401 count=2 since=") {
		if time.Now().After(deadline) {
			t.Fatalf("the 2 refusals after the first were never logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ReverseProxy's own errors go to the proxy's log: an upstream that cuts
// its answer short.
func TestProxyReverseProxyErrorsLogged(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"id":"msg_cut"`))
		w.(http.Flusher).Flush()
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close() // 985 bytes short
		}
	}))
	t.Cleanup(up.Close)
	f := newFront(t, frontSubs)
	proxy, err := proxy.New(f.tr, frontCallers, up.URL)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	proxy.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", ps.URL+"/v1/messages", bytes.NewReader([]byte(`{"model":"`+model+`"}`)))
	req.Header.Set("X-Api-Key", keyBob)
	if resp, err := ps.Client().Do(req); err == nil {
		_, _ = bufio.NewReader(resp.Body).WriteTo(new(bytes.Buffer))
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "ReverseProxy read error during body copy") {
		if time.Now().After(deadline) {
			t.Fatalf("ReverseProxy's error is not in the proxy's log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
