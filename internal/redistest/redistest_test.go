package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
)

func TestURL(t *testing.T) {
	t.Setenv(redistest.EnvURL, "")
	if got := redistest.URL(); got != redistest.DefaultURL {
		t.Errorf("URL() without %s = %q, want %q", redistest.EnvURL, got, redistest.DefaultURL)
	}
	t.Setenv(redistest.EnvURL, "redis://example:1/2")
	if got := redistest.URL(); got != "redis://example:1/2" {
		t.Errorf("URL() = %q, want the variable's value", got)
	}
	t.Setenv(redistest.EnvRequired, "1")
	if !redistest.Required() {
		t.Errorf("Required() = false with %s=1", redistest.EnvRequired)
	}
}

// TestPrefix checks that prefixes differ and that a test's keys are gone
// when it ends.
func TestPrefix(t *testing.T) {
	c := redistest.Client(t)
	var prefix string
	t.Run("writes", func(t *testing.T) {
		prefix = redistest.Prefix(t, c)
		if other := redistest.Prefix(t, c); other == prefix {
			t.Errorf("two calls of Prefix returned %q", prefix)
		}
		for _, k := range []string{"a", "b"} {
			if err := c.Set(t.Context(), "{"+prefix+"}:"+k, "v", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	n, err := c.Exists(t.Context(), "{"+prefix+"}:a", "{"+prefix+"}:b").Result()
	if err != nil || n != 0 {
		t.Errorf("%d keys of the test are left after it ended (%v), want none", n, err)
	}
}

// TestServer checks that a server of a test's own answers, stops answering
// when killed, and answers again on the same address when started again.
func TestServer(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = c.Close() })
	ping := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	if err := ping(); err != nil {
		t.Fatalf("PING a started server: %v", err)
	}
	srv.Kill()
	if err := ping(); err == nil {
		t.Fatalf("PING a killed server answered")
	}
	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("PING the restarted server on %s: %v", srv.Addr, ping())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
