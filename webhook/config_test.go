package webhook

import (
	"errors"
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
