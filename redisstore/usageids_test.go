package redisstore_test

import (
	"crypto/sha256"
	"fmt"
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
// with new IDs (each a round trip, timed alone) when the store remembers
// 2M usage IDs and forgets some on every call: what one script holds Redis
// for, and its round trip, at most.
func BenchmarkAddUsageSlowestAt2M(b *testing.B) {
	const full, timed = 2_000_000, 10_000
	c := redistest.Client(b)
	for range b.N {
		prefix := redistest.Prefix(b, c)
		s := redisstore.New(c, redisstore.WithPrefix(prefix))
		if err := s.CreateSubscription(b.Context(), store.Subscription{ID: "a"}); err != nil {
			b.Fatal(err)
		}
		fillIDs(b, c, prefix, full)
		var slowest time.Duration
		for i := range timed {
			at := t0.Add(time.Hour + time.Duration(i)*time.Millisecond)
			u := store.UsageRecord{ID: fmt.Sprintf("msg-%d", i), SubscriptionID: "a", Time: at, Now: at, Cost: 1,
				Remember: store.WeekHours * time.Hour, RememberBytes: (full - 2) * redisstore.IDBytes}
			start := time.Now()
			if _, err := s.AddUsage(b.Context(), "", u); err != nil {
				b.Fatal(err)
			}
			slowest = max(slowest, time.Since(start))
		}
		if n := c.ZCard(b.Context(), "{"+prefix+"}:ids").Val(); n < full-10 {
			b.Fatalf("the store remembers %d IDs, want about %d", n, full)
		}
		b.ReportMetric(float64(slowest.Microseconds()), "µs-slowest")
	}
}
