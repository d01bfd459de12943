package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// The proxy's callers: alice with a $0.10 cap over 5 hours, bob without.
var frontCallers = []proxy.Caller{
	{ID: "alice", Key: keyAlice, CapUSD: 0.10, CapWindow: authpool.Duration(5 * time.Hour)},
	{ID: "bob", Key: keyBob},
}

// proxied is a front with a Proxy served in front of it.
type proxied struct {
	*front
	proxy *proxy.Proxy
	ps    *httptest.Server
}

func newProxied(t *testing.T, subs []authpool.Subscription) *proxied {
	t.Helper()
	f := newFront(t, subs)
	proxy, err := proxy.New(f.tr, frontCallers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return &proxied{front: f, proxy: proxy, ps: ps}
}

// client returns an SDK client of the proxy that sends key.
func (p *proxied) client(tee *wireTee, opts ...option.RequestOption) anthropic.Client {
	return sdk(p.ps.URL, p.ps.Client().Transport, tee, opts...)
}

// post sends body to the proxy's path with the headers given (name, value,
// ...), and returns the response with its body read.
func (p *proxied) post(t *testing.T, method, path, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, p.ps.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.ps.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// limitHeaders returns h's headers about limits and retries.
func limitHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "anthropic-ratelimit-") || k == "Retry-After" || k == "X-Should-Retry" {
			out[k] = v
		}
	}
	return out
}

// okWithLimits is a 200 carrying every rate-limit header the API sends: a
// subscription's unified ones and an API key's.
func okWithLimits() fakeanthropic.Response {
	reset := frontNow.Add(3 * time.Hour)
	return fakeanthropic.OKUnified(fakeanthropic.DefaultUsage,
		fakeanthropic.Window{Utilization: 0.42, Reset: reset},
		fakeanthropic.Window{Utilization: 0.18, Reset: frontNow.Add(72 * time.Hour)}).WithStandardLimits(reset)
}

// Through the proxy the SDK sees the upstream's body byte for byte, under
// the caller's own key; the upstream sees the subscription's credential and
// none of the caller's; the usage is recorded for the caller; the
// upstream's rate-limit headers are gone, and only a capped caller hears of
// its cap.
func TestProxyForwards(t *testing.T) {
	for _, m := range askModes {
		for _, c := range []struct {
			caller, key string
			how         option.RequestOption
			wantLimits  bool
		}{
			{"alice", keyAlice, option.WithAPIKey(keyAlice), true},
			{"bob", keyBob, option.WithHeader("x-api-key", keyBob), false},
		} {
			t.Run(m.name+"/"+c.caller, func(t *testing.T) {
				t.Parallel()
				p := newProxied(t, frontSubs)
				p.up.SetDefault(okWithLimits())
				tee := &wireTee{}
				msg, err := call(t.Context(), p.client(tee, c.how), m.stream)
				if err != nil {
					t.Fatal(err)
				}
				if msg.ID != "msg_0001" {
					t.Errorf("message %q", msg.ID)
				}
				if diff := cmp.Diff(string(p.wire.bodies()[0]), string(tee.bodies()[0])); diff != "" {
					t.Errorf("the body the SDK read is not the upstream's (-sent +read):\n%s", diff)
				}
				h := tee.header(0)
				for k := range h {
					if strings.HasPrefix(strings.ToLower(k), "anthropic-ratelimit-") && !strings.HasPrefix(k, "Anthropic-Ratelimit-Unified-") {
						t.Errorf("the upstream's %s reached the caller", k)
					}
				}
				if got := h.Get("Anthropic-Ratelimit-Unified-5h-Utilization"); got != "" {
					t.Errorf("the upstream's 5h utilization %q reached the caller", got)
				}
				if got := h.Get("Anthropic-Ratelimit-Unified-Status") != ""; got != c.wantLimits {
					t.Errorf("unified status present %v; want %v (headers %v)", got, c.wantLimits, limitHeaders(h))
				}
				if h.Get("Request-Id") == "" {
					t.Error("the upstream's request-id did not reach the caller")
				}

				got := p.up.Requests()[0]
				if got.Bearer != credA || got.APIKey != "" || !slices.Contains(got.Beta, proxy.OAuthBeta) {
					t.Errorf("upstream got bearer %q, x-api-key %q, beta %q", got.Bearer, got.APIKey, got.Beta)
				}
				for k, vs := range got.Header {
					for _, v := range vs {
						if strings.Contains(v, c.key) {
							t.Errorf("the caller's key reached the upstream in %s", k)
						}
					}
				}
				s := p.session(t, c.caller)
				if s.SubscriptionID != "sub-a" || s.Tokens != defaultTokens || math.Abs(s.CostUSD-defaultCost) > 1e-9 {
					t.Errorf("session %+v; want on sub-a with %+v at $%.7f", s, defaultTokens, defaultCost)
				}
				// The upstream's own report reached the pool.
				if u := p.sub(t, "sub-a").Week; math.Abs(u.ReportedPercent-18) > 1e-9 {
					t.Errorf("sub-a's week %+v; want the 18 %% reported", u)
				}
			})
		}
	}
}

// Claude Code's session header makes the pool's client the caller and its
// session; without it the client is the caller.
func TestProxySessions(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	client := p.client(&wireTee{}, option.WithAPIKey(keyBob))
	for _, session := range []string{"s-1", "s-2", "s-1", ""} {
		var opts []option.RequestOption
		if session != "" {
			opts = append(opts, option.WithHeader("X-Claude-Code-Session-Id", session))
		}
		if _, err := call(t.Context(), client, false, opts...); err != nil {
			t.Fatal(err)
		}
	}
	for client, want := range map[string]int64{"bob/s-1": 2, "bob/s-2": 1, "bob": 1} {
		if got := p.session(t, client).Requests; got != want {
			t.Errorf("%s: %d requests; want %d", client, got, want)
		}
	}
}

// What the proxy does not serve is refused in Anthropic's error shape, and
// the upstream never hears of it.
func TestProxyRefuses(t *testing.T) {
	big := strings.Repeat("x", 2048)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		hdr        []string
		chunked    bool
		wantStatus int
		wantHeader http.Header // checked headers
		wantBody   string
	}{{
		name: "unknown key", method: "POST", path: "/v1/messages", body: "{}", hdr: []string{"x-api-key", callerJunk},
		wantStatus: 401, wantHeader: http.Header{"X-Should-Retry": {"false"}},
		wantBody: `{"type":"error","error":{"type":"authentication_error","message":"authpool proxy: unknown key: send the key this proxy gave you as x-api-key or a bearer token"}}`,
	}, {
		name: "no key", method: "POST", path: "/v1/messages", body: "{}",
		wantStatus: 401, wantHeader: http.Header{"X-Should-Retry": {"false"}},
		wantBody: `{"type":"error","error":{"type":"authentication_error","message":"authpool proxy: unknown key: send the key this proxy gave you as x-api-key or a bearer token"}}`,
	}, {
		name: "other path", method: "POST", path: "/v1/complete", body: "{}", hdr: []string{"x-api-key", keyBob},
		wantStatus: 404,
		wantBody:   `{"type":"error","error":{"type":"not_found_error","message":"authpool proxy: /v1/complete is not served here: only POST /v1/messages and /v1/messages/count_tokens"}}`,
	}, {
		name: "GET", method: "GET", path: "/v1/messages", hdr: []string{"x-api-key", keyBob},
		wantStatus: 405, wantHeader: http.Header{"Allow": {"POST"}},
		wantBody: `{"type":"error","error":{"type":"invalid_request_error","message":"authpool proxy: GET /v1/messages: use POST"}}`,
	}, {
		name: "no Content-Length", method: "POST", path: "/v1/messages", body: "{}", chunked: true, hdr: []string{"x-api-key", keyBob},
		wantStatus: 411,
		wantBody:   `{"type":"error","error":{"type":"invalid_request_error","message":"authpool proxy: a request needs a Content-Length"}}`,
	}, {
		name: "too large", method: "POST", path: "/v1/messages", body: big, hdr: []string{"x-api-key", keyBob},
		wantStatus: 413,
		wantBody:   `{"type":"error","error":{"type":"request_too_large","message":"authpool proxy: the body is 2048 bytes, more than 1024"}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, frontSubs)
			proxy, err := proxy.New(f.tr, frontCallers, f.ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy.MaxBody = 1024
			ps := httptest.NewServer(proxy)
			t.Cleanup(ps.Close)
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, ps.URL+tt.path, body)
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			resp, err := ps.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			for k := range tt.wantHeader {
				if resp.Header.Get(k) != tt.wantHeader.Get(k) {
					t.Errorf("%s: %q; want %q", k, resp.Header.Get(k), tt.wantHeader.Get(k))
				}
			}
			if n := f.up.Count(); n != 0 {
				t.Errorf("the upstream got %d requests", n)
			}
		})
	}
}

// A chunked body is taken when the host allows it, up to the cap.
func TestProxyChunked(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	up, _ := url.Parse(f.ts.URL)
	proxy := &proxy.Proxy{Transport: f.tr, Upstream: up, Callers: frontCallers, AllowChunked: true, MaxBody: 1024}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	for _, tt := range []struct {
		body       string
		wantStatus int
	}{
		{`{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, 200},
		{strings.Repeat(" ", 1025), 413},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ps.URL+"/v1/messages", io.MultiReader(strings.NewReader(tt.body)))
		req.Header.Set("x-api-key", keyBob)
		resp, err := ps.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("a chunked body of %d bytes: %d %s; want %d", len(tt.body), resp.StatusCode, got, tt.wantStatus)
		}
	}
}

// count_tokens passes, with Claude Code's ?beta=true.
func TestProxyCountTokens(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	resp, body := p.post(t, "POST", "/v1/messages/count_tokens?beta=true",
		`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer "+keyBob)
	want := fmt.Sprintf(`{"input_tokens":%d}`, fakeanthropic.DefaultUsage.TotalInput())
	if resp.StatusCode != 200 || body != want {
		t.Errorf("got %d %s; want 200 %s", resp.StatusCode, body, want)
	}
	r := p.up.Requests()[0]
	if r.Path != fakeanthropic.CountTokensPath || r.RawQuery != "beta=true" || r.Bearer != credA {
		t.Errorf("upstream got %s?%s with bearer %q", r.Path, r.RawQuery, r.Bearer)
	}
}

// A capped caller hears its standing on every response, is warned at 75 %
// and 95 % of its cap, and gets a billing_error 429 once the cap is spent,
// saying when it frees up.
func TestProxyCap(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	callers := []proxy.Caller{{ID: "carol", Key: keyAlice, CapUSD: 0.085}}
	proxy, err := proxy.New(p.tr, callers, p.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	p.up.SetDefault(okWithLimits())
	tee := &wireTee{}
	client := sdk(ps.URL, ps.Client().Transport, tee, option.WithAPIKey(keyAlice))

	reset := strconv.FormatInt(frontNow.Add(5*time.Hour).Unix(), 10) // the hour spent leaves the window
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
	want := []http.Header{
		standing("allowed", "0.0000", ""),
		standing("allowed", "0.4801", ""),
		standing("allowed_warning", "0.9602", "0.95"),
	}
	for i, w := range want {
		if _, err := call(t.Context(), client, i%2 == 1); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if diff := cmp.Diff(w, limitHeaders(tee.header(i))); diff != "" {
			t.Errorf("request %d: limit headers (-want +got):\n%s", i, diff)
		}
	}

	_, err = call(t.Context(), client, false)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("past the cap: %v; want a 429", err)
	}
	wantHeader := standing("rejected", "1.4403", "0.95")
	wantHeader["Anthropic-Ratelimit-Unified-Overage-Status"] = []string{"rejected"}
	wantHeader["Anthropic-Ratelimit-Unified-Representative-Claim"] = []string{"overage"}
	wantHeader["Retry-After"] = []string{"18000"}
	wantHeader["X-Should-Retry"] = []string{"false"}
	if diff := cmp.Diff(wantHeader, limitHeaders(tee.header(3))); diff != "" {
		t.Errorf("the cap's 429: limit headers (-want +got):\n%s", diff)
	}
	wantBody := `{"type":"error","error":{"type":"billing_error","message":"authpool: you have used your $0.085 cap for 5 h; it frees up at 15:00 UTC (in 5 h): wait, or ask the pool's operator for a larger cap"}}`
	if got := string(tee.bodies()[3]); got != wantBody {
		t.Errorf("the cap's 429 body\n got %s\nwant %s", got, wantBody)
	}
	if n := p.up.Count(); n != 3 {
		t.Errorf("the upstream got %d requests; want 3", n)
	}
}

// When the pool has nothing left, the caller gets the pool's 429, with its
// retry headers intact; when the upstream's quota 429 reaches the caller
// (nowhere left to fail over), its rate-limit headers are stripped but its
// retry-after stays.
func TestProxyPoolSpent(t *testing.T) {
	t.Parallel()
	reset := frontNow.Add(2 * time.Hour)
	p := newProxied(t, frontSubs[:2])
	p.up.SetDefault(fakeanthropic.Quota429(frontNow, reset))
	tee := &wireTee{}
	client := p.client(tee, option.WithAPIKey(keyBob))

	for i, want := range []http.Header{
		{"Retry-After": {"7200"}},
		{"Retry-After": {"7200"}, "X-Should-Retry": {"false"}},
	} {
		_, err := call(t.Context(), client, false)
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type() != "rate_limit_error" {
			t.Fatalf("request %d: %v; want a rate_limit_error 429", i, err)
		}
		if diff := cmp.Diff(want, limitHeaders(tee.header(i))); diff != "" {
			t.Errorf("request %d: limit headers (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff([]string{credA, credB}, p.credentials()); diff != "" {
		t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
	}
}

// A quota 429 fails over behind the proxy as behind the Transport, and so
// does a headerless one; a 400 does not.
func TestProxyFailover(t *testing.T) {
	for _, tt := range []struct {
		name      string
		a         fakeanthropic.Response
		wantCreds []string
		wantErr   bool
	}{
		{"quota", fakeanthropic.Quota429(frontNow, frontNow.Add(time.Hour)), []string{credA, credB}, false},
		{"529", fakeanthropic.Overloaded529(), []string{credA, credB}, false},
		{"headerless", fakeanthropic.Headerless429(), []string{credA, credB}, false},
		{"400", fakeanthropic.Response{Status: 400}, []string{credA}, true},
	} {
		for _, m := range askModes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				p := newProxied(t, frontSubs[:2])
				p.up.Set(credA, tt.a)
				_, err := call(t.Context(), p.client(&wireTee{}, option.WithAPIKey(keyBob)), m.stream)
				if (err != nil) != tt.wantErr {
					t.Errorf("err %v; want error %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantCreds, p.credentials()); diff != "" {
					t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// A stream passes event by event: the first reaches the SDK while the
// upstream holds back the last.
func TestProxyStreamsUnbuffered(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	hold := fakeanthropic.NewHold("message_stop")
	defer hold.Release()
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = hold.Wait
	p.up.SetDefault(resp)
	client := p.client(&wireTee{}, option.WithAPIKey(keyBob))

	s := client.Messages.NewStreaming(t.Context(), params)
	defer s.Close()
	var seen []string
	for s.Next() {
		seen = append(seen, s.Current().Type)
		if s.Current().Type == "message_delta" {
			break // the last event before the held one
		}
	}
	select {
	case <-hold.Reached():
	default:
		t.Fatal("the stream ended before the hold")
	}
	want := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("events seen while the upstream held message_stop (-want +got):\n%s", diff)
	}
	hold.Release()
	for s.Next() {
		seen = append(seen, s.Current().Type)
	}
	if err := s.Err(); err != nil || seen[len(seen)-1] != "message_stop" {
		t.Errorf("after release: %v, events %v", err, seen)
	}
}

// Shutting the server down lets a stream in flight finish.
func TestProxyShutdownDrains(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	proxy, err := proxy.New(f.tr, frontCallers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	hold := fakeanthropic.NewHold("message_delta")
	defer hold.Release()
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = hold.Wait
	f.up.SetDefault(resp)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	client := sdk("http://"+ln.Addr().String(), &http.Transport{}, &wireTee{}, option.WithAPIKey(keyBob))
	s := client.Messages.NewStreaming(t.Context(), params)
	defer s.Close()
	if !s.Next() {
		t.Fatalf("no first event: %v", s.Err())
	}
	<-hold.Reached()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for { // the listener closes first
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a stream in flight", err)
	default:
	}
	hold.Release()
	var last string
	for s.Next() {
		last = s.Current().Type
	}
	if err := s.Err(); err != nil || last != "message_stop" {
		t.Errorf("the stream ended with %q, %v; want message_stop", last, err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if got := f.session(t, "bob").Tokens; got != defaultTokens {
		t.Errorf("tokens %+v; want %+v", got, defaultTokens)
	}
}

// An upstream that cannot be reached is a 502 in Anthropic's shape, and is
// logged without a secret.
func TestProxyUpstreamDown(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	p.ts.Close()
	resp, body := p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","messages":[]}`, "x-api-key", keyBob)
	want := `{"type":"error","error":{"type":"api_error","message":"authpool proxy: the upstream could not be reached"}}`
	if resp.StatusCode != 502 || body != want {
		t.Errorf("got %d %s; want 502 %s", resp.StatusCode, body, want)
	}
	if !strings.Contains(p.logs.String(), "upstream unreachable") {
		t.Errorf("not logged: %s", p.logs.String())
	}
}

// New refuses what it cannot serve, saying which caller is wrong.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:1])
	long := "a-caller-key-long-enough-000"
	tests := []struct {
		name     string
		t        *proxy.Transport
		callers  []proxy.Caller
		upstream string
		want     string
	}{
		{"no pool", &proxy.Transport{}, nil, "", "claude: proxy: a Transport with a Pool is required"},
		{"relative upstream", f.tr, nil, "/v1", `claude: proxy: upstream "/v1" is not an absolute URL`},
		{"no ID", f.tr, []proxy.Caller{{Key: authpool.Credential(long)}}, "", "claude: proxy: /callers/0/id: id is empty"},
		{"short key", f.tr, []proxy.Caller{{ID: "x", Key: "short"}}, "",
			fmt.Sprintf("claude: proxy: /callers/0/key: 5 bytes long: must be at least %d", proxy.MinCallerKey)},
		{"same ID", f.tr, []proxy.Caller{{ID: "x", Key: authpool.Credential(long)}, {ID: "x", Key: authpool.Credential(long + "1")}}, "",
			`claude: proxy: /callers/1/id: "x": already used by /callers/0`},
		{"same key", f.tr, []proxy.Caller{{ID: "x", Key: authpool.Credential(long)}, {ID: "y", Key: authpool.Credential(long)}}, "",
			"claude: proxy: /callers/1/key: the same key as /callers/0"},
		{"sessionless", f.tr, []proxy.Caller{{ID: "x", Key: authpool.Credential(long), Sessionless: "scatter"}}, "",
			`claude: proxy: /callers/0/sessionless: "scatter": must be "sticky" or "spread"`},
		{"a rate without a burst", f.tr, []proxy.Caller{{ID: "x", Key: authpool.Credential(long), Rate: &proxy.RateLimit{PerSecond: 3}}}, "",
			"claude: proxy: /callers/0/rate/burst: 0: must be at least 1 when perSecond is set (a bucket of 0 refuses every call)"},
		{"every problem at once, in field order", f.tr, []proxy.Caller{{ID: "x", Key: authpool.Credential(long)},
			{ID: "a\tb", Key: "short\n", CapUSD: -1, CapWindow: authpool.Duration(90 * time.Minute), Rate: &proxy.RateLimit{PerSecond: -1, Burst: 1}}}, "",
			`claude: proxy: /callers/1/id: id "a\tb" holds a control character (byte 1)
claude: proxy: /callers/1/key: 6 bytes long: must be at least 16
claude: proxy: /callers/1/capUSD: -1: must be in 0..1e+06
claude: proxy: /callers/1/capWindow: 1h30m0s: must be whole hours, up to a week
claude: proxy: /callers/1/rate/perSecond: -1: must be in 0..1e+06`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := proxy.New(tt.t, tt.callers, tt.upstream)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err %v; want %s", err, tt.want)
			}
			if tt.callers != nil && !errors.Is(err, authpool.ErrInvalidConfig) {
				t.Errorf("err %v; want it to match ErrInvalidConfig", err)
			}
		})
	}
}

// A caller over its rate limit gets the pool's own 429 rate_limit_error,
// with retry-after in whole seconds (rounded up) and x-should-retry: true,
// and the upstream never hears of the request. The limit is per caller: its
// sessions share one bucket; a caller's own rate overrides the Proxy's
// DefaultRate; the bucket refills on the Transport's clock.
func TestProxyRateLimit(t *testing.T) {
	t.Parallel()
	var ns atomic.Int64
	ns.Store(frontNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, ns.Load()).UTC() }
	callers := []proxy.Caller{
		{ID: "alice", Key: keyAlice, Rate: &proxy.RateLimit{PerSecond: 0.1, Burst: 1}},
		{ID: "bob", Key: keyBob},
	}
	f := newFrontClock(t, authpool.Config{Subscriptions: frontSubs}, clock)
	defaultRate := &proxy.RateLimit{PerSecond: 0.4, Burst: 2}
	proxy, err := proxy.New(f.tr, callers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy.DefaultRate = defaultRate
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	p := &proxied{front: f, proxy: proxy, ps: ps}

	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, model)
	refused := func(caller string, secs int) (http.Header, string) {
		body := fmt.Sprintf(`{"type":"error","error":{"type":"rate_limit_error","message":"authpool: too many requests for \"%s\" (the pool's rate limit): retry in %d s"}}`,
			caller, secs)
		return http.Header{
			"Content-Type":   {"application/json"},
			"Content-Length": {strconv.Itoa(len(body))},
			"Retry-After":    {strconv.Itoa(secs)},
			"X-Should-Retry": {"true"},
		}, body
	}
	steps := []struct {
		advance time.Duration
		key     string
		session string
		refuse  int // retry-after; 0: let through
		caller  string
	}{
		{0, keyBob, "s-1", 0, "bob"},
		{0, keyBob, "s-2", 0, "bob"},      // another session, the same bucket of 2
		{0, keyBob, "s-3", 3, "bob"},      // 2.5 s until a call at 0.4/s: 3
		{0, keyAlice, "", 0, "alice"},     // her own bucket of 1
		{0, keyAlice, "s-1", 10, "alice"}, // at 0.1/s
		{2500 * time.Millisecond, keyBob, "s-3", 0, "bob"},
		{0, keyBob, "s-1", 3, "bob"},
		{0, keyAlice, "s-1", 8, "alice"}, // 7.5 s: 8
	}
	for i, s := range steps {
		ns.Add(int64(s.advance))
		resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", s.key, "X-Claude-Code-Session-Id", s.session)
		if s.refuse == 0 {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("step %d: %d %s; want 200", i, resp.StatusCode, got)
			}
			continue
		}
		wantHeader, wantBody := refused(s.caller, s.refuse)
		if resp.StatusCode != http.StatusTooManyRequests || got != wantBody {
			t.Errorf("step %d:\n got %d %s\nwant 429 %s", i, resp.StatusCode, got, wantBody)
		}
		gotHeader := http.Header{}
		for k := range resp.Header {
			if k != "Date" {
				gotHeader[k] = resp.Header[k]
			}
		}
		if diff := cmp.Diff(wantHeader, gotHeader); diff != "" {
			t.Errorf("step %d: headers (-want +got):\n%s", i, diff)
		}
	}
	if n := p.up.Count(); n != 4 {
		t.Errorf("the upstream got %d requests; want 4", n)
	}
	snap, err := p.pool.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var sessions []string
	for _, s := range snap.Sessions {
		sessions = append(sessions, s.ClientID)
	}
	slices.Sort(sessions)
	if diff := cmp.Diff([]string{"alice", "bob/s-1", "bob/s-2", "bob/s-3"}, sessions); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff) // a refused request makes none
	}
}
