package proxy_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// downStore is a memstore that fails every call a request makes with
// store.ErrUnavailable while down is set, as redisstore does when Redis
// cannot be reached.
type downStore struct {
	store.Store
	down atomic.Bool
}

func (s *downStore) fail() error {
	if s.down.Load() {
		return fmt.Errorf("downstore: %w", store.ErrUnavailable)
	}
	return nil
}

func (s *downStore) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	if err := s.fail(); err != nil {
		return store.Touched{}, err
	}
	return s.Store.Touch(ctx, clientID, now, holdUntil)
}

func (s *downStore) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	if err := s.fail(); err != nil {
		return store.Session{}, err
	}
	return s.Store.Assign(ctx, a)
}

func (s *downStore) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Subscriptions(ctx)
}

// storeDown is the proxy's answer while the pool's store is unavailable.
const storeDown = `{"type":"error","error":{"type":"api_error","message":"authpool proxy: the pool's store is unavailable, so no subscription could be chosen: retry in 5 s"}}`

// While the pool's store is unavailable the proxy answers 503 api_error
// with retry-after, says so in its log, and sends nothing upstream; Claude
// Code waits the retry-after and sends the turn again, which the proxy
// serves once the store is back.
func TestProxyStoreUnavailable(t *testing.T) {
	t.Parallel()
	st := &downStore{Store: memstore.New()}
	p := newProxiedOpts(t, frontSubs, authpool.WithStore(st))
	st.down.Store(true)
	resp, body := p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","max_tokens":10,"messages":[]}`, "x-api-key", keyBob)
	if resp.StatusCode != 503 || body != storeDown || resp.Header.Get("Retry-After") != "5" || resp.Header.Get("X-Should-Retry") != "true" {
		t.Errorf("got %d %s, retry-after %q, x-should-retry %q\nwant 503 %s, 5, true", resp.StatusCode, body,
			resp.Header.Get("Retry-After"), resp.Header.Get("X-Should-Retry"), storeDown)
	}
	if n := p.up.Count(); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
	if log := p.logs.String(); !strings.Contains(log, `level=ERROR msg="authpool proxy: the pool's store is unavailable" kind=store-unavailable status=503 caller=bob count=1`) ||
		!strings.Contains(log, "downstore: store: unavailable") {
		t.Errorf("the outage was not logged as one:\n%s", log)
	}

	// Claude Code, while the store comes back.
	var waits []time.Duration
	cli := &fakeanthropic.CLI{BaseURL: p.ps.URL, Auth: fakeanthropic.AuthAPIKey, Key: keyAlice, Client: p.ps.Client(),
		Wait: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			if len(waits) == 2 {
				st.down.Store(false)
			}
			return nil
		}}
	turn, err := cli.Session().Turn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if turn.Status != 200 || len(turn.Attempts) != 3 || waits[0] != proxy.StoreRetryAfter || waits[1] != proxy.StoreRetryAfter {
		t.Errorf("Claude Code's turn: %d after %d attempts, waiting %v; want 200 after 3, waiting 5 s each time", turn.Status, len(turn.Attempts), waits)
	}
}

// With a real Redis: stopped, the proxy answers 503 (not 502, the
// upstream's); out of memory (an error that is not ErrUnavailable, and does
// not pass by itself), 500 with x-should-retry: false.
func TestProxyRedisDown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		args       []string
		breakIt    func(t *testing.T, srv *redistest.Server, c *redis.Client)
		wantStatus int
		wantBody   string
		wantRetry  string
		wantLog    string
	}{{
		name:       "stopped",
		breakIt:    func(t *testing.T, srv *redistest.Server, _ *redis.Client) { srv.Kill() },
		wantStatus: 503, wantBody: storeDown, wantRetry: "true",
		wantLog: `level=ERROR msg="authpool proxy: the pool's store is unavailable" kind=store-unavailable status=503 caller=bob count=1`,
	}, {
		name: "out of memory",
		args: []string{"--maxmemory", "4mb", "--maxmemory-policy", "noeviction"},
		breakIt: func(t *testing.T, _ *redistest.Server, c *redis.Client) {
			ballast := strings.Repeat("x", 64<<10)
			for i := 0; ; i++ {
				err := c.Set(t.Context(), fmt.Sprintf("ballast-%d", i), ballast, 0).Err()
				if err != nil && strings.HasPrefix(err.Error(), "OOM") {
					return
				}
				if err != nil || i > 1000 {
					t.Fatalf("filling Redis: %d keys, %v", i, err)
				}
			}
		},
		wantStatus: 500, wantRetry: "false",
		wantBody: `{"type":"error","error":{"type":"api_error","message":"authpool proxy: the pool's store refused the request, which was not sent: the pool's operator must look into it"}}`,
		wantLog:  `level=ERROR msg="authpool proxy: the pool's store failed" kind=store-failed status=500 caller=bob count=1`,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t, tt.args...)
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialerRetries: 1, MaxRetries: 1})
			t.Cleanup(func() { _ = c.Close() })
			p := newProxiedOpts(t, frontSubs, authpool.WithStore(redisstore.New(c, redisstore.WithPrefix("proxy"))))
			tt.breakIt(t, srv, c)
			resp, body := p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","max_tokens":10,"messages":[]}`, "x-api-key", keyBob)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody || resp.Header.Get("X-Should-Retry") != tt.wantRetry {
				t.Errorf("got %d %s, x-should-retry %q\nwant %d %s, %s", resp.StatusCode, body, resp.Header.Get("X-Should-Retry"),
					tt.wantStatus, tt.wantBody, tt.wantRetry)
			}
			if n := p.up.Count(); n != 0 {
				t.Errorf("the upstream got %d requests", n)
			}
			if log := p.logs.String(); !strings.Contains(log, tt.wantLog) {
				t.Errorf("the log has no line %s:\n%s", tt.wantLog, log)
			}
		})
	}
}

// newProxiedOpts is newProxied with options for the pool.
func newProxiedOpts(t *testing.T, subs []authpool.Subscription, opts ...authpool.Option) *proxied {
	t.Helper()
	f := newFront(t, subs, opts...)
	proxy, err := proxy.New(f.tr, frontCallers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return &proxied{front: f, proxy: proxy, ps: ps}
}

var _ http.Handler = (*proxy.Proxy)(nil)
