package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The defaults: what Claude Code 2.1.332 uses for a Claude subscription
// (Pro, Max) logged in with the copy-paste redirect. docs/oauth.md lists
// them with the older endpoints some clients still use.
const (
	// DefaultClientID is Claude Code's public OAuth client id (a public
	// client in the sense of RFC 6749 §2.1: it has no secret, hence PKCE).
	DefaultClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	// DefaultAuthorizeURL is where a Claude subscription logs in.
	DefaultAuthorizeURL = "https://claude.com/cai/oauth/authorize"
	// ConsoleAuthorizeURL is where a Console (API billing) account logs in
	// instead.
	ConsoleAuthorizeURL = "https://platform.claude.com/oauth/authorize"
	// DefaultTokenURL is the token endpoint of both grants.
	DefaultTokenURL = "https://platform.claude.com/v1/oauth/token"
	// DefaultRedirectURI is the copy-paste redirect: its page shows
	// code#state for the user to paste back.
	DefaultRedirectURI = "https://platform.claude.com/oauth/code/callback"
	// DefaultUsageURL answers a subscription's 5-hour and weekly use.
	DefaultUsageURL = "https://api.anthropic.com/api/oauth/usage"
	// DefaultProfileURL answers the account, its organization and plan.
	DefaultProfileURL = "https://api.anthropic.com/api/oauth/profile"
)

// Scopes a login may be granted.
const (
	// ScopeInference lets a token call the Messages API. A grant without it
	// is a Console login, not a subscription.
	ScopeInference = "user:inference"
	// ScopeProfile lets a token read the profile and usage endpoints.
	ScopeProfile = "user:profile"
)

// DefaultScopes returns the scopes Claude Code 2.1.332 asks for a
// subscription login, in its order.
func DefaultScopes() []string {
	return []string{
		"org:create_api_key", ScopeProfile, ScopeInference, "user:sessions:claude_code",
		"user:mcp_servers", "user:file_upload", "user:plugins", "user:privacy_consents:write",
		"org:desktop_config",
	}
}

// Config is what a Client speaks to: the client id, the endpoints and the
// scopes. An empty field takes its default (DefaultConfig), so a Config
// that sets only TokenURL moves only the token endpoint. Every endpoint
// must be https, or http on a loopback address (a local fake, a localhost
// redirect).
type Config struct {
	ClientID     string
	AuthorizeURL string
	TokenURL     string
	// RedirectURI is sent with the authorization request and again with
	// the code; the default is the copy-paste page. A
	// http://localhost:<port>/callback works too, for a browser on the same
	// machine.
	RedirectURI string
	// Scopes are asked for at login, and at refresh unless the refresh
	// names its own.
	Scopes     []string
	UsageURL   string
	ProfileURL string
}

// DefaultConfig returns Claude Code 2.1.332's configuration for a Claude
// subscription with the copy-paste redirect.
func DefaultConfig() Config {
	return Config{
		ClientID:     DefaultClientID,
		AuthorizeURL: DefaultAuthorizeURL,
		TokenURL:     DefaultTokenURL,
		RedirectURI:  DefaultRedirectURI,
		Scopes:       DefaultScopes(),
		UsageURL:     DefaultUsageURL,
		ProfileURL:   DefaultProfileURL,
	}
}

// withDefaults returns c with every empty field set to its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&c.ClientID, d.ClientID}, {&c.AuthorizeURL, d.AuthorizeURL}, {&c.TokenURL, d.TokenURL},
		{&c.RedirectURI, d.RedirectURI}, {&c.UsageURL, d.UsageURL}, {&c.ProfileURL, d.ProfileURL},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = d.Scopes
	}
	c.Scopes = append([]string(nil), c.Scopes...)
	return c
}

// Validate reports every problem of c, each naming its field, as one error
// (errors.Join); nil when c is usable. Empty fields are fine: they take
// their defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if strings.TrimSpace(c.ClientID) != c.ClientID || strings.ContainsAny(c.ClientID, " \t\r\n&#?") {
		errs = append(errs, fmt.Errorf("oauth: config: ClientID %q has spaces or URL delimiters", c.ClientID))
	}
	for _, f := range []struct{ name, v string }{
		{"AuthorizeURL", c.AuthorizeURL}, {"TokenURL", c.TokenURL}, {"RedirectURI", c.RedirectURI},
		{"UsageURL", c.UsageURL}, {"ProfileURL", c.ProfileURL},
	} {
		if err := checkEndpoint(f.v); err != nil {
			errs = append(errs, fmt.Errorf("oauth: config: %s %q: %w", f.name, f.v, err))
		}
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			errs = append(errs, fmt.Errorf("oauth: config: Scopes[%d] %q is empty or has spaces, quotes or backslashes", i, s))
		}
	}
	return errors.Join(errs...)
}

// checkEndpoint checks that u is an absolute https URL, or http on a
// loopback host, with no fragment: tokens travel to it.
func checkEndpoint(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return errors.New("is not a URL")
	}
	switch {
	case p.Host == "" || p.Opaque != "":
		return errors.New("is not an absolute URL with a host")
	case p.Fragment != "" || strings.Contains(u, "#"):
		return errors.New("has a fragment")
	case p.User != nil:
		return errors.New("carries user information")
	case p.Scheme == "https":
		return nil
	case p.Scheme == "http" && loopback(p.Hostname()):
		return nil
	case p.Scheme == "http":
		return errors.New("is plain http to a host that is not loopback")
	}
	return fmt.Errorf("has scheme %q, not https", p.Scheme)
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
