package configfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
)

func TestServerWithDefaults(t *testing.T) {
	want := Server{
		Listen: DefaultListen, Store: ServerStore{URL: "memory", Prefix: "authpool"}, Upstream: "https://api.anthropic.com",
		RebalanceEvery: authpool.Duration(time.Minute), RefreshBefore: authpool.Duration(10 * time.Minute),
		ShutdownGrace: authpool.Duration(30 * time.Second),
		UsagePoll:     UsagePoll{Every: authpool.Duration(5 * time.Minute), Jitter: authpool.Duration(time.Minute), QuietFor: authpool.Duration(5 * time.Minute)},
	}
	if diff := cmp.Diff(want, Server{}.WithDefaults()); diff != "" {
		t.Errorf("Server{}.WithDefaults() (-want +got):\n%s", diff)
	}
	if err := (Server{}).Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

// TestServerValidate: each server section either validates or is refused
// with exactly the problems listed, each naming its field.
func TestServerValidate(t *testing.T) {
	tls := &ServerTLS{CertFile: "c.pem", KeyFile: "k.pem"}
	for _, tc := range []struct {
		name string
		s    Server
		want []string // the problems' pointers
	}{
		{"loopback v4", Server{Listen: "127.0.0.1:0"}, nil},
		{"loopback v6", Server{Listen: "[::1]:8787"}, nil},
		{"localhost", Server{Listen: "localhost:8787"}, nil},
		{"every interface", Server{Listen: ":8787"}, []string{"/server/listen"}},
		{"public without TLS", Server{Listen: "0.0.0.0:80"}, []string{"/server/listen"}},
		{"a host name", Server{Listen: "pool.example.com:443"}, []string{"/server/listen"}},
		{"public with TLS", Server{Listen: "0.0.0.0:443", TLS: tls}, nil},
		{"public behind a balancer", Server{Listen: "0.0.0.0:80", InsecureListen: true}, nil},
		{"TLS without files", Server{TLS: &ServerTLS{}}, []string{"/server/tls/certFile", "/server/tls/keyFile"}},
		{"no port", Server{Listen: "127.0.0.1"}, []string{"/server/listen"}},
		{"port out of range", Server{Listen: "127.0.0.1:65536"}, []string{"/server/listen"}},
		{"short tokens", Server{AdminToken: "short", StatusToken: "also-short"}, []string{"/server/adminToken", "/server/statusToken"}},
		{"a token with a line break", Server{AdminToken: "admin-token-0123456789\n"}, []string{"/server/adminToken"}},
		{"the same token twice", Server{AdminToken: "one-token-0123456789", StatusToken: "one-token-0123456789"}, []string{"/server/statusToken"}},
		{"redis", Server{Store: ServerStore{URL: "redis://127.0.0.1:6379/12", Password: "a-password"}}, nil},
		{"rediss with a user", Server{Store: ServerStore{URL: "rediss://pool@redis.example.com:6380"}}, nil},
		{"another scheme", Server{Store: ServerStore{URL: "postgres://db"}}, []string{"/server/store/url"}},
		{"no host", Server{Store: ServerStore{URL: "redis:///0"}}, []string{"/server/store/url"}},
		{"a password in the URL", Server{Store: ServerStore{URL: "redis://u:p@h:1"}}, []string{"/server/store/url"}},
		{"a memory store with a password", Server{Store: ServerStore{Password: "a-password"}}, []string{"/server/store/password"}},
		{"a bad prefix", Server{Store: ServerStore{Prefix: "a:b"}}, []string{"/server/store/prefix"}},
		{"a loopback http upstream", Server{Upstream: "http://127.0.0.1:9999"}, nil},
		{"a plain http upstream", Server{Upstream: "http://api.example.com"}, []string{"/server/upstream"}},
		{"an upstream with a query", Server{Upstream: "https://api.example.com/?a=b"}, []string{"/server/upstream"}},
		{"not a URL", Server{Upstream: "api.example.com"}, []string{"/server/upstream"}},
		{"rebalancing too often", Server{RebalanceEvery: authpool.Duration(time.Millisecond)}, []string{"/server/rebalanceEvery"}},
		{"refresh too late", Server{RebalanceEvery: authpool.Duration(time.Hour)}, []string{"/server/refreshBefore"}},
		{"a long grace", Server{ShutdownGrace: authpool.Duration(2 * time.Hour)}, []string{"/server/shutdownGrace"}},
		{"polls too often", Server{UsagePoll: UsagePoll{Every: authpool.Duration(time.Second), Jitter: authpool.Duration(time.Millisecond)}},
			[]string{"/server/usagePoll/every"}},
		{"jitter as long as every", Server{UsagePoll: UsagePoll{Every: authpool.Duration(time.Minute), Jitter: authpool.Duration(time.Minute)}},
			[]string{"/server/usagePoll/jitter"}},
		{"oauth endpoints", Server{OAuth: OAuth{TokenURL: "ftp://x", UsageURL: "https://u/#frag", ClientID: "a b"}},
			[]string{"/server/oauth/clientId", "/server/oauth/tokenUrl", "/server/oauth/usageUrl"}},
		{"oauth on loopback", Server{OAuth: OAuth{TokenURL: "http://127.0.0.1:1/t", UsageURL: "http://localhost:2/u"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			var got []string
			var ce *authpool.ConfigError
			if errors.As(err, &ce) {
				for _, p := range ce.Problems {
					at, _, _ := strings.Cut(p.Error(), ":")
					got = append(got, at)
				}
			} else if err != nil {
				t.Fatalf("Validate() = %v (%T), want a *ConfigError", err, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() = %v\nproblems (-want +got):\n%s", err, diff)
			}
			if err != nil && !errors.Is(err, authpool.ErrInvalidConfig) {
				t.Errorf("Validate() = %v: not ErrInvalidConfig", err)
			}
		})
	}
}

// TestServerProblemsHoldNoSecret: a store URL with a password is refused
// without quoting it, and tokens are never quoted.
func TestServerProblemsHoldNoSecret(t *testing.T) {
	err := Server{Store: ServerStore{URL: "redis://user:pw-secret-value@h:1"}, AdminToken: "tok-secret\n", StatusToken: "tok-secret2"}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want problems")
	}
	for _, secret := range []string{"pw-secret-value", "tok-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the problems quote %q:\n%v", secret, err)
		}
	}
}

func ExampleServer_Validate() {
	err := Server{Listen: "0.0.0.0:8787", Store: ServerStore{URL: "redis://:hunter2@redis:6379"}}.Validate()
	fmt.Println(err)
	// Output:
	// server: /server/listen: "0.0.0.0:8787" is not a loopback address: serve TLS (server.tls) or, behind a load balancer that terminates TLS, set server.insecureListen
	// server: /server/store/url: holds a password: give it as /server/store/password, a secret ({"env": NAME} or {"file": PATH})
}

// TestServerUpstreamProblemHoldsNoPassword: an upstream URL with user
// information is refused without quoting it, even when the password (one
// with a '#', '%' or '/') keeps the URL from parsing.
func TestServerUpstreamProblemHoldsNoPassword(t *testing.T) {
	for _, tc := range []struct{ upstream, secret string }{
		{"https://user:pw-secret#value@api.example.com", "pw-secret"},
		{"https://user:pw-secret%zz@api.example.com", "pw-secret"},
		{"https://user:pw-secret@api.example.com", "pw-secret"},
	} {
		err := Server{Upstream: tc.upstream}.Validate()
		if err == nil {
			t.Errorf("Validate(upstream %q) = nil, want a problem", tc.upstream)
			continue
		}
		if strings.Contains(err.Error(), tc.secret) {
			t.Errorf("Validate(upstream with a password) quotes it:\n%v", err)
		}
	}
}
