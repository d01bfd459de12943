package redisstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// fillIDs puts n usage IDs in {p}:ids as AddUsage's script does (16 bytes
// of SHA-256, scored by the usage time in microseconds from t0), in
// batches: far faster than n scripts.
func fillIDs(tb testing.TB, c *redis.Client, prefix string, n int) {
	tb.Helper()
	const batch = 10_000
	key := "{" + prefix + "}:ids"
	for i := 0; i < n; i += batch {
		zs := make([]redis.Z, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			sum := sha256.Sum256(fmt.Appendf(nil, "fill-%d", j))
			zs = append(zs, redis.Z{Score: float64(t0.Add(time.Duration(j) * time.Microsecond).UnixMicro()), Member: string(sum[:16])})
		}
		if err := c.ZAdd(tb.Context(), key, zs...).Err(); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestIDBytes measures what one remembered usage ID costs Redis (MEMORY
// USAGE of the sorted set, every member counted, divided by the members)
// and checks that IDBytes covers it.
func TestIDBytes(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	const n = 100_000
	fillIDs(t, c, prefix, n)
	bytes, err := c.MemoryUsage(t.Context(), "{"+prefix+"}:ids", 0).Result()
	if err != nil {
		t.Fatal(err)
	}
	perID := float64(bytes) / n
	t.Logf("a remembered usage ID costs %.1f bytes of Redis memory (IDBytes is %d)", perID, redisstore.IDBytes)
	if perID > redisstore.IDBytes {
		t.Errorf("a remembered usage ID costs %.1f bytes, more than IDBytes (%d)", perID, redisstore.IDBytes)
	}
}

// BenchmarkAddUsageSlowestAt2M reports the slowest of 10,000 AddUsage calls
// with new IDs when the store remembers 2M usage IDs and forgets some on
// every call: µs-slowest is a call's wall time with its round trip (timed
// alone, so it counts the client and this machine's scheduling too), and
// µs-slowest-in-redis the longest any script ran inside Redis, from Redis's
// own SLOWLOG: how long one call holds Redis. It sets the server's
// slowlog-log-slower-than to 0 while it times, and puts it back.
func BenchmarkAddUsageSlowestAt2M(b *testing.B) {
	const full, timed = 2_000_000, 10_000
	c := redistest.Client(b)
	ctx := b.Context()
	for range b.N {
		prefix := redistest.Prefix(b, c)
		s := redisstore.New(c, redisstore.WithPrefix(prefix))
		if err := s.CreateSubscription(ctx, store.Subscription{ID: "a"}); err != nil {
			b.Fatal(err)
		}
		fillIDs(b, c, prefix, full)
		restore := slowlogAll(b, c, timed+100)
		var slowest time.Duration
		for i := range timed {
			at := t0.Add(time.Hour + time.Duration(i)*time.Millisecond)
			u := store.UsageRecord{ID: fmt.Sprintf("msg-%d", i), SubscriptionID: "a", Time: at, Now: at, Cost: 1,
				Remember: store.WeekHours * time.Hour, RememberBytes: (full - 2) * redisstore.IDBytes}
			start := time.Now()
			if _, err := s.AddUsage(ctx, "", u); err != nil {
				b.Fatal(err)
			}
			slowest = max(slowest, time.Since(start))
		}
		inRedis := slowestScript(b, c)
		restore()
		if n := c.ZCard(ctx, "{"+prefix+"}:ids").Val(); n < full-10 {
			b.Fatalf("the store remembers %d IDs, want about %d", n, full)
		}
		b.ReportMetric(float64(slowest.Microseconds()), "µs-slowest")
		b.ReportMetric(float64(inRedis.Microseconds()), "µs-slowest-in-redis")
	}
}

// slowlogAll makes Redis log every command in its SLOWLOG (up to n), from
// empty, and returns what puts the configuration back.
func slowlogAll(tb testing.TB, c *redis.Client, n int) (restore func()) {
	tb.Helper()
	ctx := tb.Context()
	old, err := c.ConfigGet(ctx, "slowlog-*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range map[string]string{"slowlog-log-slower-than": "0", "slowlog-max-len": fmt.Sprint(n)} {
		if err := c.ConfigSet(ctx, k, v).Err(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := c.SlowLogReset(ctx).Err(); err != nil {
		tb.Fatal(err)
	}
	return func() {
		for k, v := range old {
			if err := c.ConfigSet(context.WithoutCancel(ctx), k, v).Err(); err != nil {
				tb.Error(err)
			}
		}
	}
}

// slowestScript returns the longest a script (EVALSHA or EVAL) ran in
// Redis among the entries of its SLOWLOG.
func slowestScript(tb testing.TB, c *redis.Client) time.Duration {
	tb.Helper()
	logs, err := c.SlowLogGet(tb.Context(), -1).Result()
	if err != nil {
		tb.Fatal(err)
	}
	var slowest time.Duration
	for _, l := range logs {
		if len(l.Args) > 0 && strings.HasPrefix(strings.ToLower(l.Args[0]), "eval") {
			slowest = max(slowest, l.Duration)
		}
	}
	if slowest == 0 {
		tb.Fatal("Redis logged no script")
	}
	return slowest
}
