package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// update makes golden-file tests rewrite their files: go test -update.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// t0 is when the tests' clock starts: a Thursday, in the fixed grid's 10:00
// block.
var t0 = time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)

// flakyStore is a memstore that fails (store.ErrUnavailable) while failing
// is set, and whose Subscriptions waits for its context to end while
// hanging is set. Its Sessions fails while noSessions is set.
type flakyStore struct {
	*memstore.Store
	failing, hanging, noSessions atomic.Bool
}

func (s *flakyStore) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	if s.noSessions.Load() {
		return nil, fmt.Errorf("test: sessions read: %w", store.ErrUnavailable)
	}
	return s.Store.Sessions(ctx, q)
}

func (s *flakyStore) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	switch {
	case s.hanging.Load():
		<-ctx.Done()
		return nil, fmt.Errorf("test: %w", ctx.Err())
	case s.failing.Load():
		return nil, fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return s.Store.Subscriptions(ctx)
}

// scenarioPool returns a pool on the fixed grid, at 13:00 after this
// traffic from 12:30: alice joins s-a (Max 20x, "Max A", at most 3
// clients, $100 a block, $1,000 a week), is rate limited on her second
// call, and spends $40, recorded twice under one ID; bob joins s-b (Pro, at
// most 1 client, $10 a block, $50 a week), which is then limited until
// 14:00; s-a is disabled; carol goes to the fallback and spends $25 of its
// $20 day, at an estimated cost (a model without a price of its own); dave
// finds nothing (exhausted).
func scenarioPool(t *testing.T) (*authpool.Pool, *flakyStore) {
	t.Helper()
	ctx := context.Background()
	var now atomic.Int64
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	st := &flakyStore{Store: memstore.New()}
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "s-a", Name: "Max A", Kind: authpool.KindMax20x, Credential: "sk-test-a",
				WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100, MaxClients: 3},
			{ID: "s-b", Kind: authpool.KindPro, Credential: "sk-test-b", WeeklyBudgetUSD: 50, BlockBudgetUSD: 10, MaxClients: 1},
		},
		Fallback: &authpool.Fallback{Credential: "sk-test-fallback", DailyBudgetUSD: 20},
		Block:    authpool.BlockPolicy{Fixed: true},
	}
	p, err := authpool.New(ctx, cfg, authpool.WithStore(st), authpool.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(ctx) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	allocate := func(client, want string) {
		t.Helper()
		a, err := p.Allocate(ctx, client)
		must(err)
		if a.SubscriptionID != want {
			t.Fatalf("%s went to %s, want %s", client, a.SubscriptionID, want)
		}
	}
	allocate("alice", "s-a")
	allocate("bob", "s-b")
	usage := authpool.Usage{ID: "msg_1", Time: t0, CostUSD: 40}
	must(p.Record(ctx, "alice", usage))
	must(p.Record(ctx, "alice", usage)) // a duplicate: not counted
	must(p.MarkLimited(ctx, "s-b", t0.Add(90*time.Minute), "5-hour limit"))
	must(p.Disable(ctx, "s-a", "maintenance"))
	allocate("carol", authpool.FallbackID)
	must(p.Record(ctx, "carol", authpool.Usage{Time: t0, CostUSD: 25, Model: "claude-sonnet-9", PricedAs: "claude-sonnet-5-5"}))
	if _, err := p.Allocate(ctx, "dave"); !errors.Is(err, authpool.ErrExhausted) {
		t.Fatalf("dave: %v, want ErrExhausted", err)
	}
	now.Store(t0.Add(30 * time.Minute).UnixNano())
	return p, st
}

func TestCollectorGolden(t *testing.T) {
	p, _ := scenarioPool(t)
	c := metrics.NewCollector(p)
	golden := filepath.Join("testdata", "collect.golden.prom")
	if *update {
		// Not testutil.CollectAndFormat: without metric names it formats none.
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(c, f); err != nil {
		t.Errorf("the scrape differs from %s (go test -update rewrites it):\n%v", golden, err)
	}
}

func TestCollectorLint(t *testing.T) {
	p, _ := scenarioPool(t)
	problems, err := testutil.CollectAndLint(metrics.NewCollector(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
}

// TestCollectorSeries counts the series of each metric a registry gathers
// from the scenario: per subscription, the fallback included, and per
// window that has the number. A pedantic registry also checks that every
// metric collected was described, and described alike.
func TestCollectorSeries(t *testing.T) {
	p, _ := scenarioPool(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(metrics.NewCollector(p)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		metric string
		want   int
		why    string
	}{
		{"authpool_up", 1, ""},
		{"authpool_subscription_info", 3, "s-a, s-b and the fallback"},
		{"authpool_subscription_health", 3, ""},
		{"authpool_subscription_active_clients", 3, ""},
		{"authpool_subscription_max_clients", 2, "the fallback has no maximum"},
		{"authpool_subscription_status", 9, "3 states of 3 subscriptions"},
		{"authpool_subscription_limited_until_timestamp_seconds", 1, "s-b only"},
		{"authpool_subscription_last_active_timestamp_seconds", 3, ""},
		{"authpool_subscription_cost_usd", 7, "block and week of 3, and the fallback's day"},
		{"authpool_subscription_used_ratio", 5, "where there is a budget"},
		{"authpool_subscription_budget_usd", 5, "the fallback's block and week have no budget"},
		{"authpool_subscription_reset_timestamp_seconds", 4, "the blocks of 3 and the fallback's day"},
		{"authpool_subscription_exhaustion_timestamp_seconds", 3, "s-a's block and week, the fallback's day"},
		{"authpool_allocations_total", 5, "five outcomes"},
		{"authpool_notification_deliveries_total", 2, "delivered and failed"},
		{"authpool_store_errors_total", 1, ""},
	}
	for _, tt := range tests {
		got, err := testutil.GatherAndCount(reg, tt.metric)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: %d series, want %d (%s)", tt.metric, got, tt.want, tt.why)
		}
	}
}

// TestCollectorSnapshotFails shows a scrape whose snapshot fails: no panic
// and no error for the registry, authpool_up 0, the failures counted, the
// counters reported all the same, and no subscription gauge.
func TestCollectorSnapshotFails(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(*authpool.Pool, *flakyStore)
	}{
		{"the store is unavailable", func(_ *authpool.Pool, st *flakyStore) { st.failing.Store(true) }},
		{"the store does not answer in time", func(_ *authpool.Pool, st *flakyStore) { st.hanging.Store(true) }},
		{"the pool is closed", func(p *authpool.Pool, _ *flakyStore) { _ = p.Close(context.Background()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, st := scenarioPool(t)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(metrics.NewCollector(p, metrics.WithTimeout(20*time.Millisecond)))
			tt.breakIt(p, st)
			for range 2 {
				if _, err := reg.Gather(); err != nil {
					t.Fatalf("Gather: %v", err)
				}
			}
			want := `
# HELP authpool_up Whether the last scrape read the pool's snapshot (1) or failed to (0).
# TYPE authpool_up gauge
authpool_up 0
# HELP authpool_snapshot_errors_total Scrapes that failed to read the pool's snapshot: the store failed or timed out, or the pool was closed.
# TYPE authpool_snapshot_errors_total counter
authpool_snapshot_errors_total 3
# HELP authpool_records_total Usages counted by Record and Charge.
# TYPE authpool_records_total counter
authpool_records_total 2
`
			err := testutil.GatherAndCompare(reg, strings.NewReader(want),
				"authpool_up", "authpool_snapshot_errors_total", "authpool_records_total")
			if err != nil {
				t.Error(err)
			}
			n, err := testutil.GatherAndCount(reg, "authpool_subscription_health", "authpool_subscription_info")
			if err != nil || n != 0 {
				t.Errorf("subscription series after a failed snapshot: %d, %v; want none", n, err)
			}
		})
	}
}

// TestCollectorReadsNoSession scrapes a pool whose store fails to read
// sessions: the scrape never reads them (authpool.WithoutSessions), so it
// reports every subscription as usual.
func TestCollectorReadsNoSession(t *testing.T) {
	p, st := scenarioPool(t)
	st.noSessions.Store(true)
	if _, err := p.Snapshot(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Snapshot: %v, want store.ErrUnavailable from reading the sessions", err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(p))
	want := `
# HELP authpool_up Whether the last scrape read the pool's snapshot (1) or failed to (0).
# TYPE authpool_up gauge
authpool_up 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "authpool_up"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "authpool_subscription_info"); err != nil || n != 3 {
		t.Errorf("authpool_subscription_info: %d series, %v; want 3 (s-a, s-b and the fallback)", n, err)
	}
}

// TestCollectorConstLabels registers the collectors of two pools with one
// registry, told apart by a pool label.
func TestCollectorConstLabels(t *testing.T) {
	eu, _ := scenarioPool(t)
	us, _ := scenarioPool(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(
		metrics.NewCollector(eu, metrics.WithConstLabels(prometheus.Labels{"pool": "eu"})),
		metrics.NewCollector(us, metrics.WithConstLabels(prometheus.Labels{"pool": "us"})),
	)
	want := `
# HELP authpool_allocations_total Allocate's answers by outcome: sticky, new, moved, fallback, or refused as exhausted.
# TYPE authpool_allocations_total counter
authpool_allocations_total{outcome="exhausted",pool="eu"} 1
authpool_allocations_total{outcome="fallback",pool="eu"} 1
authpool_allocations_total{outcome="moved",pool="eu"} 0
authpool_allocations_total{outcome="new",pool="eu"} 2
authpool_allocations_total{outcome="sticky",pool="eu"} 0
authpool_allocations_total{outcome="exhausted",pool="us"} 1
authpool_allocations_total{outcome="fallback",pool="us"} 1
authpool_allocations_total{outcome="moved",pool="us"} 0
authpool_allocations_total{outcome="new",pool="us"} 2
authpool_allocations_total{outcome="sticky",pool="us"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "authpool_allocations_total"); err != nil {
		t.Error(err)
	}
}
