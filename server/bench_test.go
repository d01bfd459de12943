package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/store"
)

// BenchmarkProxyPath sends JSON messages over loopback HTTP through the
// server's handler (the mux, the request log writing JSON lines to
// io.Discard) and through a bare proxy on the same pool, to an instant
// upstream: the difference is what the server adds to the library's path.
// "server-stored" sends the key of a caller kept in the store (looked up
// once, then remembered; each request charged to it in the store), the
// others a config file caller's.
//
//	go test -run '^$' -bench ProxyPath -benchmem -count 5 ./server/
func BenchmarkProxyPath(b *testing.B) {
	up := httptest.NewServer(fakeanthropic.NewInstant(fakeanthropic.InstantConfig{}))
	defer up.Close()
	f := testFile(&testing.T{}, up.URL, "http://127.0.0.1:9")
	for i := range f.Config.Subscriptions { // no budget runs out, however long the run
		f.Config.Subscriptions[i].WeeklyBudgetUSD, f.Config.Subscriptions[i].BlockBudgetUSD = 0, 0
	}
	srv, err := New(b.Context(), f, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.release(b.Context())
	bare, err := proxy.New(&proxy.Transport{Pool: srv.Pool()}, f.Callers, up.URL)
	if err != nil {
		b.Fatal(err)
	}
	key, err := proxy.NewCallerKey()
	if err != nil {
		b.Fatal(err)
	}
	cs, _ := callerStoreOf(srv.store)
	if err := cs.CreateCaller(b.Context(), store.Caller{ID: "stored", KeyHash: proxy.HashCallerKey(key.Reveal()), Created: testNow}); err != nil {
		b.Fatal(err)
	}
	const body = `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name string
		h    http.Handler
		key  string
	}{{"server", srv.Handler(), keyBob}, {"server-stored", srv.Handler(), key.Reveal()}, {"proxy", bare, keyBob}} {
		b.Run(tc.name, func(b *testing.B) {
			ts := httptest.NewServer(tc.h)
			defer ts.Close()
			c := ts.Client()
			c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/messages", strings.NewReader(body))
					req.Header.Set("x-api-key", tc.key)
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
