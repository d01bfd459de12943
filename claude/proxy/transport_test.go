package proxy_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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

// call sends params through client, as a stream or not, and returns the
// message the SDK made of the response.
func call(ctx context.Context, client anthropic.Client, stream bool, opts ...option.RequestOption) (anthropic.Message, error) {
	if !stream {
		m, err := client.Messages.New(ctx, params, opts...)
		if err != nil {
			return anthropic.Message{}, err
		}
		return *m, nil
	}
	s := client.Messages.NewStreaming(ctx, params, opts...)
	defer s.Close()
	var acc anthropic.Message
	for s.Next() {
		if err := acc.Accumulate(s.Current()); err != nil {
			return acc, err
		}
	}
	return acc, s.Err()
}

// askModes are the two ways of asking: a JSON message and an SSE stream.
var askModes = []struct {
	name   string
	stream bool
}{{"json", false}, {"stream", true}}

// The response the SDK sees is the upstream's, byte for byte; the request
// carries the subscription's credential instead of the caller's; the usage
// the pool records is what the upstream sent, under its message id.
func TestTransportForwards(t *testing.T) {
	for _, m := range askModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, frontSubs)
			tee := &wireTee{}
			client := sdk(f.ts.URL, f.tr, tee, option.WithAPIKey(callerJunk))

			msg, err := call(proxy.WithClient(t.Context(), "alice"), client, m.stream)
			if err != nil {
				t.Fatal(err)
			}
			if msg.ID != "msg_0001" || msg.Content[0].Text != fakeanthropic.DefaultText {
				t.Errorf("the SDK got message %q saying %+v", msg.ID, msg.Content)
			}
			sent, read := f.wire.bodies(), tee.bodies()
			if len(sent) != 1 || len(read) != 1 {
				t.Fatalf("%d bodies sent, %d read; want 1 and 1", len(sent), len(read))
			}
			if diff := cmp.Diff(string(sent[0]), string(read[0])); diff != "" {
				t.Errorf("the body the SDK read is not the upstream's (-sent +read):\n%s", diff)
			}

			reqs := f.up.Requests()
			if got := reqs[0]; got.Bearer != credA || got.APIKey != "" || !slices.Contains(got.Beta, proxy.OAuthBeta) {
				t.Errorf("upstream got bearer %q, x-api-key %q, beta %q; want sub-a's token and the OAuth beta", got.Bearer, got.APIKey, got.Beta)
			}
			if !strings.Contains(string(reqs[0].Body), prompt) || reqs[0].Stream != m.stream {
				t.Errorf("upstream got body %s", reqs[0].Body)
			}

			s := f.session(t, "alice")
			if s.SubscriptionID != "sub-a" || s.Tokens != defaultTokens || math.Abs(s.CostUSD-defaultCost) > 1e-9 || s.Model != model {
				t.Errorf("session %+v; want on sub-a with %+v at $%.7f", s, defaultTokens, defaultCost)
			}
		})
	}
}

// The subscription's credential replaces whatever the caller sent: an API
// key goes as x-api-key, a subscription's token as a bearer with the OAuth
// beta added to the caller's betas.
func TestTransportCredential(t *testing.T) {
	tests := []struct {
		name       string
		subs       []authpool.Subscription
		opts       []option.RequestOption
		wantKey    string
		wantBearer string
		wantBeta   []string
	}{{
		name: "token replaces the caller's bearer", subs: frontSubs[:1],
		opts:       []option.RequestOption{option.WithAPIKey(callerJunk)},
		wantBearer: credA, wantBeta: []string{proxy.OAuthBeta},
	}, {
		name: "token replaces the caller's x-api-key, keeps its betas", subs: frontSubs[:1],
		opts: []option.RequestOption{option.WithHeader("x-api-key", callerJunk),
			option.WithHeader("anthropic-beta", "prompt-caching-2024-07-31, oauth-2025-04-20")},
		wantBearer: credA, wantBeta: []string{"prompt-caching-2024-07-31", proxy.OAuthBeta},
	}, {
		name: "API key replaces the caller's bearer", subs: frontSubs[2:],
		opts:    []option.RequestOption{option.WithAPIKey(callerJunk)},
		wantKey: keyC,
	}, {
		name: "API key replaces the caller's x-api-key, keeps its betas", subs: frontSubs[2:],
		opts:    []option.RequestOption{option.WithHeader("x-api-key", callerJunk), option.WithHeader("anthropic-beta", "context-1m-2025-08-07")},
		wantKey: keyC, wantBeta: []string{"context-1m-2025-08-07"},
	}, {
		name: "API key drops the caller's OAuth beta", subs: frontSubs[2:],
		opts:    []option.RequestOption{option.WithAPIKey(callerJunk), option.WithHeader("anthropic-beta", "claude-code-20250219,oauth-2025-04-20")},
		wantKey: keyC, wantBeta: []string{"claude-code-20250219"},
	}, {
		name: "API key drops a lone OAuth beta", subs: frontSubs[2:],
		opts:    []option.RequestOption{option.WithAPIKey(callerJunk), option.WithHeader("anthropic-beta", "oauth-2025-04-20")},
		wantKey: keyC,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, tt.subs)
			client := sdk(f.ts.URL, f.tr, &wireTee{}, tt.opts...)
			if _, err := call(proxy.WithClient(t.Context(), "alice"), client, false); err != nil {
				t.Fatal(err)
			}
			got := f.up.Requests()[0]
			if got.APIKey != tt.wantKey || got.Bearer != tt.wantBearer {
				t.Errorf("x-api-key %q, bearer %q; want %q, %q", got.APIKey, got.Bearer, tt.wantKey, tt.wantBearer)
			}
			if diff := cmp.Diff(tt.wantBeta, got.Beta); diff != "" {
				t.Errorf("anthropic-beta (-want +got):\n%s", diff)
			}
		})
	}
}

// A response that takes the subscription out of service is sent again on
// another, and so does a 429 that names no limit (its subscription stays in
// service); a client or server error, or a failure with nowhere else to
// go, reaches the caller as the upstream sent it.
func TestTransportFailover(t *testing.T) {
	reset := frontNow.Add(2 * time.Hour)
	active := authpool.Status{State: authpool.Active}
	tests := []struct {
		name      string
		a, b      fakeanthropic.Response // what sub-a and sub-b answer
		wantCreds []string               // the credentials the upstream saw, in order
		wantErr   int                    // the status the SDK fails with; 0 for success
		wantA     authpool.Status        // sub-a afterwards
	}{{
		name: "quota 429 fails over", a: fakeanthropic.Quota429(frontNow, reset), b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA, credB},
		wantA:     authpool.Status{State: authpool.Limited, Until: reset},
	}, {
		name: "529 fails over", a: fakeanthropic.Overloaded529(), b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA, credB},
		wantA:     authpool.Status{State: authpool.Limited, Until: frontNow.Add(30 * time.Second)},
	}, {
		name: "refused credential fails over", a: fakeanthropic.Unauthorized401(), b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA, credB},
		wantA:     authpool.Status{State: authpool.Disabled},
	}, {
		name: "headerless 429 fails over, sub-a stays in service", a: fakeanthropic.Headerless429(), b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA, credB}, wantA: active,
	}, {
		name: "500 does not", a: fakeanthropic.Response{Status: 500}, b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA}, wantErr: 500, wantA: active,
	}, {
		name: "400 does not", a: fakeanthropic.Response{Status: 400}, b: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		wantCreds: []string{credA}, wantErr: 400, wantA: active,
	}, {
		name: "nowhere else: the last answer", a: fakeanthropic.Quota429(frontNow, reset), b: fakeanthropic.Overloaded529(),
		wantCreds: []string{credA, credB}, wantErr: 529,
		wantA: authpool.Status{State: authpool.Limited, Until: reset},
	}}
	for _, tt := range tests {
		for _, m := range askModes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				f := newFront(t, frontSubs[:2])
				f.up.Set(credA, tt.a)
				f.up.Set(credB, tt.b)
				tee := &wireTee{}
				client := sdk(f.ts.URL, f.tr, tee, option.WithAPIKey(callerJunk))

				_, err := call(proxy.WithClient(t.Context(), "alice"), client, m.stream)
				var apiErr *anthropic.Error
				switch {
				case tt.wantErr == 0 && err != nil:
					t.Fatalf("the SDK failed: %v", err)
				case tt.wantErr != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantErr):
					t.Fatalf("the SDK got %v; want an API error %d", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantCreds, f.credentials()); diff != "" {
					t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
				}
				sent, read := f.wire.bodies(), tee.bodies()
				if len(read) != 1 || string(read[0]) != string(sent[len(sent)-1]) {
					t.Errorf("the SDK read %q; the upstream's last answer was %q", read, sent[len(sent)-1])
				}
				if got := f.sub(t, "sub-a").Status; got.State != tt.wantA.State || !got.Until.Equal(tt.wantA.Until) {
					t.Errorf("sub-a is %+v; want %+v", got, tt.wantA)
				}
				if tt.wantErr == 0 {
					if s := f.session(t, "alice"); s.SubscriptionID != "sub-b" || s.Tokens != defaultTokens {
						t.Errorf("session %+v; want moved to sub-b with its usage", s)
					}
				}
			})
		}
	}
}

// A request whose body cannot be sent again is not retried.
func TestTransportNoReplay(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:2])
	f.up.Set(credA, fakeanthropic.Quota429(frontNow, frontNow.Add(time.Hour)))
	body := `{"model":"` + model + `","max_tokens":10,"messages":[]}`
	req, err := http.NewRequestWithContext(proxy.WithClient(t.Context(), "alice"), http.MethodPost,
		f.ts.URL+"/v1/messages", io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || string(got) != string(f.wire.bodies()[0]) {
		t.Errorf("got %d %s; want the upstream's 429", resp.StatusCode, got)
	}
	if diff := cmp.Diff([]string{credA}, f.credentials()); diff != "" {
		t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
	}
	if st := f.sub(t, "sub-a").Status.State; st != authpool.Limited {
		t.Errorf("sub-a is %s; want limited", st)
	}
}

// When no subscription takes the client, the Transport answers 429 itself,
// as Anthropic would, saying why and when to come back, and whether to wait
// for it; the upstream sees nothing.
func TestTransportExhausted(t *testing.T) {
	reset := frontNow.Add(90 * time.Minute)
	tests := []struct {
		name       string
		out        func(context.Context, *authpool.Pool) error
		wantHeader http.Header
		wantBody   string
	}{{
		name: "limited for seconds",
		out: func(ctx context.Context, p *authpool.Pool) error {
			return p.MarkLimited(ctx, "sub-a", frontNow.Add(6500*time.Millisecond), "test")
		},
		wantHeader: http.Header{
			"Content-Type":   {"application/json"},
			"X-Should-Retry": {"true"},
			"Retry-After":    {"7"},
		},
		wantBody: `{"type":"error","error":{"type":"rate_limit_error","message":"authpool: the pool's one subscription refuses the request (1 limited); the first is expected back in 7 s: retry then"}}`,
	}, {
		name: "limited until a reset",
		out: func(ctx context.Context, p *authpool.Pool) error {
			return p.MarkLimited(ctx, "sub-a", reset, "test")
		},
		wantHeader: http.Header{
			"Content-Type":   {"application/json"},
			"X-Should-Retry": {"false"},
			"Retry-After":    {"5400"},
		},
		wantBody: `{"type":"error","error":{"type":"rate_limit_error","message":"authpool: the pool's one subscription refuses the request (1 limited); the first is expected back at 11:30 UTC (in 1 h 30 min)"}}`,
	}, {
		name: "disabled",
		out: func(ctx context.Context, p *authpool.Pool) error {
			return p.Disable(ctx, "sub-a", "test")
		},
		wantHeader: http.Header{
			"Content-Type":   {"application/json"},
			"X-Should-Retry": {"false"},
		},
		wantBody: `{"type":"error","error":{"type":"rate_limit_error","message":"authpool: the pool's one subscription refuses the request (1 disabled); none comes back by itself: the pool's operator must enable a subscription or add one"}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, frontSubs[:1])
			if err := tt.out(t.Context(), f.pool); err != nil {
				t.Fatal(err)
			}
			tee := &wireTee{}
			client := sdk(f.ts.URL, f.tr, tee, option.WithAPIKey(callerJunk))
			_, err := call(proxy.WithClient(t.Context(), "alice"), client, false)
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
				t.Fatalf("the SDK got %v; want a 429", err)
			}
			if diff := cmp.Diff(tt.wantHeader, tee.header(0)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if got := string(tee.bodies()[0]); got != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
			}
			if n := f.up.Count(); n != 0 {
				t.Errorf("the upstream got %d requests; want none", n)
			}
		})
	}
}

// The client is the context's, else the header the host names, which goes
// no further; without either the request fails.
func TestTransportClient(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:1])
	f.tr.ClientHeader = "X-Authpool-Client"
	client := sdk(f.ts.URL, f.tr, &wireTee{}, option.WithAPIKey(callerJunk))

	if _, err := call(t.Context(), client, false, option.WithHeader("X-Authpool-Client", "carol")); err != nil {
		t.Fatal(err)
	}
	f.session(t, "carol")
	if h := f.up.Requests()[0].Header.Get("X-Authpool-Client"); h != "" {
		t.Errorf("the upstream got the client header %q", h)
	}
	// The context wins over the header.
	if _, err := call(proxy.WithClient(t.Context(), "dave"), client, false, option.WithHeader("X-Authpool-Client", "carol")); err != nil {
		t.Fatal(err)
	}
	f.session(t, "dave")

	bare := &proxy.Transport{Pool: f.pool, Base: f.tr.Base}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/v1/messages", strings.NewReader("{}"))
	if _, err := bare.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "WithClient") {
		t.Errorf("no client: err %v; want one naming WithClient", err)
	}
	if n := f.up.Count(); n != 2 {
		t.Errorf("the upstream got %d requests; want 2", n)
	}
}

// A stream reaches the caller event by event: the first is there before
// the upstream sends the last. Its usage is recorded once it ends.
func TestTransportStreamsUnbuffered(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:1])
	hold := fakeanthropic.NewHold("message_stop")
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = hold.Wait
	f.up.SetDefault(resp)
	client := sdk(f.ts.URL, f.tr, &wireTee{}, option.WithAPIKey(callerJunk))

	s := client.Messages.NewStreaming(proxy.WithClient(t.Context(), "alice"), params)
	defer s.Close()
	first := make(chan string, 1)
	go func() {
		if s.Next() {
			first <- s.Current().Type
		}
		close(first)
	}()
	select {
	case typ := <-first:
		if typ != "message_start" {
			t.Fatalf("first event %q", typ)
		}
	case <-time.After(10 * time.Second):
		hold.Release()
		t.Fatal("no event reached the SDK while the upstream held its last one back")
	}
	<-hold.Reached()
	if f.session(t, "alice").Tokens != (authpool.Tokens{}) {
		t.Error("usage recorded before the stream ended")
	}
	hold.Release()
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got := f.session(t, "alice").Tokens; got != defaultTokens {
		t.Errorf("tokens %+v; want %+v", got, defaultTokens)
	}
}

// A stream that fails after its 200 tells the pool (an overloaded upstream
// cools the subscription down) and records what it used up to there.
func TestTransportMidStreamError(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:1])
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.StreamError = &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded"}
	f.up.SetDefault(resp)
	client := sdk(f.ts.URL, f.tr, &wireTee{}, option.WithAPIKey(callerJunk))

	_, err := call(proxy.WithClient(t.Context(), "alice"), client, true)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("the SDK got %v; want the stream's error", err)
	}
	st := f.sub(t, "sub-a").Status
	if st.State != authpool.Limited || !st.Until.Equal(frontNow.Add(30*time.Second)) {
		t.Errorf("sub-a is %+v; want cooling down for 30s", st)
	}
	// message_start carried the input side.
	want := authpool.Tokens{Input: 12, CacheWrite: 5210 + 1024, CacheRead: 18300, Output: 1}
	if got := f.session(t, "alice").Tokens; got.Input != want.Input || got.CacheRead != want.CacheRead {
		t.Errorf("tokens %+v; want the input side %+v", got, want)
	}
}

// A caller that accepts gzip gets the body decoded, and its usage is still
// read: the base transport negotiates the encoding itself.
func TestTransportGzip(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs[:1])
	f.wire.next = gzipping(f.up)
	tee := &wireTee{}
	client := sdk(f.ts.URL, f.tr, tee, option.WithAPIKey(callerJunk), option.WithHeader("Accept-Encoding", "gzip"))
	msg, err := call(proxy.WithClient(t.Context(), "alice"), client, false)
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID != "msg_0001" {
		t.Errorf("message %q", msg.ID)
	}
	if got := f.session(t, "alice").Tokens; got != defaultTokens {
		t.Errorf("tokens %+v; want %+v", got, defaultTokens)
	}
}

// TestNewBaseTransport checks the default upstream client: HTTP/2 to a TLS
// upstream, and, to an HTTP/1.1 one, the connections of 64 concurrent
// requests kept for the next 64 (net/http's default keeps 2).
func TestNewBaseTransport(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) })

	t.Run("HTTP/2 over TLS", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewUnstartedServer(ok)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		base := proxy.NewBaseTransport()
		base.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		defer base.CloseIdleConnections()
		resp, err := (&http.Client{Transport: base}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("the response came over %s, want HTTP/2", resp.Proto)
		}
	})

	t.Run("idle connections for concurrency", func(t *testing.T) {
		t.Parallel()
		const c = 64
		// The server answers a wave's requests only once all c have come,
		// so that each wave needs c connections at once.
		type wave struct {
			n   atomic.Int64
			all chan struct{}
		}
		var cur atomic.Pointer[wave]
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wv := cur.Load()
			if wv.n.Add(1) == c {
				close(wv.all)
			}
			<-wv.all
			ok(w, r)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()
		base := proxy.NewBaseTransport()
		defer base.CloseIdleConnections()
		send := func() {
			cur.Store(&wave{all: make(chan struct{})})
			var wg sync.WaitGroup
			for range c {
				wg.Go(func() {
					resp, err := base.RoundTrip(httptest.NewRequest(http.MethodGet, srv.URL, nil).WithContext(t.Context()))
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			wg.Wait()
		}
		send()
		// A connection goes back to the idle pool just after its body's
		// end is read: give the last ones a moment.
		time.Sleep(100 * time.Millisecond)
		first := conns.Load()
		send()
		if opened := conns.Load() - first; first != c || opened > 0 {
			t.Errorf("the first wave of %d requests opened %d connections, the second %d more; want %d, then none", c, first, opened, c)
		}
	})
}
