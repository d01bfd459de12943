package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
)

func TestValidateNamesEachProblem(t *testing.T) {
	t.Parallel()
	c := Config{URL: "http://hooks.example/token-in-path", Secret: "short",
		Events:      []authpool.EventType{authpool.EventFailover, authpool.EventFailover},
		MaxAttempts: 101, MinBackoff: authpool.Duration(time.Minute), MaxBackoff: authpool.Duration(time.Second)}
	err := c.Validate()
	var ce *authpool.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, authpool.ErrInvalidConfig) {
		t.Fatalf("Validate() = %v, want a *authpool.ConfigError", err)
	}
	var got []string
	for _, p := range ce.Problems {
		at, _, _ := strings.Cut(p.Error(), ":")
		got = append(got, at)
	}
	want := []string{"/url", "/secret", "/events", "/maxAttempts", "/maxBackoff"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if err := (Config{URL: "https://hooks.example/ok", Secret: "0123456789abcdef"}).Validate(); err != nil {
		t.Errorf("a valid webhook: %v", err)
	}
}

func TestWithDefaultsKeepsSetFields(t *testing.T) {
	t.Parallel()
	c := Config{URL: "https://hooks.example/authpool", Secret: "s", Events: []authpool.EventType{authpool.EventThreshold},
		Timeout: authpool.Duration(time.Second), MaxAttempts: 2, MinBackoff: authpool.Duration(time.Millisecond),
		MaxBackoff: authpool.Duration(time.Second)}
	if diff := cmp.Diff(c, c.WithDefaults()); diff != "" {
		t.Errorf("WithDefaults changed set fields (-set +got):\n%s", diff)
	}
}

func TestURLs(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" when accepted
	}{
		{"https://hooks.example.com/authpool?token=abc", ""},
		{"http://127.0.0.1:8080/hook", ""},
		{"http://[::1]/hook", ""},
		{"http://localhost:9000/hook", ""},
		{"", "missing"},
		{"http://hooks.example.com/T0KEN-in-path?key=T0KEN", "http://hooks.example.com is plain http"},
		{"ftp://hooks.example.com/T0KEN", `ftp://hooks.example.com: scheme "ftp" is not https`},
		{"https://user:T0KEN@hooks.example.com/", "https://hooks.example.com holds user information"},
		{"/relative/T0KEN", "has no host"},
		{"http://%zz/T0KEN", "not a URL"},
	}
	for _, tt := range tests {
		err := checkURL(tt.url)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkURL(%q) = %v, want it accepted", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("checkURL(%q) = %v, want an error saying %q", tt.url, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "T0KEN"):
			t.Errorf("checkURL(%q) = %v: the error shows the URL's token", tt.url, err)
		}
	}
}
func TestNewRefusesAnInvalidConfig(t *testing.T) {
	t.Parallel()
	valid := func(edit func(*Config)) Config {
		c := Config{URL: "https://hooks.example.com/authpool", Secret: testWebhookSecret}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"plain http", valid(func(c *Config) { c.URL = "http://hooks.example.com/authpool" }), "webhook: /url: "},
		{"plain http to a LAN address", valid(func(c *Config) { c.URL = "http://10.0.0.7:8080/hook" }), "plain http"},
		{"no URL", valid(func(c *Config) { c.URL = "" }), "webhook: /url: missing"},
		{"relative URL", valid(func(c *Config) { c.URL = "/hook" }), "/url: "},
		{"other scheme", valid(func(c *Config) { c.URL = "ftp://hooks.example.com/x" }), "/url: "},
		{"no secret", valid(func(c *Config) { c.Secret = "" }), "webhook: /secret: missing"},
		{"negative attempts", valid(func(c *Config) { c.MaxAttempts = -1 }), "webhook: /maxAttempts: -1"},
		{"too many attempts", valid(func(c *Config) { c.MaxAttempts = 101 }), "webhook: /maxAttempts: 101"},
		{"negative timeout", valid(func(c *Config) { c.Timeout = authpool.Duration(-time.Second) }), "webhook: /timeout: "},
		{"negative backoff", valid(func(c *Config) { c.MinBackoff = authpool.Duration(-time.Second) }), "webhook: /minBackoff: "},
		{"backoff bounds reversed", valid(func(c *Config) {
			c.MinBackoff = authpool.Duration(time.Minute)
			c.MaxBackoff = authpool.Duration(time.Second)
		}), "webhook: /maxBackoff: "},
		{"unknown event", valid(func(c *Config) { c.Events = []authpool.EventType{"thresholds"} }), "webhook: /events: "},
	} {
		n, err := New(c.cfg, nil)
		if n != nil || !errors.Is(err, authpool.ErrInvalidConfig) {
			t.Errorf("%s: got %v, %v; want an ErrInvalidConfig", c.name, n, err)
			continue
		}
		var ce *authpool.ConfigError
		if !errors.As(err, &ce) || ce.Source != "webhook" {
			t.Errorf("%s: error %#v is not a *ConfigError from webhook", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		if strings.Contains(err.Error(), testWebhookSecret) {
			t.Errorf("%s: error %q shows the secret", c.name, err)
		}
	}

	for _, url := range []string{
		"https://hooks.example.com/authpool?tenant=a",
		"http://127.0.0.1:9000/hook",
		"http://localhost/hook",
		"http://[::1]:8080/",
	} {
		if _, err := New(valid(func(c *Config) { c.URL = url }), nil); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}

	n, err := New(valid(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := Config{ // the URL kept apart (n.url), as the secret is (in n.sign)
		Timeout:     authpool.Duration(DefaultTimeout),
		MaxAttempts: DefaultAttempts,
		MinBackoff:  authpool.Duration(DefaultMinBackoff),
		MaxBackoff:  authpool.Duration(DefaultMaxBackoff),
	}
	if diff := cmp.Diff(wantCfg, n.cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if req, err := n.request(context.Background(), nil); err != nil || req.URL.String() != "https://hooks.example.com/authpool" {
		t.Errorf("the request is to %v (%v), want https://hooks.example.com/authpool", req.URL, err)
	}
	if n.client == nil || n.client == http.DefaultClient {
		t.Errorf("nil client became %p (http.DefaultClient is %p)", n.client, http.DefaultClient)
	}
	if got := n.String(); got != "webhook https://hooks.example.com" {
		t.Errorf("String() = %q", got)
	}

	// A client of the caller's is used, but not changed.
	own := &http.Client{Timeout: time.Minute}
	n, err = New(valid(nil), own)
	if err != nil {
		t.Fatal(err)
	}
	if own.CheckRedirect != nil || n.client.Timeout != time.Minute {
		t.Errorf("caller's client changed (%v) or not used (%v)", own.CheckRedirect != nil, n.client.Timeout)
	}
}
