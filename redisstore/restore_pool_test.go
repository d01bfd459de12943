package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// TestPoolWhenRedisComesBackEmpty runs a pool on a redis-server of its own
// that loses everything twice: FLUSHDB, then a restart without persistence.
// Each time many goroutines allocate at once, old clients and new, with the
// pool's view still fresh (its clock does not move): no call is refused as
// exhausted (a restore is not an exhaustion), and no exhausted event fires.
// While the server is down calls may fail, with store.ErrUnavailable only;
// once it is back every call is placed.
func TestPoolWhenRedisComesBackEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.StartServer(t)
	c := closing(t, redis.NewClient(&redis.Options{Addr: srv.Addr, DialerRetries: 1}))
	s := redisstore.New(c, redisstore.WithPrefix("restore"))
	now := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	var mu sync.Mutex
	var exhaustedEvents []authpool.Event
	notifier := authpool.NotifierFunc(func(_ context.Context, e authpool.Event) error {
		if e.Type == authpool.EventExhausted {
			mu.Lock()
			exhaustedEvents = append(exhaustedEvents, e)
			mu.Unlock()
		}
		return nil
	})
	var subs []authpool.Subscription
	for _, id := range []string{"s-a", "s-b", "s-c"} {
		subs = append(subs, authpool.Subscription{ID: id, Kind: authpool.KindMax20x, Credential: authpool.Credential("sk-" + id),
			MaxClients: 100, WeeklyBudgetUSD: 100})
	}
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: subs}, authpool.WithStore(s),
		authpool.WithClock(func() time.Time { return now }), authpool.WithNotifier(notifier))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := p.Allocate(ctx, fmt.Sprintf("old-%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// allocateAll allocates from 12 goroutines at once and returns the
	// errors, failing the test on any that is not ErrUnavailable (or on
	// any at all, unless down).
	allocateAll := func(round string, down bool) (placed, unavailable int) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for g := range 12 {
			wg.Go(func() {
				for i := range 8 {
					client := fmt.Sprintf("%s-%d-%d", round, g, i)
					if i%2 == 0 {
						client = fmt.Sprintf("old-%d", (g+i)%6)
					}
					_, err := p.Allocate(ctx, client)
					mu.Lock()
					switch {
					case err == nil:
						placed++
					case down && errors.Is(err, store.ErrUnavailable):
						unavailable++
					default:
						t.Errorf("%s: Allocate(%s): %v", round, client, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return placed, unavailable
	}

	must(t, c.FlushDB(ctx).Err(), "FLUSHDB")
	allocateAll("after-flush", false)
	if got := p.Stats().StoreRestores; got != 1 {
		t.Errorf("StoreRestores after FLUSHDB = %d, want 1", got)
	}

	srv.Kill()
	srv.Start() // on the same port, empty: it kept nothing on disk
	placed, unavailable := allocateAll("after-restart", true)
	t.Logf("after the restart: %d placed, %d unavailable", placed, unavailable)
	allocateAll("later", false)
	if got := p.Stats().StoreRestores; got != 2 {
		t.Errorf("StoreRestores after the restart = %d, want 2", got)
	}
	snap, err := p.Snapshot(ctx)
	must(t, err, "Snapshot")
	if len(snap.Subscriptions) != 3 {
		t.Errorf("the snapshot after the restart holds %d subscriptions, want 3", len(snap.Subscriptions))
	}

	must(t, p.Close(ctx), "Close")
	mu.Lock()
	defer mu.Unlock()
	for _, e := range exhaustedEvents {
		t.Errorf("a false exhausted event: %+v", e.Exhausted)
	}
}
