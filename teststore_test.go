package authpool

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// EnvTestStore names the variable that chooses the store the Pool tests
// run on: "memstore" (or unset) for a memstore.Store, "redis" for a
// redisstore.Store on the test Redis (see internal/redistest) under a key
// prefix of the test's own. TestPoolTestsOnRedis sets it for a second run.
const EnvTestStore = "AUTHPOOL_TEST_STORE"

// OnRedis reports whether the Pool tests run on Redis (EnvTestStore=redis).
func OnRedis() bool { return os.Getenv(EnvTestStore) == "redis" }

// NewTestStore returns a fresh, empty store of the kind EnvTestStore
// chooses, for one test: a memstore.Store, or a redisstore.Store under a
// prefix of tb's own whose keys are deleted when tb ends. It skips tb (or
// fails it, when Redis is required) if there is no Redis.
func NewTestStore(tb testing.TB) store.Store {
	tb.Helper()
	switch v := os.Getenv(EnvTestStore); v {
	case "", "memstore":
		return memstore.New()
	case "redis":
		c := redistest.Client(tb)
		return redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(tb, c)))
	default:
		tb.Fatalf("%s=%q: want memstore or redis", EnvTestStore, v)
		return nil
	}
}

// SkipOnRedis skips tb when the Pool tests run on Redis, saying why.
func SkipOnRedis(tb testing.TB, why string) {
	tb.Helper()
	if OnRedis() {
		tb.Skipf("not on Redis: %s", why)
	}
}

// TestPoolTestsOnRedis runs this package's tests again, in a child process
// (the test binary itself, with EnvTestStore=redis), so that every Pool
// test runs on a redisstore.Store too. It skips when Redis is absent (fails
// when it is required) and inside that child. Examples and fuzz targets
// make their own memstore pools, so the child leaves them out.
func TestPoolTestsOnRedis(t *testing.T) {
	if OnRedis() {
		t.Skip("already running on Redis")
	}
	redistest.Client(t) // skips, or fails, without a Redis
	t.Parallel()

	args := []string{
		"-test.run=.",
		"-test.skip=^(TestPoolTestsOnRedis|Example|Fuzz)",
		"-test.count=1",
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	if f := flag.Lookup("test.shuffle"); f != nil && f.Value.String() != "off" {
		args = append(args, "-test.shuffle="+f.Value.String())
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok && time.Until(d) > 10*time.Second {
		// End the child a little before the parent's -timeout panics, so
		// that its output is shown.
		args = append(args, "-test.timeout="+(time.Until(d)-5*time.Second).String())
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-2*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), EnvTestStore+"=redis")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("the tests on Redis failed (%v after %v); %s %q; to run them yourself: %s=redis go test; their output:\n%s",
			err, time.Since(start).Round(time.Millisecond), os.Args[0], args, EnvTestStore, out.Bytes())
	}
	t.Logf("the tests on Redis passed in %v (%d bytes of output)", time.Since(start).Round(time.Millisecond), out.Len())
	if testing.Verbose() {
		t.Logf("their output:\n%s", out.Bytes())
	}
}
