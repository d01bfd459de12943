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
)

// TestPoolsShareSlots: four pools, each with a Redis client of its own, on
// one prefix and one clock, share a subscription capped at 10. Of 100
// clients racing through them, exactly 10 get a slot and 90 are told when
// the first slot frees up; once every hold has ended, the 10 idle clients
// coming back and 90 newcomers race again: exactly 10 hold a slot, the
// idle ones that lost their place are refused like newcomers (there is no
// other subscription), and the winners among them keep their place.
func TestPoolsShareSlots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prefix := redistest.Prefix(t, redistest.Client(t))
	clk := newPoolClock(poolT0)
	cfg := authpool.Config{Subscriptions: []authpool.Subscription{poolSub("s", 10, 0, 0)}}
	pools := make([]*authpool.Pool, 4)
	for i := range pools {
		c := closing(t, redis.NewClient(redistest.Options(t)))
		pools[i] = newRedisPool(t, c, prefix, cfg, authpool.WithClock(clk.Now))
	}

	type result struct {
		a   authpool.Allocation
		err error
	}
	race := func(clients []string) map[string]result {
		var (
			mu  sync.Mutex
			out = map[string]result{}
			wg  sync.WaitGroup
		)
		for i, c := range clients {
			wg.Go(func() {
				a, err := pools[i%len(pools)].Allocate(ctx, c)
				mu.Lock()
				out[c] = result{a, err}
				mu.Unlock()
			})
		}
		wg.Wait()
		return out
	}
	// count checks that exactly 10 were placed and the others refused with
	// RetryAt retry, and returns the placed.
	count := func(what string, got map[string]result, retry time.Time) map[string]authpool.Allocation {
		t.Helper()
		placed := map[string]authpool.Allocation{}
		for c, r := range got {
			var e *authpool.ExhaustedError
			switch {
			case r.err == nil:
				placed[c] = r.a
			case !errors.As(r.err, &e):
				t.Errorf("%s: Allocate(%s) = %v, want a place or an *ExhaustedError", what, c, r.err)
			case !e.RetryAt.Equal(retry):
				t.Errorf("%s: Allocate(%s) refused with RetryAt %v, want %v", what, c, e.RetryAt, retry)
			}
		}
		if len(placed) != 10 {
			t.Errorf("%s: %d of %d clients placed, want 10", what, len(placed), len(got))
		}
		snap, err := pools[0].Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st := snap.Subscriptions[0]; st.ActiveClients != 10 {
			t.Errorf("%s: %d clients hold a slot, want 10", what, st.ActiveClients)
		}
		return placed
	}

	var first []string
	for i := range 100 {
		first = append(first, fmt.Sprintf("first-%02d", i))
	}
	placed := count("100 new clients at once", race(first), poolT0.Add(defaultIdleAfter))

	clk.Set(poolT0.Add(10 * time.Minute)) // every hold has ended
	now := clk.Now()
	var second []string
	for c := range placed {
		second = append(second, c) // the idle ones, coming back
	}
	for i := range 90 {
		second = append(second, fmt.Sprintf("second-%02d", i))
	}
	got := race(second)
	winners := count("10 idle clients coming back and 90 new ones", got, now.Add(defaultIdleAfter))
	for c, a := range winners {
		want := authpool.OutcomeNew
		if _, idle := placed[c]; idle {
			want = authpool.OutcomeSticky // its place, free again
		}
		if a.Outcome != want {
			t.Errorf("Allocate(%s) = %+v, want %v", c, a, want)
		}
	}
}

// defaultIdleAfter is the pool's default Sessions.IdleAfter.
var defaultIdleAfter = time.Duration(authpool.Config{}.WithDefaults().Sessions.IdleAfter)
