package authpool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// benchPool returns a pool of subs subscriptions holding sessions clients,
// on a clock that stands still.
func benchPool(b *testing.B, subs, sessions int) (*authpool.Pool, []string) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cfg := authpool.Config{MaxClients: sessions/subs*2 + 10}
	for i := range subs {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%04d", i), Kind: authpool.KindMax20x, Credential: "sk-test",
			WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100,
		})
	}
	p, err := authpool.New(ctx, cfg, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = fmt.Sprintf("client-%06d", i)
		if _, err := p.Allocate(ctx, ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	return p, ids
}

func BenchmarkAllocateSticky(b *testing.B) {
	p, ids := benchPool(b, 100, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	p, ids := benchPool(b, 100, 10000)
	ctx := context.Background()
	u := authpool.Usage{Time: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), CostUSD: 0.0001, Model: "claude-sonnet-4-5"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := p.Record(ctx, ids[i%len(ids)], u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAllocateNew(b *testing.B) {
	p, _ := benchPool(b, 100, 10000)
	ctx := context.Background()
	fresh := make([]string, 4096)
	for i := range fresh {
		fresh[i] = fmt.Sprintf("new-%06d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(fresh) == 0 {
			b.StopTimer()
			for _, id := range fresh {
				_ = p.Release(ctx, id)
			}
			b.StartTimer()
		}
		if _, err := p.Allocate(ctx, fresh[i%len(fresh)]); err != nil {
			b.Fatal(err)
		}
	}
}
