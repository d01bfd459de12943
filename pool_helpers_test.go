package authpool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// clock is a clock the test sets: pass its Now to authpool.WithClock. It is
// safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := new(clock)
	c.Set(t)
	return c
}

// Now returns the clock's time, in UTC.
func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set sets the clock to t.
func (c *clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock on by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time { return time.Unix(0, c.ns.Add(int64(d))).UTC() }

// t0 is when most tests start: a Thursday, in the middle of the fixed grid's
// 10:00 block.
var t0 = time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)

// day returns the time on 2026-11-26+d at hh:mm UTC.
func day(d, hh, mm int) time.Time { return time.Date(2026, 11, 26+d, hh, mm, 0, 0, time.UTC) }

// secret is a credential the tests look for where it must not be.
const secret = "sk-ant-oat01-SECRET-must-never-leak-4f9c"

// sub returns a valid subscription with no budget: edit sets the rest.
func sub(id string, edit ...func(*authpool.Subscription)) authpool.Subscription {
	s := authpool.Subscription{ID: id, Kind: authpool.KindMax5x, Credential: authpool.Credential(secret + "-" + id)}
	for _, e := range edit {
		e(&s)
	}
	return s
}

// budgets sets a subscription's weekly and block budgets.
func budgets(weekly, block float64) func(*authpool.Subscription) {
	return func(s *authpool.Subscription) { s.WeeklyBudgetUSD, s.BlockBudgetUSD = weekly, block }
}

// maxClients sets a subscription's maximum.
func maxClients(n int) func(*authpool.Subscription) {
	return func(s *authpool.Subscription) { s.MaxClients = n }
}

// newPool returns a pool on clk, closed when the test ends, on a store of
// its own (authpool.NewTestStore) unless opts give one.
func newPool(t testing.TB, cfg authpool.Config, clk *clock, opts ...authpool.Option) *authpool.Pool {
	t.Helper()
	opts = append([]authpool.Option{authpool.WithStore(authpool.NewTestStore(t)), authpool.WithClock(clk.Now)}, opts...)
	p, err := authpool.New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// bubble runs f in a synctest bubble, as synctest.Test does; on Redis it
// skips t instead. A goroutine waiting for the network is not durably
// blocked, so the bubble's clock and synctest.Wait cannot count on it, and
// go-redis's connection pool shares channels between the bubble and the
// rest of the process, which is a fatal error ("receive on synctest
// channel from outside bubble").
func bubble(t *testing.T, f func(*testing.T)) {
	t.Helper()
	authpool.SkipOnRedis(t, "a synctest bubble: go-redis's network I/O and connection pool do not work inside one")
	synctest.Test(t, f)
}

// subs returns a config with the given subscriptions.
func subs(ss ...authpool.Subscription) authpool.Config { return authpool.Config{Subscriptions: ss} }

// strict returns cfg with budgets as caps (Config.StrictBudgets): a spent
// block or week keeps a subscription out, as the tests of when it comes
// back expect.
func strict(cfg authpool.Config) authpool.Config {
	cfg.StrictBudgets = true
	return cfg
}

// allocate allocates a client, failing the test on an error.
func allocate(t testing.TB, p *authpool.Pool, clientID string) authpool.Allocation {
	t.Helper()
	a, err := p.Allocate(context.Background(), clientID)
	if err != nil {
		t.Fatalf("Allocate(%q): %v", clientID, err)
	}
	return a
}

// spend records a usage of usd at the clock's time for the client.
func spend(t testing.TB, p *authpool.Pool, clk *clock, clientID string, usd float64) {
	t.Helper()
	if err := p.Record(context.Background(), clientID, authpool.Usage{Time: clk.Now(), CostUSD: usd}); err != nil {
		t.Fatalf("Record(%q, $%v): %v", clientID, usd, err)
	}
}

// snapshot takes a snapshot, failing the test on an error.
func snapshot(t testing.TB, p *authpool.Pool) authpool.Snapshot {
	t.Helper()
	s, err := p.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return s
}

// status returns the subscription id of a snapshot.
func status(t testing.TB, s authpool.Snapshot, id string) authpool.SubscriptionStatus {
	t.Helper()
	for _, st := range s.Subscriptions {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("snapshot has no subscription %q", id)
	return authpool.SubscriptionStatus{}
}

// session returns the client's session in a snapshot, and whether it has one.
func session(s authpool.Snapshot, clientID string) (authpool.SessionStatus, bool) {
	for _, ss := range s.Sessions {
		if ss.ClientID == clientID {
			return ss, true
		}
	}
	return authpool.SessionStatus{}, false
}

// pin allocates the clients on subscription id: it disables every other
// active subscription meanwhile and enables them again.
func pin(t testing.TB, p *authpool.Pool, id string, clients ...string) {
	t.Helper()
	ctx := context.Background()
	all, err := p.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, s := range all {
		if s.ID != id && s.Status.State == authpool.Active {
			others = append(others, s.ID)
			if err := p.Disable(ctx, s.ID, "pinning"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range clients {
		if a := allocate(t, p, c); a.SubscriptionID != id {
			t.Fatalf("pin: Allocate(%q) went to %q, want %q", c, a.SubscriptionID, id)
		}
	}
	for _, o := range others {
		if err := p.Enable(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

// exhausted returns err as an *ExhaustedError, failing the test if it is not
// one matching ErrExhausted.
func exhausted(t testing.TB, err error) *authpool.ExhaustedError {
	t.Helper()
	if !errors.Is(err, authpool.ErrExhausted) {
		t.Fatalf("error %v does not match ErrExhausted", err)
	}
	var e *authpool.ExhaustedError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *ExhaustedError", err)
	}
	return e
}

// The defaults of Config the tests count on, as its field docs state them.
// TestDefaults holds them to Config.WithDefaults.
const (
	defaultMaxClients       = 15
	defaultBlockHours       = 5
	defaultIdleAfter        = 5 * time.Minute
	defaultStaleAfter       = 30 * time.Minute
	defaultMinGapUSD        = 5.0
	defaultMaxMoves         = 3
	defaultRememberUsageIDs = store.WeekHours * time.Hour
	defaultRefreshInterval  = time.Second
)

func TestDefaults(t *testing.T) {
	c := authpool.Config{}.WithDefaults()
	got := []any{c.MaxClients, c.Block.Hours, time.Duration(c.Sessions.IdleAfter), time.Duration(c.Sessions.StaleAfter),
		c.Rebalance.MinGapUSD, c.Rebalance.MaxMoves, time.Duration(c.RememberUsageIDs), time.Duration(c.RefreshInterval)}
	want := []any{defaultMaxClients, defaultBlockHours, defaultIdleAfter, defaultStaleAfter,
		defaultMinGapUSD, defaultMaxMoves, time.Duration(defaultRememberUsageIDs), defaultRefreshInterval}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Config{}.WithDefaults() (-the tests' defaults +got):\n%s", diff)
	}
}
