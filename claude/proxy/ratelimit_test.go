package proxy_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// The limits the rate limiter tests give: every caller 2 requests a second,
// 3 at once; vip one every 2 seconds; free none.
var (
	rateDefault = proxy.RateLimit{PerSecond: 2, Burst: 3}
	rateVIP     = proxy.RateLimit{PerSecond: 0.5, Burst: 1}
	rateFree    = proxy.RateLimit{}
)

// Each step of a caller's requests, on the clock given, is let through or
// refused with exactly the time until its bucket holds a request again.
func TestRateLimiterRefusesWithTheExactRetryAfter(t *testing.T) {
	type step struct {
		advance time.Duration // the clock moves on by this first
		key     string
		limit   proxy.RateLimit
		retry   time.Duration // the refusal's wait; 0: let through
	}
	d, vip, free := rateDefault, rateVIP, rateFree
	tests := []struct {
		name  string
		steps []step
	}{{
		name: "a burst, then refused until a request has refilled",
		steps: []step{
			{0, "alice", d, 0}, {0, "alice", d, 0}, {0, "alice", d, 0},
			{0, "alice", d, 500 * time.Millisecond},
			{200 * time.Millisecond, "alice", d, 300 * time.Millisecond},
			{300 * time.Millisecond, "alice", d, 0},
			{0, "alice", d, 500 * time.Millisecond},
			{time.Second, "alice", d, 0}, {0, "alice", d, 0},
			{0, "alice", d, 500 * time.Millisecond},
		},
	}, {
		name: "each caller has its own bucket",
		steps: []step{
			{0, "alice", d, 0}, {0, "alice", d, 0}, {0, "alice", d, 0}, {0, "alice", d, 500 * time.Millisecond},
			{0, "bob", d, 0}, {0, "bob", d, 0}, {0, "bob", d, 0}, {0, "bob", d, 500 * time.Millisecond},
		},
	}, {
		name: "a quiet caller has its whole burst again, and no more",
		steps: []step{
			{0, "alice", d, 0},
			{time.Hour, "alice", d, 0}, {0, "alice", d, 0}, {0, "alice", d, 0},
			{0, "alice", d, 500 * time.Millisecond},
		},
	}, {
		name: "a caller's own limit",
		steps: []step{
			{0, "vip", vip, 0}, {0, "vip", vip, 2 * time.Second},
			{1500 * time.Millisecond, "vip", vip, 500 * time.Millisecond},
			{500 * time.Millisecond, "vip", vip, 0},
		},
	}, {
		name: "a zero limit is none",
		steps: []step{
			{0, "free", free, 0}, {0, "free", free, 0}, {0, "free", free, 0},
			{0, "free", free, 0}, {0, "free", free, 0}, {0, "free", free, 0},
		},
	}, {
		name: "a clock stepped back counts as the latest time seen",
		steps: []step{
			{0, "alice", d, 0}, {-time.Hour, "alice", d, 0}, {time.Hour, "alice", d, 0},
			{0, "alice", d, 500 * time.Millisecond},
			{-time.Minute, "alice", d, 500 * time.Millisecond},
		},
	}, {
		name: "a bucket takes the limit each request gives from then on",
		steps: []step{
			{0, "k", proxy.RateLimit{PerSecond: 1, Burst: 1}, 0},
			{0, "k", proxy.RateLimit{PerSecond: 1, Burst: 1}, time.Second},
			{0, "k", proxy.RateLimit{PerSecond: 10, Burst: 1}, 100 * time.Millisecond},
			{0, "k", d, 500 * time.Millisecond},
		},
	}}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, now := proxy.NewRateLimiter(), t0
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				wait, ok := r.Allow(s.key, s.limit, now)
				if ok != (s.retry == 0) || wait != s.retry {
					t.Fatalf("step %d: Allow(%q) = %v, %t; want %v, %t", i, s.key, wait, ok, s.retry, s.retry == 0)
				}
			}
		})
	}
}

// The limiter forgets the bucket of a caller quiet long enough for it to
// be full again (which changes nothing: a new bucket is full) as new
// callers come, so memory stays bounded by the callers recently active;
// a limit of none keeps no bucket.
func TestRateLimiterForgetsQuietCallers(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	limit := proxy.RateLimit{PerSecond: 1, Burst: 2} // full 2 s after the last request
	take := func(t *testing.T, r proxy.RateLimiter, prefix string, n int, l proxy.RateLimit, now time.Time) {
		t.Helper()
		for i := range n {
			if _, ok := r.Allow(fmt.Sprintf("%s-%d", prefix, i), l, now); !ok {
				t.Fatalf("%s-%d: refused", prefix, i)
			}
		}
	}
	t.Run("none kept without a limit", func(t *testing.T) {
		r := proxy.NewRateLimiter()
		take(t, r, "free", 10_000, rateFree, t0)
		if n := r.Buckets(); n != 0 {
			t.Errorf("%d buckets; want none", n)
		}
	})
	t.Run("as new callers come", func(t *testing.T) {
		r := proxy.NewRateLimiter()
		const n = 10_000
		take(t, r, "a", n, limit, t0)
		if got := r.Buckets(); got != n {
			t.Fatalf("%d buckets; want %d", got, n)
		}
		now := t0
		for wave := range 5 {
			now = now.Add(time.Minute)
			take(t, r, fmt.Sprint("w", wave), n, limit, now)
			// Each shard sweeps when it has doubled: the last wave's
			// buckets, full by now, go.
			if got := r.Buckets(); got > n*3/2 {
				t.Fatalf("wave %d: %d buckets; want at most %d (this wave's %d, and a few of the last)", wave, got, n*3/2, n)
			}
		}
		// A forgotten caller has its burst, as it would have had anyway.
		now = now.Add(time.Minute)
		take(t, r, "a", 1, limit, now)
		take(t, r, "a", 1, limit, now)
		if wait, ok := r.Allow("a-0", limit, now); ok || wait != time.Second {
			t.Errorf("a-0's third request: %v, %t; want refused for 1s", wait, ok)
		}
	})
}

// Many goroutines on one caller never get more than the burst and the rate
// times the time that passed.
func TestRateLimiterConcurrent(t *testing.T) {
	const (
		goroutines = 64
		requests   = 200
		step       = 100 * time.Microsecond
		perSecond  = 100
		burst      = 10
	)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var ns atomic.Int64 // the clock, past t0
	r := proxy.NewRateLimiter()
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range requests {
				now := t0.Add(time.Duration(ns.Add(int64(step))))
				if _, ok := r.Allow("hot", proxy.RateLimit{PerSecond: perSecond, Burst: burst}, now); ok {
					allowed.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(ns.Load())
	most := burst + int64(perSecond*elapsed.Seconds())
	if got := allowed.Load(); got > most || got < most/2 {
		t.Errorf("%d requests let through in %v; want at most %d (burst %d + %d/s), and not far fewer", got, elapsed, most, burst, perSecond)
	}
	if total := allowed.Load() + refused.Load(); total != goroutines*requests {
		t.Errorf("%d requests answered; want %d", total, goroutines*requests)
	}
}

// RateLimit.Validate names every problem by its field; ValidateCallers
// checks a caller's Rate with it.
func TestRateLimitValidate(t *testing.T) {
	tests := []struct {
		limit proxy.RateLimit
		want  string // the error; "" for none
	}{
		{proxy.RateLimit{}, ""},
		{proxy.RateLimit{PerSecond: 0.5, Burst: 1}, ""},
		{proxy.RateLimit{PerSecond: 1e6, Burst: 1 << 30}, ""},
		{proxy.RateLimit{PerSecond: -1, Burst: 0}, "rate limit: /perSecond: -1: must be in 0..1e+06"},
		{proxy.RateLimit{PerSecond: math.NaN(), Burst: 1}, "rate limit: /perSecond: NaN: must be in 0..1e+06"},
		{proxy.RateLimit{PerSecond: math.Inf(1), Burst: 1}, "rate limit: /perSecond: +Inf: must be in 0..1e+06"},
		{proxy.RateLimit{PerSecond: 1}, "rate limit: /burst: 0: must be at least 1 when perSecond is set (a bucket of 0 refuses every call)"},
		{proxy.RateLimit{Burst: 5}, "rate limit: /burst: 5: set perSecond too, or neither (a bucket that never refills would refuse the client for good)"},
		{proxy.RateLimit{PerSecond: 1, Burst: 1<<30 + 1}, "rate limit: /burst: 1073741825: must be in 1..1073741824"},
		{proxy.RateLimit{PerSecond: 2e6, Burst: -1}, "rate limit: /perSecond: 2e+06: must be in 0..1e+06\nrate limit: /burst: -1: must be in 1..1073741824"},
	}
	for _, tt := range tests {
		err := tt.limit.Validate()
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, authpool.ErrInvalidConfig) {
				t.Errorf("%+v: %v does not match ErrInvalidConfig", tt.limit, err)
			}
		}
		if got != tt.want {
			t.Errorf("%+v: Validate() = %q; want %q", tt.limit, got, tt.want)
		}
	}
}

// A request is counted once, when it reaches the proxy: one that fails
// over from a subscription's quota 429 to another is one request of its
// caller's, not two.
func TestProxyRateLimitCountsAFailOverOnce(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs[:2])
	p.proxy.DefaultRate = &proxy.RateLimit{PerSecond: 0.5, Burst: 1}
	p.up.Set(credA, fakeanthropic.Quota429(frontNow, frontNow.Add(2*time.Hour)))
	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, model)

	if resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", keyBob); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's first request: %d %s; want 200 (failed over)", resp.StatusCode, got)
	}
	resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", keyBob)
	want := `{"type":"error","error":{"type":"rate_limit_error","message":"authpool: too many requests for \"bob\" (the pool's rate limit): retry in 2 s"}}`
	if resp.StatusCode != http.StatusTooManyRequests || got != want || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("bob's second request: %d retry-after %q %s\nwant 429 retry-after 2 %s", resp.StatusCode, resp.Header.Get("Retry-After"), got, want)
	}
	// Another caller has its own bucket.
	if resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", keyAlice); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice's request: %d %s; want 200", resp.StatusCode, got)
	}
	if diff := cmp.Diff([]string{credA, credB, credB}, p.credentials()); diff != "" {
		t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
	}
}

// A rate limit that is not valid — an Identify's caller's, or DefaultRate —
// is the operator's to fix: the request is answered 500 api_error with
// x-should-retry: false and goes no further, and the log names the
// problem.
func TestProxyRateLimitNotValid(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, model)
	const wantBody = `{"type":"error","error":{"type":"api_error","message":"authpool proxy: the caller's rate limit is not valid, so the request was not sent: the proxy's operator must fix it"}}`
	for name, set := range map[string]func(*proxy.Proxy){
		"a caller's": func(px *proxy.Proxy) {
			px.Identify = func(string) (proxy.Caller, bool) {
				return proxy.Caller{ID: "bob", Rate: &proxy.RateLimit{PerSecond: 1}}, true
			}
		},
		"DefaultRate": func(px *proxy.Proxy) { px.DefaultRate = &proxy.RateLimit{Burst: 5} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProxied(t, frontSubs[:1])
			set(p.proxy)
			resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", keyBob)
			if resp.StatusCode != http.StatusInternalServerError || got != wantBody || resp.Header.Get("X-Should-Retry") != "false" {
				t.Errorf("%d x-should-retry %q %s\nwant 500 x-should-retry false %s", resp.StatusCode, resp.Header.Get("X-Should-Retry"), got, wantBody)
			}
			if n := p.up.Count(); n != 0 {
				t.Errorf("the upstream got %d requests; want none", n)
			}
			if logs := p.logs.String(); !strings.Contains(logs, "kind=bad-rate") || !strings.Contains(logs, "/burst: ") {
				t.Errorf("the log does not name the problem:\n%s", logs)
			}
		})
	}
}
