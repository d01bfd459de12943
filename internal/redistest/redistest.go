// Package redistest finds the Redis that tests run against, and starts
// throwaway redis-server processes for tests that need to stop one.
//
// Tests find Redis at the URL in AUTHPOOL_REDIS_URL (default
// redis://127.0.0.1:6379/15, a database tests may write to). Without a
// reachable Redis they skip, saying how to run them; with
// AUTHPOOL_REDIS_REQUIRED=1 they fail instead.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The environment variables that configure the tests, and the default URL.
const (
	// EnvURL names the variable holding the test Redis's URL.
	EnvURL = "AUTHPOOL_REDIS_URL"
	// EnvRequired names the variable that, set to 1, makes a missing Redis
	// (or redis-server binary) fail a test rather than skip it.
	EnvRequired = "AUTHPOOL_REDIS_REQUIRED"
	// DefaultURL is the test Redis's URL when EnvURL is not set: database
	// 15 of the Redis on the loopback's default port.
	DefaultURL = "redis://127.0.0.1:6379/15"
)

// URL returns the test Redis's URL.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// Required reports whether a missing Redis fails tests (EnvRequired=1).
func Required() bool { return os.Getenv(EnvRequired) == "1" }

// Unavailable skips tb, or fails it when Redis is required, saying why and
// how to run it.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s (%s=1: Redis is required)", msg, EnvRequired)
	}
	tb.Skipf("%s; to run this test start redis-server on 127.0.0.1:6379 or set %s=redis://host:port/db "+
		"(a database the tests may write to), and %s=1 to fail rather than skip", msg, EnvURL, EnvRequired)
}

var shared struct {
	once   sync.Once
	opts   *redis.Options
	client *redis.Client
	err    error
}

// Options returns the client options of the test Redis, after checking once
// per process that it answers; it skips (or fails) tb if it does not. The
// result is a copy the caller may change.
func Options(tb testing.TB) *redis.Options {
	tb.Helper()
	connect()
	if shared.err != nil {
		Unavailable(tb, "%v", shared.err)
	}
	o := *shared.opts
	return &o
}

// Client returns a client of the test Redis, shared by the process's tests
// (do not close it); it skips (or fails) tb if Redis does not answer.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	connect()
	if shared.err != nil {
		Unavailable(tb, "%v", shared.err)
	}
	return shared.client
}

func connect() {
	shared.once.Do(func() {
		url := URL()
		opts, err := redis.ParseURL(url)
		if err != nil {
			shared.err = fmt.Errorf("%s=%q: %v", EnvURL, url, err)
			return
		}
		c := redis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			_ = c.Close()
			shared.err = fmt.Errorf("no Redis answers at %s: %v", url, err)
			return
		}
		shared.opts, shared.client = opts, c
	})
}

// Prefix returns a key prefix that no other test uses, made of tb's name and
// a random suffix, and deletes the keys under it ("{prefix}:*", the
// redisstore layout) through c when tb ends.
func Prefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '/':
			return r
		}
		return '_'
	}, tb.Name())
	prefix := "test/" + name + "/" + hex.EncodeToString(b[:])
	tb.Cleanup(func() { DeleteKeys(tb, c, "{"+prefix+"}:*") })
	return prefix
}

// DeleteKeys deletes the keys matching pattern (SCAN, then UNLINK).
func DeleteKeys(tb testing.TB, c redis.UniversalClient, pattern string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				tb.Logf("redistest: deleting %d keys matching %s: %v", len(batch), pattern, err)
			}
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		tb.Logf("redistest: scanning keys matching %s: %v", pattern, err)
	}
}
