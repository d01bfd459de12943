package authpool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/seal"
	"github.com/google/go-cmp/cmp"
)

// The tests of credential refresh among pools sharing a store, and across
// a restart; they run on memstore and, through TestPoolTestsOnRedis, on
// Redis.

// TestRefreshFailureIsRetriedAfterTheClaimLapses: a failed refresh is not
// tried again while its claim lasts (a minute), then is, by the first pool
// that comes; the failure is an event without the credential.
func TestRefreshFailureIsRetriedAfterTheClaimLapses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	st := authpool.NewTestStore(t)
	fail := true
	var mu sync.Mutex
	r := &refresher{answer: func(id string, current authpool.Credential) (authpool.Credential, time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return "", time.Time{}, errors.New("token endpoint: 503")
		}
		return current + "+", clk.Now().Add(8 * time.Hour), nil
	}}
	rec := &recorder{}
	cfg := subs(sub("max-a", expires(t0.Add(5*time.Minute))))
	p1 := newPool(t, cfg, clk, authpool.WithStore(st), authpool.WithRefresher(r.refresh, 10*time.Minute), authpool.WithNotifier(rec))
	p2 := newPool(t, cfg, clk, authpool.WithStore(st), authpool.WithRefresher(r.refresh, 10*time.Minute))

	steps := []struct {
		what      string
		at        time.Time
		pool      *authpool.Pool
		fail      bool
		wantCalls int
		wantErr   bool
	}{
		{"p1 tries and fails", t0, p1, true, 1, true},
		{"p2, while p1's claim lasts: nothing", t0.Add(59 * time.Second), p2, true, 0, false},
		{"p1 again, while its claim lasts: nothing", t0.Add(59 * time.Second), p1, true, 0, false},
		{"p2 once the claim lapsed: tries and succeeds", t0.Add(time.Minute), p2, false, 1, false},
		{"p1 afterwards: nothing left to do", t0.Add(2 * time.Minute), p1, false, 0, false},
	}
	for _, s := range steps {
		clk.Set(s.at)
		mu.Lock()
		fail = s.fail
		mu.Unlock()
		report, err := s.pool.RefreshCredentials(ctx)
		if got := len(r.take()); got != s.wantCalls || (err != nil) != s.wantErr {
			t.Errorf("%s: %d calls, error %v (report %+v); want %d calls, error %t", s.what, got, err, report, s.wantCalls, s.wantErr)
		}
	}
	for _, p := range []*authpool.Pool{p1, p2} {
		if c, exp := credentialOf(t, p, "max-a"); c != secret+"-max-a+" || !exp.Equal(t0.Add(time.Minute+8*time.Hour)) {
			t.Errorf("max-a's credential is %q, expiring %v; want the refreshed one", c, exp)
		}
	}

	if err := p1.Close(ctx); err != nil { // delivers the events
		t.Fatal(err)
	}
	want := []string{"refreshFailed 2026-11-26T12:30:00Z subscription=max-a expires 2026-11-26T12:35:00Z: " +
		`authpool: refresh the credential of "max-a" (expires 2026-11-26T12:35:00Z): token endpoint: 503`}
	rec.mu.Lock()
	events := rec.events
	rec.mu.Unlock()
	if diff := cmp.Diff(want, rec.all()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if len(events) == 1 {
		e := events[0]
		if e.Credential == nil || !e.Credential.RetryAt.Equal(t0.Add(time.Minute)) || !e.Credential.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
			t.Errorf("event detail = %+v, want expiresAt 12:35 and retryAt 12:31", e.Credential)
		}
		js, err := json.Marshal(e)
		if err != nil || strings.Contains(string(js), secret) || !strings.Contains(string(js), `"type":"refreshFailed"`) {
			t.Errorf("the event as JSON: %s, %v; want its type and no credential", js, err)
		}
	}
}

// TestRefreshOncePerExpiryAcrossPools: pools sharing a store, each
// refreshing from several goroutines at once, call the RefreshFunc once per
// subscription and expiry between them, and every pool serves the new
// credentials afterwards.
func TestRefreshOncePerExpiryAcrossPools(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	st := authpool.NewTestStore(t)
	slow := func(id string, current authpool.Credential) (authpool.Credential, time.Time, error) {
		time.Sleep(20 * time.Millisecond) // a token endpoint's round trip: the other callers overlap it
		return renew(clk, 8*time.Hour)(id, current)
	}
	r := &refresher{answer: slow}
	cfg := subs(sub("max-a", expires(t0.Add(5*time.Minute))), sub("max-b", expires(t0.Add(9*time.Minute))),
		sub("max-c", expires(t0.Add(time.Hour))), sub("max-d"))
	cfg.RefreshInterval = authpool.Duration(time.Hour) // the pools see the change only when they read the store again
	const pools, callers = 4, 4
	var ps []*authpool.Pool
	for range pools {
		ps = append(ps, newPool(t, cfg, clk, authpool.WithStore(st), authpool.WithRefresher(r.refresh, 10*time.Minute)))
	}
	race := func() (refreshed int) {
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			start = make(chan struct{})
		)
		for i, p := range ps {
			for j := range callers {
				wg.Go(func() {
					<-start
					var report []authpool.CredentialRefresh
					var err error
					if (i+j)%2 == 0 {
						report, err = p.RefreshCredentials(ctx)
					} else {
						var rb authpool.RebalanceReport
						rb, err = p.Rebalance(ctx)
						report = rb.Credentials
					}
					if err != nil {
						t.Errorf("pool %d: %v", i, err)
					}
					mu.Lock()
					refreshed += len(report) - len(failures(report))
					mu.Unlock()
				})
			}
		}
		close(start)
		wg.Wait()
		return refreshed
	}

	if n := race(); n != 2 {
		t.Errorf("the reports hold %d refreshes, want 2 (max-a and max-b, once each)", n)
	}
	want := []refreshCall{{"max-a", secret + "-max-a"}, {"max-b", secret + "-max-b"}}
	if diff := cmp.Diff(want, sortedCalls(r.take())); diff != "" {
		t.Errorf("RefreshFunc calls (-want +got):\n%s", diff)
	}
	for i, p := range ps {
		for _, id := range []string{"max-a", "max-b"} {
			if c, exp := credentialOf(t, p, id); c != secret+"-"+id+"+" || !exp.Equal(t0.Add(8*time.Hour)) {
				t.Errorf("pool %d: %s's credential is %q, expiring %v; want the refreshed one", i, id, c, exp)
			}
		}
	}

	// The next expiries: max-c's, then max-a's and max-b's new ones.
	clk.Set(t0.Add(55 * time.Minute))
	race()
	if diff := cmp.Diff([]refreshCall{{"max-c", secret + "-max-c"}}, r.take()); diff != "" {
		t.Errorf("at 13:25: RefreshFunc calls (-want +got):\n%s", diff)
	}
	clk.Set(t0.Add(8*time.Hour - 5*time.Minute))
	race()
	want = []refreshCall{{"max-a", secret + "-max-a+"}, {"max-b", secret + "-max-b+"}}
	if diff := cmp.Diff(want, sortedCalls(r.take())); diff != "" {
		t.Errorf("at 20:25: RefreshFunc calls (-want +got):\n%s", diff)
	}
}

// sortedCalls returns calls ordered by subscription.
func sortedCalls(calls []refreshCall) []refreshCall {
	return slices.SortedFunc(slices.Values(calls), func(a, b refreshCall) int { return strings.Compare(a.ID, b.ID) })
}

// TestRefreshKeepsClients: clients on a refreshed subscription keep their
// sessions and get the new credential at their next Allocate, in every
// pool sharing the store; a sealing pool's store holds only sealed values.
func TestRefreshKeepsClients(t *testing.T) {
	t.Parallel()
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock(t0)
			inner := authpool.NewTestStore(t)
			opts := []authpool.Option{authpool.WithStore(inner)}
			if sealed {
				opts = append(opts, authpool.WithSealer(sealKeyring(t, "k1")))
			}
			r := &refresher{answer: func(id string, _ authpool.Credential) (authpool.Credential, time.Time, error) {
				return authpool.Credential("sk-ant-oat01-NEW-" + id), clk.Now().Add(8 * time.Hour), nil
			}}
			cfg := subs(sub("max-a", maxClients(3), expires(t0.Add(2*time.Minute))), sub("max-b", maxClients(3)))
			cfg.RefreshInterval = authpool.Duration(time.Minute)
			p1 := newPool(t, cfg, clk, append(opts, authpool.WithRefresher(r.refresh, 10*time.Minute))...)
			p2 := newPool(t, cfg, clk, opts...) // no refresher of its own
			pin(t, p1, "max-a", "alice", "bob")
			pin(t, p2, "max-a", "carol")

			if _, err := p1.RefreshCredentials(ctx); err != nil {
				t.Fatal(err)
			}
			check := func(p *authpool.Pool, client string) {
				t.Helper()
				a := allocate(t, p, client)
				if a.SubscriptionID != "max-a" || a.Outcome != authpool.OutcomeSticky || a.Credential.Reveal() != "sk-ant-oat01-NEW-max-a" {
					t.Errorf("Allocate(%s) after the refresh = %s %s (%q), want sticky on max-a with the new credential",
						client, a.SubscriptionID, a.Outcome, a.Credential.Reveal())
				}
			}
			check(p1, "alice")
			check(p1, "bob")
			clk.Advance(time.Minute) // p2 reads the store again
			check(p2, "carol")
			if got := status(t, snapshot(t, p2), "max-a").Clients; got != 3 {
				t.Errorf("max-a holds %d clients after the refresh, want the 3 it had", got)
			}

			if got := status(t, snapshot(t, p1), "max-a").CredentialExpiresAt; !got.Equal(t0.Add(8 * time.Hour)) {
				t.Errorf("Snapshot says max-a's credential expires at %v, want %v", got, t0.Add(8*time.Hour))
			}
			rec, err := inner.Subscription(ctx, "max-a")
			if err != nil {
				t.Fatal(err)
			}
			stored := rec.Credential.Reveal()
			if !rec.CredentialExpiresAt.Equal(t0.Add(8 * time.Hour)) {
				t.Errorf("the store says max-a's credential expires at %v, want %v", rec.CredentialExpiresAt, t0.Add(8*time.Hour))
			}
			switch {
			case sealed && (!seal.IsSealed(stored) || strings.Contains(stored, "NEW") || strings.Contains(stored, secret[8:16])):
				t.Errorf("a sealing pool stored max-a's refreshed credential as %q, want it sealed", stored)
			case !sealed && stored != "sk-ant-oat01-NEW-max-a":
				t.Errorf("a plain pool stored max-a's refreshed credential as %q", stored)
			}
		})
	}
}

// TestNewKeepsARefreshedCredential: a pool made again with its Config (a
// restart) keeps a credential refreshed since, rather than the Config's
// older one; a Config credential that expires later wins.
func TestNewKeepsARefreshedCredential(t *testing.T) {
	t.Parallel()
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%t", sealed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock(t0)
			opts := []authpool.Option{authpool.WithStore(authpool.NewTestStore(t))}
			if sealed {
				opts = append(opts, authpool.WithSealer(sealKeyring(t, "k1")))
			}
			cfg := subs(sub("max-a", expires(t0.Add(time.Minute))))
			p := newPool(t, cfg, clk, opts...)
			if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: "sk-ant-oat01-refreshed", ExpiresAt: t0.Add(8 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				what     string
				cfg      authpool.Subscription
				wantCred string
				wantExp  time.Time
			}{
				{"the Config's credential expires first: the refreshed one stays", sub("max-a", expires(t0.Add(time.Minute))),
					"sk-ant-oat01-refreshed", t0.Add(8 * time.Hour)},
				{"the Config's credential has no expiry: it wins", sub("max-a"), secret + "-max-a", time.Time{}},
				{"the Config's credential expires later: it wins",
					sub("max-a", func(s *authpool.Subscription) { s.Credential = "sk-ant-oat01-config-2" }, expires(t0.Add(9*time.Hour))),
					"sk-ant-oat01-config-2", t0.Add(9 * time.Hour)},
			}
			for _, s := range steps {
				again := newPool(t, subs(s.cfg), clk, opts...)
				if c, exp := credentialOf(t, again, "max-a"); c != s.wantCred || !exp.Equal(s.wantExp) {
					t.Errorf("%s: credential %q expiring %v, want %q expiring %v", s.what, c, exp, s.wantCred, s.wantExp)
				}
			}
		})
	}
}
