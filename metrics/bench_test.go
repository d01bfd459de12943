package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkScrape is one scrape, Collect through a registry's Gather, of a
// pool on the in-memory store with 100 subscriptions holding 10,000
// sessions:
//
//	go test -run '^$' -bench Scrape -benchmem -count 5 ./metrics/
func BenchmarkScrape(b *testing.B) {
	const subs, sessions = 100, 10_000
	ctx := context.Background()
	cfg := authpool.Config{MaxClients: 2*sessions/subs + 10}
	for i := range subs {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%04d", i), Kind: authpool.KindMax20x, Credential: "sk-bench",
			WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140,
		})
	}
	p, err := authpool.New(ctx, cfg, authpool.WithStore(memstore.New()), authpool.WithClock(func() time.Time { return t0 }))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close(ctx) }()
	for i := range sessions {
		if _, err := p.Allocate(ctx, fmt.Sprintf("client-%06d", i)); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(p))
	for b.Loop() {
		mfs, err := reg.Gather()
		if err != nil || len(mfs) == 0 {
			b.Fatalf("Gather: %d families, %v", len(mfs), err)
		}
	}
}
