package server

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// usageOf is a usage answer: the 5-hour window at 55 %, the week at 30 %,
// the weekly Opus window spent.
func usageOf(now time.Time) []byte {
	rfc := func(d time.Duration) string { return `"` + now.Add(d).UTC().Format(time.RFC3339) + `"` }
	return []byte(`{"five_hour":{"utilization":55,"resets_at":` + rfc(2*time.Hour) + `},` +
		`"seven_day":{"utilization":30,"resets_at":` + rfc(72*time.Hour) + `},` +
		`"seven_day_opus":{"utilization":100,"resets_at":` + rfc(72*time.Hour) + `},"seven_day_sonnet":null}`)
}

// twoServers are two servers on one store, one fake OAuth server and one
// clock, as two replicas.
type twoServers struct {
	a, b     *harness
	st       store.Store
	clock    *fakeClock
	oauth    *fakeoauth.Server
	oauthURL string
}

func newTwoServers(t *testing.T, edit func(f *configfile.File)) twoServers {
	t.Helper()
	return newTwoServersWith(t, edit, nil)
}

// newTwoServersWith is newTwoServers with a keyring that seals.
func newTwoServersWith(t *testing.T, edit func(f *configfile.File), ring *seal.Keyring) twoServers {
	t.Helper()
	ts := twoServers{st: memstore.New(), clock: newClock()}
	ts.oauth = fakeoauth.New(fakeoauth.Options{Now: ts.clock.Now})
	opts := Options{Store: ts.st, Keyring: ring}
	ts.a = start(t, setup{clock: ts.clock, oauth: ts.oauth, edit: edit, opts: opts})
	ts.b = start(t, setup{clock: ts.clock, oauth: ts.oauth, edit: edit, opts: opts})
	ts.oauthURL = ts.a.oauthURL
	return ts
}

// addLogin adds subscription id logged in as login.
func addLogin(t *testing.T, p *authpool.Pool, id string, login fakeoauth.Login) {
	t.Helper()
	err := p.AddSubscription(t.Context(), authpool.Subscription{ID: id, Kind: authpool.KindMax20x,
		Credential: authpool.Credential(login.AccessToken), RefreshToken: authpool.Credential(login.RefreshToken),
		CredentialExpiresAt: login.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(ps []polled) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.id)
	}
	return out
}

// TestUsagePoll: a quiet OAuth subscription is polled once across two
// servers; the pool observes its 5-hour and weekly windows and takes it
// out of service for Opus, whose weekly window is spent; it is polled again
// only once quiet again. Subscriptions that cannot be polled are not.
func TestUsagePoll(t *testing.T) {
	ts := newTwoServers(t, nil)
	ctx := t.Context()
	login := ts.oauth.Mint(oauth.DefaultScopes()...)
	ts.oauth.SetUsage(login.AccessToken, usageOf(testNow))
	addLogin(t, ts.a.srv.Pool(), "max-oauth", login)
	setup := ts.oauth.MintSetupToken() // no refresh token: it cannot read the usage endpoint
	if err := ts.a.srv.Pool().AddSubscription(ctx, authpool.Subscription{ID: "max-setup", Kind: authpool.KindMax5x,
		Credential: authpool.Credential(setup.AccessToken)}); err != nil {
		t.Fatal(err)
	}

	// Both servers at once: one polls.
	var wg sync.WaitGroup
	var polls [2][]polled
	for i, h := range []*harness{ts.a, ts.b} {
		wg.Go(func() { polls[i] = h.srv.poller.round(ctx) })
	}
	wg.Wait()
	all := append(ids(polls[0]), ids(polls[1])...)
	if diff := cmp.Diff([]string{"max-oauth"}, all); diff != "" {
		t.Fatalf("polled (-want +got):\n%s", diff)
	}
	if n := ts.oauth.Count(fakeoauth.UsagePath); n != 1 {
		t.Errorf("the usage endpoint answered %d times, want 1", n)
	}
	snap, err := ts.b.srv.Pool().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(snap.Subscriptions, func(s authpool.SubscriptionStatus) bool { return s.ID == "max-oauth" })
	if got := snap.Subscriptions[i]; math.Abs(got.Block.ReportedPercent-55) > 1e-9 || math.Abs(got.Week.ReportedPercent-30) > 1e-9 {
		t.Errorf("observed block %v %%, week %v %%; want 55 and 30", got.Block.ReportedPercent, got.Week.ReportedPercent)
	}
	rec, err := ts.st.Subscription(ctx, "max-oauth")
	if err != nil {
		t.Fatal(err)
	}
	wantLimit := []store.ModelLimit{{Model: "opus", Until: testNow.Add(72 * time.Hour),
		Reason: "the weekly Opus limit is spent (100%, usage endpoint)"}}
	if diff := cmp.Diff(wantLimit, rec.ModelLimits); diff != "" {
		t.Errorf("model limits (-want +got):\n%s", diff)
	}

	// Not quiet yet: nobody polls.
	ts.clock.Advance(4 * time.Minute)
	if got := append(ids(ts.a.srv.poller.round(ctx)), ids(ts.b.srv.poller.round(ctx))...); len(got) != 0 {
		t.Errorf("polled %v 4 minutes after a poll, want none", got)
	}
	// Quiet for quietFor: polled again, once.
	ts.clock.Advance(time.Minute)
	if got := append(ids(ts.a.srv.poller.round(ctx)), ids(ts.b.srv.poller.round(ctx))...); !cmp.Equal(got, []string{"max-oauth"}) {
		t.Errorf("polled %v 5 minutes after a poll, want max-oauth once", got)
	}
}

// TestUsagePollDue: which subscriptions a round polls.
func TestUsagePollDue(t *testing.T) {
	u := &usagePoller{quietFor: 5 * time.Minute}
	now := testNow
	oauthSub := store.Subscription{ID: "max-a", Kind: "max20x", Credential: "at", RefreshToken: "rt", CredentialExpiresAt: now.Add(time.Hour)}
	with := func(change func(s *store.Subscription)) store.Subscription {
		s := oauthSub
		change(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		rec  store.Subscription
		want bool
	}{
		{"never reported", oauthSub, true},
		{"quiet for quietFor", with(func(s *store.Subscription) { s.Reported.At = now.Add(-5 * time.Minute) }), true},
		{"reported lately", with(func(s *store.Subscription) { s.Reported.At = now.Add(-4 * time.Minute) }), false},
		{"limited", with(func(s *store.Subscription) { s.Status = store.Status{State: store.Limited, Until: now.Add(time.Hour)} }), true},
		{"disabled", with(func(s *store.Subscription) { s.Status = store.Status{State: store.Disabled} }), false},
		{"no refresh token (a setup token)", with(func(s *store.Subscription) { s.RefreshToken = "" }), false},
		{"expired: the refresher's turn", with(func(s *store.Subscription) { s.CredentialExpiresAt = now }), false},
		{"no expiry", with(func(s *store.Subscription) { s.CredentialExpiresAt = time.Time{} }), true},
		{"an API key", with(func(s *store.Subscription) { s.Kind = "api" }), false},
		{"the fallback", with(func(s *store.Subscription) { s.ID = authpool.FallbackID }), false},
	} {
		if got := u.due(tc.rec, now); got != tc.want {
			t.Errorf("%s: due = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// TestUsagePollClaim: a poll that failed leaves the subscription quiet, but
// its claim keeps the other server from polling it before every - jitter.
func TestUsagePollClaim(t *testing.T) {
	ts := newTwoServers(t, nil)
	ctx := t.Context()
	login := ts.oauth.Mint(oauth.DefaultScopes()...)
	addLogin(t, ts.a.srv.Pool(), "max-oauth", login)
	ts.oauth.FailNext(fakeoauth.UsagePath, 500, `{"type":"error","error":{"type":"api_error","message":"down"}}`)
	got := ts.a.srv.poller.round(ctx)
	if len(got) != 1 || got[0].err == nil {
		t.Fatalf("the first round: %+v, want one failed poll", got)
	}
	if got := ts.b.srv.poller.round(ctx); len(got) != 0 {
		t.Errorf("the other server polled %v within the claim", ids(got))
	}
	ts.clock.Advance(4 * time.Minute) // every - jitter: the claim is over
	if got := ts.b.srv.poller.round(ctx); !cmp.Equal(ids(got), []string{"max-oauth"}) || got[0].err != nil {
		t.Errorf("after the claim: %+v, want max-oauth polled", got)
	}
	if lines := ts.a.logs.lines(t, "usage poll failed"); len(lines) != 1 || lines[0]["subscription"] != "max-oauth" {
		t.Errorf("the failure's log: %v", lines)
	}
}

// countingStore counts the rounds a poller reads.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	c.reads.Add(1)
	return c.Store.Subscriptions(ctx)
}

// TestUsagePollRuns: the poller's loop rounds every every ± jitter and
// ends with its context.
func TestUsagePollRuns(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	u := &usagePoller{store: st, every: 20 * time.Millisecond, jitter: 5 * time.Millisecond, log: discard(), now: time.Now}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		u.run(ctx)
		close(done)
	}()
	waitFor(t, "three rounds", func() bool { return st.reads.Load() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("run did not end with its context")
	}
}
