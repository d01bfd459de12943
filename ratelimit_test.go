package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
)

// rateConfig limits every client to 2 calls a second, 3 at once.
func rateConfig() authpool.Config {
	return authpool.Config{
		Subscriptions: []authpool.Subscription{sub("s-a")},
		ClientRate:    authpool.RateLimit{PerSecond: 2, Burst: 3},
	}
}

// keyLimits are the limits the rate limit tests give with RateKey: the key
// vip one call every 2 seconds, the key free none; other keys nil, the
// default.
var keyLimits = map[string]*authpool.RateLimit{
	"vip":  {PerSecond: 0.5, Burst: 1},
	"free": {},
}

// Each step of a client's calls, on the pool's clock, is let through or
// refused with exactly the time until its bucket holds a call again.
func TestRateLimitRefusesWithTheExactRetryAfter(t *testing.T) {
	type step struct {
		advance  time.Duration // the clock moves on by this first
		clientID string
		key      string        // RateKey's; "" for none
		retry    time.Duration // the refusal's RetryAfter; 0: let through
	}
	tests := []struct {
		name  string
		steps []step
	}{{
		name: "a burst, then refused until a call has refilled",
		steps: []step{
			{0, "alice", "", 0}, {0, "alice", "", 0}, {0, "alice", "", 0},
			{0, "alice", "", 500 * time.Millisecond},
			{200 * time.Millisecond, "alice", "", 300 * time.Millisecond},
			{300 * time.Millisecond, "alice", "", 0},
			{0, "alice", "", 500 * time.Millisecond},
			{time.Second, "alice", "", 0}, {0, "alice", "", 0},
			{0, "alice", "", 500 * time.Millisecond},
		},
	}, {
		name: "each client has its own bucket",
		steps: []step{
			{0, "alice", "", 0}, {0, "alice", "", 0}, {0, "alice", "", 0}, {0, "alice", "", 500 * time.Millisecond},
			{0, "bob", "", 0}, {0, "bob", "", 0}, {0, "bob", "", 0}, {0, "bob", "", 500 * time.Millisecond},
		},
	}, {
		name: "a quiet client has its whole burst again, and no more",
		steps: []step{
			{0, "alice", "", 0},
			{time.Hour, "alice", "", 0}, {0, "alice", "", 0}, {0, "alice", "", 0},
			{0, "alice", "", 500 * time.Millisecond},
		},
	}, {
		name: "clients of one key share its bucket",
		steps: []step{
			{0, "team/1", "team", 0}, {0, "team/2", "team", 0}, {0, "team/3", "team", 0},
			{0, "team/4", "team", 500 * time.Millisecond},
			{0, "team/1", "", 0}, // its own bucket, without the key
		},
	}, {
		name: "a key's own limit overrides the default",
		steps: []step{
			{0, "vip/s-1", "vip", 0}, {0, "vip/s-2", "vip", 2 * time.Second},
			{1500 * time.Millisecond, "vip/s-1", "vip", 500 * time.Millisecond},
			{500 * time.Millisecond, "vip/s-2", "vip", 0},
		},
	}, {
		name:  "without the key, a client named as the key has the default",
		steps: []step{{0, "vip", "", 0}, {0, "vip", "", 0}, {0, "vip", "", 0}, {0, "vip", "", 500 * time.Millisecond}},
	}, {
		name: "a key with a zero limit is exempt",
		steps: []step{
			{0, "free/1", "free", 0}, {0, "free/2", "free", 0}, {0, "free/1", "free", 0},
			{0, "free/2", "free", 0}, {0, "free/1", "free", 0}, {0, "free/2", "free", 0},
		},
	}, {
		name: "a clock stepped back counts as the latest time seen",
		steps: []step{
			{0, "alice", "", 0}, {-time.Hour, "alice", "", 0}, {time.Hour, "alice", "", 0},
			{0, "alice", "", 500 * time.Millisecond},
			{-time.Minute, "alice", "", 500 * time.Millisecond},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			p := newPool(t, rateConfig(), clk)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				var opts []authpool.AllocateOption
				if s.key != "" {
					opts = append(opts, authpool.RateKey(s.key, keyLimits[s.key]))
				}
				_, err := p.Allocate(context.Background(), s.clientID, opts...)
				if s.retry == 0 {
					if err != nil {
						t.Fatalf("step %d: Allocate(%q): %v; want it let through", i, s.clientID, err)
					}
					continue
				}
				key := s.key
				if key == "" {
					key = s.clientID
				}
				want := &authpool.RateLimitedError{ClientID: s.clientID, Key: key, RetryAfter: s.retry}
				var got *authpool.RateLimitedError
				if !errors.As(err, &got) || !errors.Is(err, authpool.ErrRateLimited) || *got != *want {
					t.Fatalf("step %d: Allocate(%q) = %v; want %v", i, s.clientID, err, want)
				}
			}
		})
	}
}

// A refused call changes nothing: the client gets no session, and a
// client's session is not touched.
func TestRateLimitRefusalChangesNothing(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, rateConfig(), clk)
	ctx := context.Background()
	for range 3 {
		if _, err := p.Allocate(ctx, "alice", authpool.RateKey("team", nil)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(100 * time.Millisecond)
	if _, err := p.Allocate(ctx, "bob", authpool.RateKey("team", nil)); !errors.Is(err, authpool.ErrRateLimited) {
		t.Fatalf("Allocate(bob) = %v; want ErrRateLimited", err)
	}
	snap, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Sessions) != 1 || snap.Sessions[0].ClientID != "alice" || !snap.Sessions[0].LastActive.Equal(t0) {
		t.Errorf("sessions %+v; want alice's alone, last active at %v", snap.Sessions, t0)
	}
}

// A Resend (the same request placed again after its subscription failed)
// is not counted.
func TestRateLimitDoesNotCountAResend(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, rateConfig(), clk)
	ctx := context.Background()
	// Calls 1 and 3 are Resends: calls 0, 2 and 4 are the burst.
	for i, want := range []error{nil, nil, nil, nil, nil, authpool.ErrRateLimited} {
		var opts []authpool.AllocateOption
		if i == 1 || i == 3 {
			opts = append(opts, authpool.Resend())
		}
		if _, err := p.Allocate(ctx, "alice", opts...); !errors.Is(err, want) {
			t.Fatalf("call %d: Allocate = %v; want %v", i, err, want)
		}
	}
}

// Without a limit no call is refused, however many at once.
func TestRateLimitNoneConfiguredNeverRefuses(t *testing.T) {
	for name, cfg := range map[string]authpool.Config{
		"no limit": subs(sub("s-a")),
		"a default, the key exempt": {Subscriptions: []authpool.Subscription{sub("s-a")},
			ClientRate: authpool.RateLimit{PerSecond: 1, Burst: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPool(t, cfg, newClock(t0))
			for i := range 10_000 {
				if _, err := p.Allocate(context.Background(), "vip", authpool.RateKey("vip", keyLimits["free"])); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if n := authpool.RateBuckets(p); n != 0 {
				t.Errorf("%d rate buckets; want none", n)
			}
		})
	}
}

// The pool forgets the bucket of a key quiet long enough for it to be full
// again (which changes nothing: a new bucket is full), at each Rebalance
// and, without Rebalance, as new keys come: memory stays bounded by the
// keys recently active.
func TestRateLimitForgetsQuietClients(t *testing.T) {
	ctx := context.Background()
	cfg := subs(sub("s-a"))
	cfg.ClientRate = authpool.RateLimit{PerSecond: 1, Burst: 2} // full 2 s after the last call
	// The store plays no part in rate limits: a memstore keeps the 20,000
	// calls fast on every test run.
	take := func(t *testing.T, p *authpool.Pool, keys []string, n int) {
		t.Helper()
		for _, k := range keys {
			for range n {
				if _, err := p.Allocate(ctx, "c", authpool.RateKey(k, nil)); err != nil {
					t.Fatalf("key %s: %v", k, err)
				}
			}
		}
	}
	keys := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return out
	}

	t.Run("at Rebalance", func(t *testing.T) {
		clk := newClock(t0)
		p := newPool(t, cfg, clk, authpool.WithStore(memstore.New()))
		take(t, p, keys("a", 1000), 2)
		clk.Advance(1500 * time.Millisecond)
		take(t, p, []string{"busy"}, 1)
		if _, err := p.Rebalance(ctx); err != nil {
			t.Fatal(err)
		}
		if n := authpool.RateBuckets(p); n != 1001 {
			t.Fatalf("after 1.5 s: %d buckets; want 1001 (none is full yet)", n)
		}
		clk.Advance(500 * time.Millisecond)
		if _, err := p.Rebalance(ctx); err != nil {
			t.Fatal(err)
		}
		if n := authpool.RateBuckets(p); n != 1 {
			t.Fatalf("after 2 s: %d buckets; want 1 (busy's)", n)
		}
		// A forgotten key has its burst, as it would have had anyway.
		take(t, p, []string{"a-7"}, 2)
		if _, err := p.Allocate(ctx, "c", authpool.RateKey("a-7", nil)); !errors.Is(err, authpool.ErrRateLimited) {
			t.Fatalf("a-7's third call: %v; want ErrRateLimited", err)
		}
	})

	t.Run("as new keys come", func(t *testing.T) {
		clk := newClock(t0)
		p := newPool(t, cfg, clk, authpool.WithStore(memstore.New()))
		const n = 10_000
		take(t, p, keys("a", n), 1)
		if got := authpool.RateBuckets(p); got != n {
			t.Fatalf("%d buckets; want %d", got, n)
		}
		for wave := range 5 {
			clk.Advance(time.Minute)
			take(t, p, keys(fmt.Sprint("w", wave), n), 1)
			// Each shard sweeps when it has doubled: the last wave's
			// buckets, full by now, go.
			if got := authpool.RateBuckets(p); got > n*3/2 {
				t.Fatalf("wave %d: %d buckets; want at most %d (this wave's %d, and a few of the last)", wave, got, n*3/2, n)
			}
		}
	})
}

// Many goroutines on one client never get more than the burst and the rate
// times the time that passed.
func TestRateLimitConcurrent(t *testing.T) {
	const (
		goroutines = 64
		calls      = 200
		step       = 100 * time.Microsecond
		perSecond  = 100
		burst      = 10
	)
	clk := newClock(t0)
	cfg := subs(sub("s-a"))
	cfg.ClientRate = authpool.RateLimit{PerSecond: perSecond, Burst: burst}
	p := newPool(t, cfg, clk)
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				clk.Advance(step)
				_, err := p.Allocate(context.Background(), "hot")
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.Is(err, authpool.ErrRateLimited):
					refused.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := clk.Now().Sub(t0)
	most := burst + int64(perSecond*elapsed.Seconds())
	if got := allowed.Load(); got > most || got < most/2 {
		t.Errorf("%d calls let through in %v; want at most %d (burst %d + %d/s), and not far fewer", got, elapsed, most, burst, perSecond)
	}
	if total := allowed.Load() + refused.Load(); total != goroutines*calls {
		t.Errorf("%d calls answered; want %d", total, goroutines*calls)
	}
}

func TestRateLimitedErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *authpool.RateLimitedError
		want string
	}{
		{&authpool.RateLimitedError{ClientID: "alice", Key: "alice", RetryAfter: 1500 * time.Millisecond},
			`authpool: client "alice" is over its rate limit: retry in 1.5s`},
		{&authpool.RateLimitedError{ClientID: "vip/s-1", Key: "vip", RetryAfter: 2 * time.Second},
			`authpool: client "vip/s-1" (rate key "vip") is over its rate limit: retry in 2s`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
		if !errors.Is(fmt.Errorf("wrapped: %w", tt.err), authpool.ErrRateLimited) {
			t.Errorf("%v does not match ErrRateLimited", tt.err)
		}
	}
}

// A limit that is not valid is refused, and counts nothing.
func TestRateKeyRefusesABadLimit(t *testing.T) {
	p := newPool(t, rateConfig(), newClock(t0))
	_, err := p.Allocate(context.Background(), "alice", authpool.RateKey("team", &authpool.RateLimit{PerSecond: 1}))
	const want = `authpool: allocate: rate key "team": limit/burst: 0: must be at least 1 when perSecond is set (a bucket of 0 refuses every call): authpool: invalid argument`
	if !errors.Is(err, authpool.ErrInvalidArgument) || err.Error() != want {
		t.Fatalf("Allocate = %v; want %s", err, want)
	}
	if n := authpool.RateBuckets(p); n != 0 {
		t.Errorf("%d rate buckets; want none", n)
	}
}

// RateLimit.Validate names every problem by its field, as Config.Validate
// does under /clientRate; package proxy checks a caller's Rate with it.
func TestRateLimitValidate(t *testing.T) {
	tests := []struct {
		limit authpool.RateLimit
		want  string // the error; "" for none
	}{
		{authpool.RateLimit{}, ""},
		{authpool.RateLimit{PerSecond: 0.5, Burst: 1}, ""},
		{authpool.RateLimit{PerSecond: -1, Burst: 0}, "rate limit: /perSecond: -1: must be in 0..1e+06"},
		{authpool.RateLimit{PerSecond: 2e6, Burst: -1}, "rate limit: /perSecond: 2e+06: must be in 0..1e+06\nrate limit: /burst: -1: must be in 1..1073741824"},
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

// A key's bucket takes the limit each call gives: a caller whose Rate
// changes (another proxy's config) refills at the new rate from then on.
func TestRateKeyBucketTakesTheLimitGiven(t *testing.T) {
	p := newPool(t, rateConfig(), newClock(t0))
	slow, fast := &authpool.RateLimit{PerSecond: 1, Burst: 1}, &authpool.RateLimit{PerSecond: 10, Burst: 1}
	for i, s := range []struct {
		limit *authpool.RateLimit
		retry time.Duration // 0: let through
	}{{slow, 0}, {slow, time.Second}, {fast, 100 * time.Millisecond}, {nil, 500 * time.Millisecond}} {
		_, err := p.Allocate(context.Background(), "c", authpool.RateKey("k", s.limit))
		var got *authpool.RateLimitedError
		switch {
		case s.retry == 0 && err != nil:
			t.Fatalf("call %d: %v; want it let through", i, err)
		case s.retry != 0 && (!errors.As(err, &got) || got.RetryAfter != s.retry):
			t.Fatalf("call %d: %v; want a retry after %v", i, err, s.retry)
		}
	}
}
