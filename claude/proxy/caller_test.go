package proxy_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
)

// ValidateCallers names every problem by its field in a config file's
// "callers", in field order; valid callers have none.
func TestValidateCallers(t *testing.T) {
	const long = authpool.Credential("a-caller-key-long-enough-000")
	tests := []struct {
		name    string
		callers []proxy.Caller
		want    []string // the problems, each "pointer: message"; nil: valid
	}{
		{"none", nil, nil},
		{"every field set, and a caller exempt", []proxy.Caller{
			{ID: "a", Key: long, CapUSD: 40, CapWindow: authpool.Duration(7 * 24 * time.Hour),
				Rate: &proxy.RateLimit{PerSecond: 1e6, Burst: 1 << 30}, Sessionless: proxy.SessionlessSpread},
			{ID: "b", Key: long + "1", Rate: &proxy.RateLimit{}, Sessionless: proxy.SessionlessSticky},
		}, nil},
		{"an ID too long, a key with a line break", []proxy.Caller{{ID: strings.Repeat("x", bounds.MaxIDLength+1), Key: long + "\n"}}, []string{
			"/callers/0/id: id is 257 bytes long, more than 256",
			"/callers/0/key: holds a control character or a line break",
		}},
		{"an ID longer than a stored caller's", []proxy.Caller{{ID: strings.Repeat("x", 65), Key: long}}, []string{
			"/callers/0/id: id is 65 bytes long, more than 64",
		}},
		{"a NaN cap, a window past a week", []proxy.Caller{{ID: "a", Key: long, CapUSD: math.NaN(), CapWindow: authpool.Duration(169 * time.Hour)}}, []string{
			"/callers/0/capUSD: NaN: must be in 0..1e+06",
			"/callers/0/capWindow: 169h0m0s: must be whole hours, up to a week",
		}},
		{"a rate checked as its own", []proxy.Caller{{ID: "a", Key: long}, {ID: "b", Key: long + "1", Rate: &proxy.RateLimit{PerSecond: math.Inf(-1)}}}, []string{
			"/callers/1/rate/perSecond: -Inf: must be in 0..1e+06",
		}},
		{"a burst without a rate", []proxy.Caller{{ID: "a", Key: long, Rate: &proxy.RateLimit{Burst: 5}}}, []string{
			"/callers/0/rate/burst: 5: set perSecond too, or neither (a bucket that never refills would refuse the client for good)",
		}},
		{"a sessionless mode in the wrong case", []proxy.Caller{{ID: "a", Key: long, Sessionless: "Spread"}}, []string{
			`/callers/0/sessionless: "Spread": must be "sticky" or "spread"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := proxy.ValidateCallers(tt.callers)
			var got []string
			var ce *authpool.ConfigError
			if errors.As(err, &ce) {
				if ce.Source != "callers" || !errors.Is(err, authpool.ErrInvalidConfig) {
					t.Errorf("source %q, matches ErrInvalidConfig: %v; want callers, true", ce.Source, errors.Is(err, authpool.ErrInvalidConfig))
				}
				for _, p := range ce.Problems {
					got = append(got, p.Error())
				}
			} else if err != nil {
				t.Fatalf("ValidateCallers = %v; want a *authpool.ConfigError or nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// ValidateCallerSettings checks one caller as ValidateCallers does, in its
// words, but for its key, and names each field from the caller itself.
func TestValidateCallerSettings(t *testing.T) {
	tests := []struct {
		name   string
		caller proxy.Caller
		want   []string // nil: valid
	}{
		{"no key, every setting", proxy.Caller{ID: "ci", CapUSD: 20, CapWindow: authpool.Duration(5 * time.Hour),
			Rate: &proxy.RateLimit{PerSecond: 2, Burst: 5}, Sessionless: proxy.SessionlessSpread}, nil},
		{"only an ID", proxy.Caller{ID: "ci"}, nil},
		{"no ID", proxy.Caller{}, []string{"/id: id is empty"}},
		{"every setting wrong", proxy.Caller{ID: "ci", CapUSD: -1, CapWindow: authpool.Duration(90 * time.Minute),
			Rate: &proxy.RateLimit{PerSecond: 2}, Sessionless: "round-robin"}, []string{
			"/capUSD: -1: must be in 0..1e+06",
			"/capWindow: 1h30m0s: must be whole hours, up to a week",
			`/sessionless: "round-robin": must be "sticky" or "spread"`,
			"/rate/burst: 0: must be at least 1 when perSecond is set (a bucket of 0 refuses every call)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := proxy.ValidateCallerSettings(tt.caller)
			var got []string
			var ce *authpool.ConfigError
			if errors.As(err, &ce) {
				if ce.Source != "caller" || !errors.Is(err, authpool.ErrInvalidConfig) {
					t.Errorf("source %q, matches ErrInvalidConfig: %v; want caller, true", ce.Source, errors.Is(err, authpool.ErrInvalidConfig))
				}
				for _, p := range ce.Problems {
					got = append(got, p.Error())
				}
			} else if err != nil {
				t.Fatalf("ValidateCallerSettings = %v; want a *authpool.ConfigError or nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
