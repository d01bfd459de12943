package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// Callers without a Rate of their own share DefaultRate's limit, each in a
// bucket of its own; a request over it is answered 429 before the pool is
// asked for a subscription, with retry-after saying when to come back.
func ExampleRateLimit() {
	ctx := context.Background()
	upstream := httptest.NewServer(&fakeanthropic.Server{})
	defer upstream.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a"},
	}}, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)
	px, err := proxy.New(&proxy.Transport{Pool: p}, []proxy.Caller{
		{ID: "ci", Key: "caller-key-ci-0123456789abcdef"},
		{ID: "vip", Key: "caller-key-vip-0123456789abcde", Rate: &proxy.RateLimit{}}, // exempt
	}, upstream.URL)
	if err != nil {
		panic(err)
	}
	px.DefaultRate = &proxy.RateLimit{PerSecond: 0.1, Burst: 2} // 2 at once, then one every 10 s

	for _, key := range []string{"caller-key-ci-0123456789abcdef", "caller-key-ci-0123456789abcdef",
		"caller-key-ci-0123456789abcdef", "caller-key-vip-0123456789abcde"} {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/messages",
			strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("X-Api-Key", key)
		w := httptest.NewRecorder()
		px.ServeHTTP(w, req)
		if wait := w.Header().Get("Retry-After"); wait != "" {
			fmt.Println(w.Code, "retry-after", wait)
			continue
		}
		fmt.Println(w.Code)
	}
	// Output:
	// 200
	// 200
	// 429 retry-after 10
	// 200
}
