package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// The tests of this file put the proxy between a pool and
// fakeanthropic.CLI, which sends, retries and prints as Claude Code 2.1.332
// does: they show what a Claude Code user sees and does.

// movingClock is the pool's clock where time passes: the waits of the fake
// Claude Code move it, and nothing sleeps.
type movingClock struct{ ns atomic.Int64 }

func newMovingClock(t time.Time) *movingClock {
	c := &movingClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *movingClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *movingClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// ccSetup is a proxy in front of a pool on a moving clock.
type ccSetup struct {
	*front
	clk   *movingClock
	proxy *proxy.Proxy
	ps    *httptest.Server
}

// ccCallers: bob, without a cap; carol, capped at $0.085 over 5 hours.
var ccCallers = []proxy.Caller{{ID: "bob", Key: keyBob}, {ID: "carol", Key: keyAlice, CapUSD: 0.085}}

// newCCSetup serves a proxy for callers in front of a pool of subs; wrap,
// if given, wraps the proxy's handler.
func newCCSetup(t *testing.T, subs []authpool.Subscription, callers []proxy.Caller, wrap ...func(http.Handler) http.Handler) *ccSetup {
	t.Helper()
	clk := newMovingClock(frontNow)
	f := newFrontClock(t, authpool.Config{Subscriptions: subs}, clk.Now)
	proxy, err := proxy.New(f.tr, callers, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = proxy
	for _, w := range wrap {
		h = w(h)
	}
	ps := httptest.NewServer(h)
	t.Cleanup(ps.Close)
	return &ccSetup{front: f, clk: clk, proxy: proxy, ps: ps}
}

// cli returns a Claude Code of auth mode auth with the caller's key key,
// asking for the test model (priced), whose waits are recorded in waits and
// move the clock.
func (s *ccSetup) cli(auth fakeanthropic.CLIAuth, key string) (*fakeanthropic.CLI, *[]time.Duration) {
	var waits []time.Duration
	return &fakeanthropic.CLI{
		BaseURL: s.ps.URL, Auth: auth, Key: key, Model: model, Client: s.ps.Client(),
		Wait: func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			s.clk.Advance(d)
			return nil
		},
		Now: s.clk.Now,
	}, &waits
}

// authName names an auth mode for test names.
func authName(a fakeanthropic.CLIAuth) string {
	return [...]string{"api-key", "auth-token", "oauth"}[a]
}

// When the pool has no place, Claude Code is told whether and how long to
// wait: it waits a short return out and gets its answer, gives up at once
// on a long one, and in every case prints why and when.
func TestProxyExhaustedClaudeCode(t *testing.T) {
	ctx := context.Background()
	limit := func(id string, d time.Duration) func(*authpool.Pool) error {
		return func(p *authpool.Pool) error { return p.MarkLimited(ctx, id, frontNow.Add(d), "test") }
	}
	disable := func(id string) func(*authpool.Pool) error {
		return func(p *authpool.Pool) error { return p.Disable(ctx, id, "test") }
	}
	const (
		rejected = "API Error: Request rejected (429) · "
		limiting = "API Error: Server is temporarily limiting requests (not your usage limit) · "
	)
	for _, tc := range []struct {
		name        string
		subs        []authpool.Subscription
		out         []func(*authpool.Pool) error
		retryAfter  string // the first answer's
		shouldRetry string
		waits       []time.Duration
		served      string // the credential that served the turn; "" for none
		message     string // of the pool's 429, when the turn fails
	}{{
		name: "back in 7 s: waited", subs: frontSubs[:1], out: []func(*authpool.Pool) error{limit("sub-a", 7*time.Second)},
		retryAfter: "7", shouldRetry: "true", waits: []time.Duration{7 * time.Second}, served: credA,
	}, {
		name: "back in 60 s: waited", subs: frontSubs[:1], out: []func(*authpool.Pool) error{limit("sub-a", time.Minute)},
		retryAfter: "60", shouldRetry: "true", waits: []time.Duration{time.Minute}, served: credA,
	}, {
		name: "back in 61 s: not waited", subs: frontSubs[:1], out: []func(*authpool.Pool) error{limit("sub-a", 61*time.Second)},
		retryAfter: "61", shouldRetry: "false",
		message: "authpool: the pool's one subscription refuses the request (1 limited); the first is expected back at 10:02 UTC (in 1 min 1 s)",
	}, {
		name: "back in 2 h: not waited", subs: frontSubs[:1], out: []func(*authpool.Pool) error{limit("sub-a", 2*time.Hour)},
		retryAfter: "7200", shouldRetry: "false",
		message: "authpool: the pool's one subscription refuses the request (1 limited); the first is expected back at 12:00 UTC (in 2 h)",
	}, {
		name: "the first of three back in 50 s", subs: frontSubs,
		out:        []func(*authpool.Pool) error{limit("sub-a", 2*time.Hour), disable("sub-b"), limit("sub-c", 50*time.Second)},
		retryAfter: "50", shouldRetry: "true", waits: []time.Duration{50 * time.Second}, served: keyC,
	}, {
		name: "all disabled: the operator must act", subs: frontSubs[:2], out: []func(*authpool.Pool) error{disable("sub-a"), disable("sub-b")},
		shouldRetry: "false",
		message:     "authpool: the pool's 2 subscriptions all refuse the request (2 disabled); none comes back by itself: the pool's operator must enable a subscription or add one",
	}} {
		for _, auth := range []fakeanthropic.CLIAuth{fakeanthropic.AuthAPIKey, fakeanthropic.AuthOAuth} {
			t.Run(tc.name+"/"+authName(auth), func(t *testing.T) {
				t.Parallel()
				s := newCCSetup(t, tc.subs, ccCallers)
				for _, out := range tc.out {
					if err := out(s.pool); err != nil {
						t.Fatal(err)
					}
				}
				cli, waits := s.cli(auth, keyBob)
				turn, err := cli.Session().Turn(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				first := turn.Attempts[0]
				if first.Status != 429 || first.Header.Get("Retry-After") != tc.retryAfter || first.Header.Get("X-Should-Retry") != tc.shouldRetry {
					t.Errorf("first answer %d, retry-after %q, x-should-retry %q; want 429, %q, %q", first.Status,
						first.Header.Get("Retry-After"), first.Header.Get("X-Should-Retry"), tc.retryAfter, tc.shouldRetry)
				}
				if diff := cmp.Diff(tc.waits, *waits); diff != "" {
					t.Errorf("Claude Code's waits (-want +got):\n%s", diff)
				}
				var want string
				switch {
				case tc.served != "":
					want = fakeanthropic.DefaultText
					if diff := cmp.Diff([]string{tc.served}, s.credentials()); diff != "" {
						t.Errorf("credentials the upstream saw (-want +got):\n%s", diff)
					}
				case auth == fakeanthropic.AuthOAuth:
					want = limiting + tc.message
				default:
					want = rejected + tc.message
				}
				if turn.Shown != want {
					t.Errorf("Claude Code shows\n%q\nwant\n%q", turn.Shown, want)
				}
			})
		}
	}
}

// closeCounter counts the upstream answers and those whose bodies were
// closed.
type closeCounter struct {
	next           http.RoundTripper
	opened, closed atomic.Int64
}

func (c *closeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	resp.Body = &countedBody{ReadCloser: resp.Body, closed: &c.closed}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	closed *atomic.Int64
	once   sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.closed.Add(1) })
	return b.ReadCloser.Close()
}

// A request fails over past one retry: up to MaxAttempts subscriptions,
// each failure told to the pool; the caller gets the last answer when
// they are all spent, and every abandoned answer is closed.
func TestProxyFailsOverUpToMaxAttempts(t *testing.T) {
	reset := frontNow.Add(2 * time.Hour)
	subs := append(slices.Clone(frontSubs), subD)
	for _, tc := range []struct {
		name        string
		maxAttempts int // 0: the default
		quotas      int // the first answers that are quota 429s
		tried       int // the subscriptions the upstream saw
		status      int
	}{
		{name: "two quotas, the third serves", quotas: 2, tried: 3, status: 200},
		{name: "three quotas: the third's answer", quotas: 3, tried: 3, status: 429},
		{name: "three quotas, four attempts: the fourth serves", maxAttempts: 4, quotas: 3, tried: 4, status: 200},
		{name: "one attempt: no fail-over", maxAttempts: 1, quotas: 1, tried: 1, status: 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newCCSetup(t, subs, ccCallers)
			counter := &closeCounter{next: s.tr.Base}
			s.tr.Base, s.tr.MaxAttempts = counter, tc.maxAttempts
			s.up.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
				if r.Seq <= tc.quotas {
					return fakeanthropic.Quota429(frontNow, reset)
				}
				return fakeanthropic.OK(fakeanthropic.DefaultUsage)
			})
			cli, waits := s.cli(fakeanthropic.AuthAPIKey, keyBob)
			turn, err := cli.Session().Turn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if turn.Status != tc.status || len(turn.Attempts) != 1 || len(*waits) != 0 {
				t.Errorf("Claude Code got %d after %d attempts (waits %v); want %d at once", turn.Status, len(turn.Attempts), *waits, tc.status)
			}
			creds := s.credentials()
			if len(creds) != tc.tried || len(slices.Compact(slices.Sorted(slices.Values(creds)))) != tc.tried {
				t.Errorf("the upstream saw %d requests on %d subscriptions; want %d on as many", len(creds),
					len(slices.Compact(slices.Sorted(slices.Values(creds)))), tc.tried)
			}
			limited := 0
			for _, sub := range subs {
				if s.sub(t, sub.ID).Status.State == authpool.Limited {
					limited++
				}
			}
			if limited != min(tc.quotas, tc.tried) {
				t.Errorf("%d subscriptions limited; want %d", limited, min(tc.quotas, tc.tried))
			}
			if o, c := counter.opened.Load(), counter.closed.Load(); o != int64(tc.tried) || c != o {
				t.Errorf("%d upstream answers, %d closed; want %d, all closed", o, c, tc.tried)
			}
		})
	}
}

// A capped caller's standing reaches Claude Code in OAuth mode (the
// warning), and the cap's 429 reads "You've hit your limit" there rather
// than "not your usage limit"; with a key, the message says when and what
// to do. A cap that frees within a minute says so, and Claude Code with a
// key waits for it (in OAuth mode it never retries a usage limit).
func TestProxyCapClaudeCode(t *testing.T) {
	for _, tc := range []struct {
		name        string
		auth        fakeanthropic.CLIAuth
		late        time.Duration // how long after the spending the capped turn comes
		retryAfter  string
		shouldRetry string
		waits       []time.Duration
		shown       string
	}{{
		name: "oauth", auth: fakeanthropic.AuthOAuth, retryAfter: "18000", shouldRetry: "false",
		shown: "You've hit your limit · resets 3pm (UTC)",
	}, {
		name: "api-key", auth: fakeanthropic.AuthAPIKey, retryAfter: "18000", shouldRetry: "false",
		shown: "API Error: Request rejected (429) · authpool: you have used your $0.085 cap for 5 h; it frees up at 15:00 UTC (in 5 h): wait, or ask the pool's operator for a larger cap",
	}, {
		name: "frees in 30 s, oauth", auth: fakeanthropic.AuthOAuth, late: 4*time.Hour + 59*time.Minute + 30*time.Second,
		retryAfter: "30", shouldRetry: "true",
		shown: "You've hit your limit · resets 3pm (UTC)",
	}, {
		name: "frees in 30 s, api-key", auth: fakeanthropic.AuthAPIKey, late: 4*time.Hour + 59*time.Minute + 30*time.Second,
		retryAfter: "30", shouldRetry: "true", waits: []time.Duration{30 * time.Second},
		shown: fakeanthropic.DefaultText,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newCCSetup(t, frontSubs, ccCallers)
			cli, waits := s.cli(tc.auth, keyAlice)
			session := cli.Session()
			// Each turn costs $0.0408075: 0 %, 48 %, 96 % of $0.085 before it.
			wantNotice := []string{"", "", "You've used 96% of your usage credits · resets 3pm (UTC)"}
			for i, notice := range wantNotice {
				turn, err := session.Turn(t.Context())
				if err != nil || turn.Status != 200 {
					t.Fatalf("turn %d: %d, %v", i, turn.Status, err)
				}
				if tc.auth == fakeanthropic.AuthAPIKey {
					notice = "" // the unified headers are not read
				}
				if turn.Notice != notice {
					t.Errorf("turn %d: notice %q; want %q", i, turn.Notice, notice)
				}
			}
			s.clk.Advance(tc.late)
			turn, err := session.Turn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			first := turn.Attempts[0]
			if first.Status != 429 || first.Header.Get("Retry-After") != tc.retryAfter || first.Header.Get("X-Should-Retry") != tc.shouldRetry {
				t.Errorf("the cap's answer %d, retry-after %q, x-should-retry %q; want 429, %q, %q", first.Status,
					first.Header.Get("Retry-After"), first.Header.Get("X-Should-Retry"), tc.retryAfter, tc.shouldRetry)
			}
			if turn.Shown != tc.shown {
				t.Errorf("Claude Code shows\n%q\nwant\n%q", turn.Shown, tc.shown)
			}
			if diff := cmp.Diff(tc.waits, *waits); diff != "" {
				t.Errorf("Claude Code's waits (-want +got):\n%s", diff)
			}
		})
	}
}

// A caller configured sessionless "spread" has each request without a
// session placed on its own: concurrent ones spread over the
// subscriptions, and none holds a place once its response has ended (its
// usage recorded), even a stream cut short. A sticky caller stays one
// client.
func TestProxySessionlessSpread(t *testing.T) {
	callers := []proxy.Caller{
		{ID: "svc", Key: keyAlice, Sessionless: proxy.SessionlessSpread},
		{ID: "bob", Key: keyBob, Sessionless: proxy.SessionlessSticky},
	}
	// setup returns a proxy whose handler reports each request it is done
	// with on done, and an upstream that holds each stream before its
	// message_stop (reporting on held) until release is closed.
	setup := func(t *testing.T) (s *ccSetup, done, held chan struct{}, release chan struct{}) {
		done, held, release = make(chan struct{}, 16), make(chan struct{}, 16), make(chan struct{})
		s = newCCSetup(t, frontSubs, callers, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() { done <- struct{}{} }()
				next.ServeHTTP(w, r)
			})
		})
		resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
		resp.BeforeEvent = func(ctx context.Context, event string) {
			if event != "message_stop" {
				return
			}
			held <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		s.up.SetDefault(resp)
		return s, done, held, release
	}
	wait := func(t *testing.T, c chan struct{}, n int, what string) {
		t.Helper()
		for i := range n {
			select {
			case <-c:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: %d of %d", what, i, n)
			}
		}
	}
	sessions := func(t *testing.T, s *ccSetup, prefix string) map[string]string {
		snap, err := s.pool.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, ss := range snap.Sessions {
			if strings.HasPrefix(ss.ClientID, prefix) {
				out[ss.ClientID] = ss.SubscriptionID
			}
		}
		return out
	}
	recorded := func(t *testing.T, s *ccSetup) float64 {
		var sum float64
		for _, sub := range frontSubs {
			sum += s.sub(t, sub.ID).Week.CostUSD
		}
		return sum
	}

	t.Run("concurrent requests spread, then leave", func(t *testing.T) {
		t.Parallel()
		s, done, held, release := setup(t)
		client := sdk(s.ps.URL, s.ps.Client().Transport, &wireTee{}, option.WithAPIKey(keyAlice))
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := call(t.Context(), client, true)
				errs <- err
			}()
		}
		wait(t, held, 3, "streams held")
		on := sessions(t, s, "svc/")
		subsUsed := slices.Sorted(func(yield func(string) bool) {
			for _, sub := range on {
				if !yield(sub) {
					return
				}
			}
		})
		if diff := cmp.Diff([]string{"sub-a", "sub-b", "sub-c"}, subsUsed); diff != "" {
			t.Errorf("the three requests' clients are on (-want +got):\n%s", diff)
		}
		close(release)
		for range 3 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		wait(t, done, 3, "requests done")
		if left := sessions(t, s, "svc"); len(left) != 0 {
			t.Errorf("sessions left after the responses: %v", left)
		}
		for _, sub := range frontSubs {
			if n := s.sub(t, sub.ID).Clients; n != 0 {
				t.Errorf("%s holds %d clients; want none", sub.ID, n)
			}
		}
		if got, want := recorded(t, s), 3*defaultCost; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("recorded $%v; want $%v", got, want)
		}
	})

	t.Run("a stream cut short still leaves", func(t *testing.T) {
		t.Parallel()
		s, done, held, release := setup(t)
		defer close(release)
		client := sdk(s.ps.URL, s.ps.Client().Transport, &wireTee{}, option.WithAPIKey(keyAlice))
		ctx, cancel := context.WithCancel(t.Context())
		errc, delta := make(chan error, 1), make(chan struct{})
		go func() {
			// Read up to the message_delta, so that the proxy has read the
			// usage before the client goes away.
			st := client.Messages.NewStreaming(ctx, params)
			defer st.Close()
			for st.Next() {
				if st.Current().Type == "message_delta" {
					close(delta)
				}
			}
			errc <- st.Err()
		}()
		wait(t, held, 1, "stream held")
		<-delta
		if on := sessions(t, s, "svc/"); len(on) != 1 {
			t.Errorf("sessions while streaming: %v; want one", on)
		}
		cancel()
		<-errc
		wait(t, done, 1, "request done")
		if left := sessions(t, s, "svc"); len(left) != 0 {
			t.Errorf("sessions left after the cut: %v", left)
		}
		if got := recorded(t, s); got <= 0 {
			t.Errorf("recorded $%v; want what the stream showed (its input)", got)
		}
	})

	t.Run("sticky: one client", func(t *testing.T) {
		t.Parallel()
		s, done, _, release := setup(t)
		close(release)
		client := sdk(s.ps.URL, s.ps.Client().Transport, &wireTee{}, option.WithAPIKey(keyBob))
		for range 2 {
			if _, err := call(t.Context(), client, false); err != nil {
				t.Fatal(err)
			}
		}
		wait(t, done, 2, "requests done")
		if got := s.session(t, "bob").Requests; got != 2 {
			t.Errorf("bob: %d requests; want 2 on one client", got)
		}
	})

	t.Run("a session id keeps its client", func(t *testing.T) {
		t.Parallel()
		s, done, _, release := setup(t)
		close(release)
		cli, _ := s.cli(fakeanthropic.AuthAPIKey, keyAlice)
		session := cli.Session()
		for range 2 {
			if turn, err := session.Turn(t.Context()); err != nil || turn.Status != 200 {
				t.Fatalf("turn: %d, %v", turn.Status, err)
			}
		}
		wait(t, done, 2, "requests done")
		if got := s.session(t, "svc/"+session.ID).Requests; got != 2 {
			t.Errorf("svc's session: %d requests; want 2", got)
		}
	})
}
