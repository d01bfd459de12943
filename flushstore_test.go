package authpool

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// NewFlushableTestStore returns a fresh store of the kind EnvTestStore
// chooses, as NewTestStore does, and a function that empties it under the
// pools using it, as a Redis does that is flushed or restarts without
// persistence: a memstore.Store is swapped for an empty one; on Redis
// every key under the test's prefix is deleted (FLUSHDB would take the
// other tests' keys with it).
func NewFlushableTestStore(tb testing.TB) (store.Store, func()) {
	tb.Helper()
	switch v := os.Getenv(EnvTestStore); v {
	case "", "memstore":
		s := new(swappable)
		s.cur.Store(memstore.New())
		return s, func() { s.cur.Store(memstore.New()) }
	case "redis":
		c := redistest.Client(tb)
		prefix := redistest.Prefix(tb, c)
		return redisstore.New(c, redisstore.WithPrefix(prefix)), func() { redistest.DeleteKeys(tb, c, "{"+prefix+"}:*") }
	default:
		tb.Fatalf("%s=%q: want memstore or redis", EnvTestStore, v)
		return nil, nil
	}
}

// swappable is a memstore.Store that a test may replace, all at once, with
// an empty one.
type swappable struct {
	cur atomic.Pointer[memstore.Store]
}

var _ store.Store = (*swappable)(nil)

func (s *swappable) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.cur.Load().CreateSubscription(ctx, sub)
}

func (s *swappable) UpdateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.cur.Load().UpdateSubscription(ctx, sub)
}

func (s *swappable) SetStatus(ctx context.Context, id string, st store.Status) error {
	return s.cur.Load().SetStatus(ctx, id, st)
}

func (s *swappable) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	return s.cur.Load().SetModelLimit(ctx, id, l, now)
}

func (s *swappable) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	return s.cur.Load().SetReported(ctx, id, r, blockStart)
}

func (s *swappable) DeleteSubscription(ctx context.Context, id string) ([]store.Session, error) {
	return s.cur.Load().DeleteSubscription(ctx, id)
}

func (s *swappable) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	return s.cur.Load().Subscription(ctx, id)
}

func (s *swappable) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	return s.cur.Load().Subscriptions(ctx)
}

func (s *swappable) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	return s.cur.Load().Touch(ctx, clientID, now, holdUntil)
}

func (s *swappable) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	return s.cur.Load().Assign(ctx, a)
}

func (s *swappable) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	return s.cur.Load().Release(ctx, clientID, idleSince)
}

func (s *swappable) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	return s.cur.Load().Sessions(ctx, q)
}

func (s *swappable) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	return s.cur.Load().AddUsage(ctx, clientID, u)
}

func (s *swappable) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	return s.cur.Load().Claim(ctx, key, now, until)
}
