package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/store"
)

// Client is the part of a go-redis client that a Store uses: running a Lua
// script by its hash, and by its source when the server does not have it
// yet. *redis.Client, *redis.ClusterClient, *redis.Ring and
// redis.UniversalClient all satisfy it.
type Client interface {
	// EvalSha runs the cached script whose SHA-1 is sha1 (EVALSHA).
	EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd
	// Eval runs script, caching it (EVAL).
	Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
}

var (
	_ store.Store = (*Store)(nil)

	_ Client = (*redis.Client)(nil)
	_ Client = (*redis.ClusterClient)(nil)
	_ Client = (*redis.Ring)(nil)
	_ Client = redis.UniversalClient(nil)
)

// DefaultPrefix is the key prefix of a Store made without WithPrefix.
const DefaultPrefix = "authpool"

// Store is a store.Store kept in Redis, which several processes can share
// and which outlives them. It is safe for concurrent use by multiple
// goroutines and by multiple processes: each method is one Lua script,
// which Redis runs whole with no other command in between. It holds no
// state of its own but its client and key prefix, and needs no Close; the
// caller owns the client. The zero Store is not usable; call New.
type Store struct {
	client Client
	keys   keys
	// clientHonoursDeadlines is set when the client bounds its I/O by a
	// context's deadline (go-redis's ContextTimeoutEnabled).
	clientHonoursDeadlines bool

	indexMu sync.Mutex
	indexed bool // the activity index holds every session (see upgradeIndex)
}

// An Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of the Store's keys: every key is named
// "{prefix}:..." (see the package documentation). Stores with the same
// prefix on the same Redis share one pool; with different prefixes they
// share nothing. An empty prefix means DefaultPrefix.
func WithPrefix(prefix string) Option {
	return func(s *Store) {
		if prefix == "" {
			prefix = DefaultPrefix
		}
		s.keys = newKeys(prefix)
	}
}

// New returns a Store that keeps its records in Redis through c, under the
// key prefix DefaultPrefix unless an option sets another. It does not
// contact Redis: a Store whose Redis cannot be reached returns errors that
// match store.ErrUnavailable from each call, and works as soon as Redis
// answers.
func New(c Client, opts ...Option) *Store {
	s := &Store{client: c, keys: newKeys(DefaultPrefix), clientHonoursDeadlines: honoursDeadlines(c)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Prefix returns the Store's key prefix (without its braces).
func (s *Store) Prefix() string { return s.keys.name }

// honoursDeadlines reports whether c is a go-redis client made with
// ContextTimeoutEnabled, which bounds each command's I/O by its context's
// deadline.
func honoursDeadlines(c Client) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}
