package oauth_test

import (
	"strings"
	"testing"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/google/go-cmp/cmp"
)

// The defaults are Claude Code 2.1.332's, for a subscription with the
// copy-paste redirect (docs/oauth.md).
func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	want := oauth.Config{
		ClientID:     "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
		AuthorizeURL: "https://claude.com/cai/oauth/authorize",
		TokenURL:     "https://platform.claude.com/v1/oauth/token",
		RedirectURI:  "https://platform.claude.com/oauth/code/callback",
		Scopes: []string{"org:create_api_key", "user:profile", "user:inference", "user:sessions:claude_code",
			"user:mcp_servers", "user:file_upload", "user:plugins", "user:privacy_consents:write", "org:desktop_config"},
		UsageURL:   "https://api.anthropic.com/api/oauth/usage",
		ProfileURL: "https://api.anthropic.com/api/oauth/profile",
	}
	if diff := cmp.Diff(want, oauth.DefaultConfig()); diff != "" {
		t.Errorf("DefaultConfig (-want +got):\n%s", diff)
	}
	if fakeoauth.ClaudeCodeClientID != oauth.DefaultClientID {
		t.Errorf("the fake expects client id %q, the client sends %q", fakeoauth.ClaudeCodeClientID, oauth.DefaultClientID)
	}
	c, err := oauth.New(oauth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c.Config()); diff != "" {
		t.Errorf("New(Config{}).Config() (-want +got):\n%s", diff)
	}
}

// A Config that sets some fields keeps the defaults of the others.
func TestConfigPartial(t *testing.T) {
	t.Parallel()
	c, err := oauth.New(oauth.Config{TokenURL: "https://console.anthropic.com/v1/oauth/token", Scopes: []string{"user:inference"}})
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.DefaultConfig()
	want.TokenURL, want.Scopes = "https://console.anthropic.com/v1/oauth/token", []string{"user:inference"}
	if diff := cmp.Diff(want, c.Config()); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  oauth.Config
		want []string // every one in the error; none: valid
	}{
		{"zero", oauth.Config{}, nil},
		{"loopback http", oauth.Config{TokenURL: "http://127.0.0.1:8080/token", RedirectURI: "http://localhost:54545/callback",
			UsageURL: "http://[::1]:9/usage"}, nil},
		{"plain http elsewhere", oauth.Config{TokenURL: "http://platform.claude.com/v1/oauth/token"},
			[]string{`TokenURL "http://platform.claude.com/v1/oauth/token": is plain http to a host that is not loopback`}},
		{"relative", oauth.Config{AuthorizeURL: "/oauth/authorize"}, []string{"AuthorizeURL", "not an absolute URL"}},
		{"scheme", oauth.Config{UsageURL: "ftp://api.anthropic.com/usage"}, []string{`UsageURL`, `scheme "ftp"`}},
		{"fragment", oauth.Config{RedirectURI: "https://example.com/cb#x"}, []string{"RedirectURI", "fragment"}},
		{"user info", oauth.Config{ProfileURL: "https://u:p@example.com/p"}, []string{"ProfileURL", "user information"}},
		{"not a URL", oauth.Config{TokenURL: "https://exa mple.com/%zz"}, []string{"TokenURL", "not a URL"}},
		{"client id", oauth.Config{ClientID: "a b"}, []string{`ClientID "a b"`}},
		{"scope", oauth.Config{Scopes: []string{"user:inference", "user profile", ""}},
			[]string{`Scopes[1] "user profile"`, `Scopes[2] ""`}},
		{"several", oauth.Config{TokenURL: "x", UsageURL: "y"}, []string{"TokenURL", "UsageURL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			_, nerr := oauth.New(tt.cfg)
			if (err == nil) != (nerr == nil) {
				t.Errorf("Validate: %v, but New: %v", err, nerr)
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
