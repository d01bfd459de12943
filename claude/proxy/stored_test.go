package proxy_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// keyDana is a caller key kept only as a hash in the callers' store.
const keyDana = "apk-dana-0123456789abcdef0123456789abcdef0123456"

// storedProxy serves a Proxy whose callers are frontCallers and those of
// cs, in front of f's pool.
func storedProxy(t *testing.T, f *front, cs store.CallerStore) *httptest.Server {
	t.Helper()
	px, err := proxy.New(f.tr, frontCallers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	px.Stored = &proxy.StoreCallers{Store: cs}
	px.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ps := httptest.NewServer(px)
	t.Cleanup(ps.Close)
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), keyDana) {
			t.Errorf("a log line shows a stored caller's key:\n%s", f.logs.String())
		}
	})
	return ps
}

// createDana adds the caller dana, with key keyDana and cap capUSD over 5
// hours (0: none), to cs.
func createDana(t *testing.T, cs store.CallerStore, capUSD float64) {
	t.Helper()
	budget, err := store.FromUSD(capUSD)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Caller{ID: "dana", KeyHash: proxy.HashCallerKey(keyDana), Cap: budget, CapWindowHours: 5, Created: frontNow}
	if err := cs.CreateCaller(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// post sends a Messages request to ps with key and, when set, a Claude
// Code session; it returns the status and body.
func postTo(t *testing.T, ps *httptest.Server, key, session string) (*http.Response, string) {
	t.Helper()
	p := &proxied{ps: ps}
	hdr := []string{"x-api-key", key}
	if session != "" {
		hdr = append(hdr, "X-Claude-Code-Session-Id", session)
	}
	return p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","max_tokens":10,"messages":[]}`, hdr...)
}

// A caller kept in the store is known by its key's hash: its requests go
// upstream on a subscription's credential, and each one's usage is charged
// to it in the store, by hour and by Claude Code session, once. The
// callers the proxy is given still work; a key known nowhere is refused.
func TestStoredCallerIsServedAndCharged(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	cs := memstore.New()
	createDana(t, cs, 0)
	ps := storedProxy(t, f, cs)

	for _, c := range []struct {
		key, session string
		want         int
	}{
		{keyDana, "s-1", 200},
		{keyDana, "s-1", 200},
		{keyDana, "", 200},
		{keyBob, "", 200},
		{"apk-not-a-caller-0123456789abcdef0123456789abcd", "", 401},
	} {
		if resp, body := postTo(t, ps, c.key, c.session); resp.StatusCode != c.want {
			t.Errorf("a request with session %q: %d %s; want %d", c.session, resp.StatusCode, body, c.want)
		}
	}
	for _, r := range f.up.Requests() {
		if c := r.Credential(); c != credA && c != credB && c != keyC || strings.Contains(r.Header.Get("Authorization")+r.Header.Get("X-Api-Key"), "apk-") {
			t.Errorf("the upstream got credential %q, headers %v; want a subscription's alone", c, r.Header)
		}
	}
	if n := f.up.Count(); n != 4 {
		t.Errorf("the upstream got %d requests, want 4", n)
	}
	cost, err := store.FromUSD(defaultCost)
	if err != nil {
		t.Fatal(err)
	}
	hour := store.HourOf(frontNow)
	hours, err := cs.CallerUsage(t.Context(), "dana", math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Bucket{{Hour: hour, Cost: 3 * cost, Requests: 3, Tokens: times(defaultTokens, 3)}}, hours); diff != "" {
		t.Errorf("dana's hours (-want +got):\n%s", diff)
	}
	sessions, err := cs.CallerSessions(t.Context(), "dana", hour, hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.CallerSession{
		{Session: "", First: frontNow, Last: frontNow, Requests: 1, Cost: cost, Tokens: defaultTokens},
		{Session: "s-1", First: frontNow, Last: frontNow, Requests: 2, Cost: 2 * cost, Tokens: times(defaultTokens, 2)},
	}
	if diff := cmp.Diff(want, sessions); diff != "" {
		t.Errorf("dana's sessions (-want +got):\n%s", diff)
	}
	if s := f.session(t, "dana/s-1"); s.Requests != 2 {
		t.Errorf("the pool's session of dana/s-1 has %d requests, want 2", s.Requests)
	}
}

// times returns t with every count multiplied by n.
func times(t authpool.Tokens, n int64) authpool.Tokens {
	return authpool.Tokens{Input: n * t.Input, Output: n * t.Output, CacheWrite: n * t.CacheWrite, CacheRead: n * t.CacheRead}
}

// A caller found by its key is remembered for CacheFor: one removed from
// the store is served until then and refused after (a capped one at once,
// since its admission asks the store); one added is known at once (a key
// not found is not remembered).
func TestStoredCallerCache(t *testing.T) {
	for _, c := range []struct {
		name        string
		capUSD      float64
		withinCache int
	}{
		{"uncapped", 0, 200},
		{"capped", 10, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := frontNow
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			f := newFrontClock(t, authpool.Config{Subscriptions: frontSubs}, clock)
			cs := memstore.New()
			ps := storedProxy(t, f, cs)

			steps := []struct {
				what string
				do   func()
				want int
			}{
				{"before dana is added", func() {}, 401},
				{"once dana is added", func() { createDana(t, cs, c.capUSD) }, 200},
				{"once dana is removed, within the cache's 5 s", func() {
					if err := cs.DeleteCaller(t.Context(), "dana"); err != nil {
						t.Fatal(err)
					}
					advance(proxy.DefaultCallerCache - time.Millisecond)
				}, c.withinCache},
				{"once the cache's 5 s have passed", func() { advance(time.Millisecond) }, 401},
			}
			for _, s := range steps {
				s.do()
				if resp, body := postTo(t, ps, keyDana, ""); resp.StatusCode != s.want {
					t.Errorf("%s: %d %s; want %d", s.what, resp.StatusCode, body, s.want)
				}
			}
		})
	}
}

// The callers' stores the cap tests run on: memstore, and redisstore when
// a Redis is at hand. Each returns a store and a second view of the same
// store, as another process has.
var callerStores = []struct {
	name string
	make func(t *testing.T) (store.CallerStore, store.CallerStore)
}{
	{"memstore", func(t *testing.T) (store.CallerStore, store.CallerStore) {
		s := memstore.New()
		return s, s
	}},
	{"redisstore", func(t *testing.T) (store.CallerStore, store.CallerStore) {
		c := redistest.Client(t)
		prefix := redistest.Prefix(t, c)
		return redisstore.New(c, redisstore.WithPrefix(prefix)), redisstore.New(c, redisstore.WithPrefix(prefix))
	}},
}

// Two proxies sharing the callers' store hold a stored caller's cap
// together: each request hears the caller's standing from the store,
// whichever proxy it goes through, and once the cap is spent both answer
// the billing_error 429, saying when it frees up, as a Proxy does for its
// own callers.
func TestStoredCallerCapAcrossProxies(t *testing.T) {
	for _, cs := range callerStores {
		t.Run(cs.name, func(t *testing.T) {
			t.Parallel()
			one, two := cs.make(t)
			f := newFront(t, frontSubs)
			f.up.SetDefault(okWithLimits())
			createDana(t, one, 0.085)
			proxies := []*httptest.Server{storedProxy(t, f, one), storedProxy(t, f, two)}
			tee := &wireTee{}
			clients := make([]anthropic.Client, 2)
			for i, ps := range proxies {
				clients[i] = sdk(ps.URL, ps.Client().Transport, tee, option.WithAPIKey(keyDana))
			}
			reset := fmt.Sprint(frontNow.Add(5 * time.Hour).Unix())
			standing := func(status, share, threshold string) http.Header {
				h := http.Header{
					"Anthropic-Ratelimit-Unified-Status":              {status},
					"Anthropic-Ratelimit-Unified-Reset":               {reset},
					"Anthropic-Ratelimit-Unified-Overage-Utilization": {share},
					"Anthropic-Ratelimit-Unified-Overage-Reset":       {reset},
				}
				if threshold != "" {
					h["Anthropic-Ratelimit-Unified-Overage-Surpassed-Threshold"] = []string{threshold}
				}
				return h
			}
			// Each request costs $0.0408075: 0 %, 48 %, 96 % of $0.085 before it.
			for i, w := range []http.Header{
				standing("allowed", "0.0000", ""),
				standing("allowed", "0.4801", ""),
				standing("allowed_warning", "0.9602", "0.95"),
			} {
				if _, err := call(t.Context(), clients[i%2], i == 1); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if diff := cmp.Diff(w, limitHeaders(tee.header(i))); diff != "" {
					t.Errorf("request %d: limit headers (-want +got):\n%s", i, diff)
				}
			}
			for i, c := range clients {
				_, err := call(t.Context(), c, false)
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type() != "billing_error" {
					t.Fatalf("past the cap, through proxy %d: %v; want a billing_error 429", i, err)
				}
			}
			wantBody := `{"type":"error","error":{"type":"billing_error","message":"authpool: you have used your $0.085 cap for 5 h; it frees up at 15:00 UTC (in 5 h): wait, or ask the pool's operator for a larger cap"}}`
			if got := string(tee.bodies()[4]); got != wantBody {
				t.Errorf("the cap's 429 body\n got %s\nwant %s", got, wantBody)
			}
			if h := tee.header(4); h.Get("Retry-After") != "18000" || h.Get("Anthropic-Ratelimit-Unified-Status") != "rejected" {
				t.Errorf("the cap's 429 headers: %v", limitHeaders(h))
			}
			if n := f.up.Count(); n != 3 {
				t.Errorf("the upstream got %d requests; want 3", n)
			}
		})
	}
}

// A stored caller near its cap with a request in flight is told to retry
// in a few seconds (429 rate_limit_error), as the request in flight may
// spend the rest; once it has, the caller's cap is spent.
func TestStoredCallerCapBusy(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	cs := memstore.New()
	createDana(t, cs, 0.08) // each request costs $0.0408075
	ps := storedProxy(t, f, cs)
	if resp, body := postTo(t, ps, keyDana, ""); resp.StatusCode != 200 {
		t.Fatalf("the first request: %d %s", resp.StatusCode, body)
	}

	hold := fakeanthropic.NewHold("message_stop")
	held := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	held.BeforeEvent = hold.Wait
	f.up.SetDefault(held)
	client := sdk(ps.URL, ps.Client().Transport, &wireTee{}, option.WithAPIKey(keyDana))
	done := make(chan error, 1)
	go func() { _, err := call(context.WithoutCancel(t.Context()), client, true); done <- err }()
	select {
	case <-hold.Reached():
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never reached message_stop")
	}

	resp, body := postTo(t, ps, keyDana, "")
	wantBody := `{"type":"error","error":{"type":"rate_limit_error","message":"authpool: you have used 51% of your $0.08 cap for 5 h and 1 of your requests are in flight: retry in 5 s"}}`
	if resp.StatusCode != 429 || body != wantBody || resp.Header.Get("Retry-After") != "5" || resp.Header.Get("X-Should-Retry") != "true" {
		t.Errorf("near the cap with a request in flight: %d %s, retry-after %q, x-should-retry %q\nwant 429 %s, 5, true",
			resp.StatusCode, body, resp.Header.Get("Retry-After"), resp.Header.Get("X-Should-Retry"), wantBody)
	}
	hold.Release()
	if err := <-done; err != nil {
		t.Fatalf("the stream in flight: %v", err)
	}
	if resp, body := postTo(t, ps, keyDana, ""); resp.StatusCode != 429 || !strings.Contains(body, "billing_error") {
		t.Errorf("once the stream has spent the rest: %d %s; want the cap's billing_error", resp.StatusCode, body)
	}
	if n := f.up.Count(); n != 2 {
		t.Errorf("the upstream got %d requests; want 2", n)
	}
}

// failingCallers is a callers' store whose every call fails with err.
type failingCallers struct {
	store.CallerStore
	err error
}

func (s failingCallers) CallerByKey(context.Context, [32]byte) (store.Caller, error) {
	return store.Caller{}, s.err
}

// When the callers' store cannot be reached, a key it would know gets 503
// with retry-after, as when the pool's store is down; when it fails
// otherwise, 500 that says not to retry. Nothing goes upstream, and the
// proxy's own callers are served meanwhile.
func TestStoredCallersStoreFails(t *testing.T) {
	for _, c := range []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
		retry      string
	}{
		{"unavailable", fmt.Errorf("redisstore: dial: %w", store.ErrUnavailable), 503,
			`{"type":"error","error":{"type":"api_error","message":"authpool proxy: the callers' store is unavailable, so the request could not be checked: retry in 5 s"}}`, "true"},
		{"failing", errors.New("redisstore: OOM command not allowed"), 500,
			`{"type":"error","error":{"type":"api_error","message":"authpool proxy: the callers' store failed, and the request was not sent: the pool's operator must look into it"}}`, "false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, frontSubs)
			ps := storedProxy(t, f, failingCallers{CallerStore: memstore.New(), err: c.err})
			resp, body := postTo(t, ps, keyDana, "")
			if resp.StatusCode != c.wantStatus || body != c.wantBody || resp.Header.Get("X-Should-Retry") != c.retry {
				t.Errorf("got %d %s (x-should-retry %q)\nwant %d %s (%s)", resp.StatusCode, body, resp.Header.Get("X-Should-Retry"),
					c.wantStatus, c.wantBody, c.retry)
			}
			if resp, _ := postTo(t, ps, keyBob, ""); resp.StatusCode != 200 {
				t.Errorf("the proxy's own caller meanwhile: %d", resp.StatusCode)
			}
			if n := f.up.Count(); n != 1 {
				t.Errorf("the upstream got %d requests; want bob's alone", n)
			}
		})
	}
}

// NewCallerKey makes keys of CallerKeyPrefix and 32 random bytes in
// base64url, every one different; HashCallerKey is their SHA-256.
func TestCallerKeys(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^apk-[A-Za-z0-9_-]{43}$`)
	seen := map[authpool.Credential]bool{}
	for range 1000 {
		k, err := proxy.NewCallerKey()
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(k.Reveal()) || len(k) < proxy.MinCallerKey {
			t.Fatalf("NewCallerKey = %q; want apk- and 43 base64url characters", k.Reveal())
		}
		if seen[k] {
			t.Fatalf("NewCallerKey made %q twice", k.Reveal())
		}
		seen[k] = true
		if fmt.Sprint(k) == k.Reveal() {
			t.Fatalf("a caller key prints as itself: %v", k)
		}
	}
	if got, want := proxy.HashCallerKey(keyDana), sha256.Sum256([]byte(keyDana)); got != want {
		t.Errorf("HashCallerKey = %x, want %x", got, want)
	}
}
