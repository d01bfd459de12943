package oauth_test

import (
	"bytes"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/google/go-cmp/cmp"
)

// update makes golden-file tests rewrite their files: go test -update.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// t0 is the tests' fixed "now".
var t0 = time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)

// clock is a settable clock for the client and the fake.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a fake OAuth server and a Client pointed at it.
type fixture struct {
	clk    *clock
	fake   *fakeoauth.Server
	url    string
	client *oauth.Client
}

// newFixture starts a fake with opts (its clock replaced by the
// fixture's) and a Client of cfg with the fake's URLs filled in.
func newFixture(t *testing.T, opts fakeoauth.Options, cfg oauth.Config, more ...oauth.Option) *fixture {
	t.Helper()
	f := &fixture{clk: newClock()}
	opts.Now = f.clk.Now
	f.fake = fakeoauth.New(opts)
	ts := httptest.NewServer(f.fake)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	cfg = fakeConfig(ts.URL, cfg)
	c, err := oauth.New(cfg, append([]oauth.Option{oauth.WithHTTPClient(ts.Client()), oauth.WithClock(f.clk.Now)}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

// fakeConfig returns cfg with every endpoint it leaves empty on the fake
// at base.
func fakeConfig(base string, cfg oauth.Config) oauth.Config {
	for _, e := range []struct {
		v    *string
		path string
	}{
		{&cfg.AuthorizeURL, fakeoauth.AuthorizePath}, {&cfg.TokenURL, fakeoauth.TokenPath},
		{&cfg.UsageURL, fakeoauth.UsagePath}, {&cfg.ProfileURL, fakeoauth.ProfilePath},
	} {
		if *e.v == "" {
			*e.v = base + e.path
		}
	}
	return cfg
}

// checkGolden compares got with testdata/<name>, or rewrites it with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
