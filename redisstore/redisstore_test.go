package redisstore_test

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
	"github.com/authpool/authpool/store/storetest"
)

// configurations are the clients the suite runs the store through: every
// kind of client that fits, so none goes untested.
var configurations = []struct {
	name   string
	client func(tb testing.TB) redisstore.Client
}{
	{
		// The shared client, which does not bound its I/O by a context's
		// deadline: the store waits for each reply in a goroutine.
		name:   "Client",
		client: func(tb testing.TB) redisstore.Client { return redistest.Client(tb) },
	},
	{
		// A client that bounds its I/O by the context's deadline.
		name: "ClientContextTimeouts",
		client: func(tb testing.TB) redisstore.Client {
			o := redistest.Options(tb)
			o.ContextTimeoutEnabled = true
			return closing(tb, redis.NewClient(o))
		},
	},
	{
		// A ring of one shard: a ring routes each script by its first key.
		name: "Ring",
		client: func(tb testing.TB) redisstore.Client {
			o := redistest.Options(tb)
			return closing(tb, redis.NewRing(&redis.RingOptions{
				Addrs: map[string]string{"shard": o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			}))
		},
	},
}

// closing closes c when tb ends.
func closing[C interface{ Close() error }](tb testing.TB, c C) C {
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; TestFaults fails many on purpose.
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestStore(t *testing.T) {
	for _, cfg := range configurations {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			c := cfg.client(t)
			admin := redistest.Client(t)
			storetest.Run(t, func(t *testing.T) store.Store {
				return redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(t, admin)))
			})
		})
	}
}

func BenchmarkStore(b *testing.B) {
	c := redistest.Client(b)
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		return redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(b, c)))
	})
}
