package configfile

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/claude/proxy"
)

// Server is a config file's "server" section: how `authpool serve` (package
// server) listens, whom it lets in, where it keeps the pool and how often it
// does its background work. Every field has a default (WithDefaults), so a
// file without the section serves on loopback from the in-memory store.
type Server struct {
	// Listen is the TCP address the server listens on, host:port (port 0
	// picks a free one). The default is DefaultListen, a loopback address.
	// An address that is not loopback needs TLS, or InsecureListen.
	Listen string `json:"listen,omitempty"`
	// TLS, when set, makes the server speak HTTPS with a certificate and
	// key read from files. The default is plain HTTP.
	TLS *ServerTLS `json:"tls,omitempty"`
	// InsecureListen allows a Listen address that is not loopback without
	// TLS: for a server behind a load balancer that terminates TLS. The
	// default refuses it.
	InsecureListen bool `json:"insecureListen,omitempty"`
	// AdminToken, a secret, opens the admin API (/admin/v1/...) to a bearer
	// of it. The default is none: the admin API is off.
	AdminToken authpool.Credential `json:"adminToken,omitzero"`
	// StatusToken, a secret, opens /status and /metrics to a bearer of it
	// (the admin token opens them too). The default is none.
	StatusToken authpool.Credential `json:"statusToken,omitzero"`
	// PublicStatus serves /status and /metrics without a token. The
	// default is false: they ask for one.
	PublicStatus bool `json:"publicStatus,omitempty"`
	// Store is where the pool lives. The default is the in-memory store.
	Store ServerStore `json:"store,omitzero"`
	// Upstream is the Anthropic API's base URL. The default is
	// proxy.DefaultUpstream.
	Upstream string `json:"upstream,omitempty"`
	// RebalanceEvery is how often the server calls Pool.Rebalance, which
	// also refreshes the credentials about to expire. The default is
	// DefaultRebalanceEvery.
	RebalanceEvery authpool.Duration `json:"rebalanceEvery,omitempty"`
	// RefreshBefore is how long before it expires a subscription's OAuth
	// token is refreshed (authpool.WithRefresher): at least twice
	// RebalanceEvery. The default is DefaultRefreshBefore.
	RefreshBefore authpool.Duration `json:"refreshBefore,omitempty"`
	// ShutdownGrace is how long the requests in flight (streams included)
	// may take to finish once the server is told to stop. The default is
	// DefaultShutdownGrace.
	ShutdownGrace authpool.Duration `json:"shutdownGrace,omitempty"`
	// UsagePoll says how the server reads the usage endpoint of idle
	// subscriptions.
	UsagePoll UsagePoll `json:"usagePoll,omitzero"`
	// OAuth moves Claude's OAuth endpoints (login, refresh, usage): an empty
	// field keeps claude/oauth's default.
	OAuth OAuth `json:"oauth,omitzero"`
}

// ServerTLS names the files of the server's certificate and private key
// (PEM), relative to the config file's directory.
type ServerTLS struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// ServerStore is where the server keeps the pool.
type ServerStore struct {
	// URL is "memory" (the default: one process, nothing kept across
	// restarts) or a Redis URL, redis://[user@]host:port/db or rediss://
	// for TLS, without a password. A Redis store needs sealing keys in
	// AUTHPOOL_SEAL_KEYS.
	URL string `json:"url,omitempty"`
	// Prefix names the pool's keys in Redis (see redisstore.WithPrefix).
	// The default is DefaultStorePrefix.
	Prefix string `json:"prefix,omitempty"`
	// Password, a secret, is Redis's password. The default is none.
	Password authpool.Credential `json:"password,omitzero"`
}

// UsagePoll says how the server reads Claude's usage endpoint for the
// subscriptions that have been quiet (no response with rate-limit headers
// for QuietFor): every Every, give or take up to Jitter, once across the
// servers sharing the store.
type UsagePoll struct {
	// Every is the interval between two rounds. The default is
	// DefaultUsagePollEvery; at least 30 s.
	Every authpool.Duration `json:"every,omitempty"`
	// Jitter is the most a round moves from Every, either way: less than
	// Every. The default is DefaultUsagePollJitter.
	Jitter authpool.Duration `json:"jitter,omitempty"`
	// QuietFor is how long a subscription must have gone without a report
	// of its windows (from a response's headers or a poll) to be polled.
	// The default is DefaultUsageQuietFor.
	QuietFor authpool.Duration `json:"quietFor,omitempty"`
	// Off turns the poller off.
	Off bool `json:"off,omitempty"`
}

// OAuth is claude/oauth's Config as a config file writes it: each empty
// field takes claude/oauth's default (Claude Code's client and endpoints).
type OAuth struct {
	ClientID     string   `json:"clientId,omitempty"`
	AuthorizeURL string   `json:"authorizeUrl,omitempty"`
	TokenURL     string   `json:"tokenUrl,omitempty"`
	RedirectURI  string   `json:"redirectUri,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	UsageURL     string   `json:"usageUrl,omitempty"`
	ProfileURL   string   `json:"profileUrl,omitempty"`
}

// Config returns o as claude/oauth's Config.
func (o OAuth) Config() oauth.Config {
	return oauth.Config{ClientID: o.ClientID, AuthorizeURL: o.AuthorizeURL, TokenURL: o.TokenURL,
		RedirectURI: o.RedirectURI, Scopes: slices.Clone(o.Scopes), UsageURL: o.UsageURL, ProfileURL: o.ProfileURL}
}

// The server section's defaults, which Server.WithDefaults applies.
const (
	DefaultListen          = "127.0.0.1:8787"
	DefaultStoreURL        = "memory"
	DefaultStorePrefix     = "authpool" // redisstore.DefaultPrefix
	DefaultRebalanceEvery  = time.Minute
	DefaultRefreshBefore   = 10 * time.Minute
	DefaultShutdownGrace   = 30 * time.Second
	DefaultUsagePollEvery  = 5 * time.Minute
	DefaultUsagePollJitter = time.Minute
	DefaultUsageQuietFor   = 5 * time.Minute
)

// MinServerToken is the shortest admin or status token accepted, in bytes.
const MinServerToken = proxy.MinCallerKey

// WithDefaults returns s with every zero field set to its default: the one
// place the server's defaults are applied (the schema repeats them).
func (s Server) WithDefaults() Server {
	str := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	dur := func(v *authpool.Duration, d time.Duration) {
		if *v == 0 {
			*v = authpool.Duration(d)
		}
	}
	str(&s.Listen, DefaultListen)
	str(&s.Store.URL, DefaultStoreURL)
	str(&s.Store.Prefix, DefaultStorePrefix)
	str(&s.Upstream, proxy.DefaultUpstream)
	dur(&s.RebalanceEvery, DefaultRebalanceEvery)
	dur(&s.RefreshBefore, DefaultRefreshBefore)
	dur(&s.ShutdownGrace, DefaultShutdownGrace)
	dur(&s.UsagePoll.Every, DefaultUsagePollEvery)
	dur(&s.UsagePoll.Jitter, DefaultUsagePollJitter)
	dur(&s.UsagePoll.QuietFor, DefaultUsageQuietFor)
	return s
}

// Validate reports every problem of s with its defaults applied, as a
// *authpool.ConfigError (matching authpool.ErrInvalidConfig) from "server"
// whose problems name each field by its JSON pointer in a config file
// ("/server/listen: ..."), or nil. The server refuses what it refuses; a
// file's server section is checked so when it is read.
func (s Server) Validate() error {
	if errs := s.WithDefaults().problems(); len(errs) > 0 {
		return &authpool.ConfigError{Source: "server", Problems: errs}
	}
	return nil
}

// problems lists what is wrong with a server section whose defaults are
// applied, each as "/server/field: ...".
func (s Server) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("/server/%s: %s", field, fmt.Sprintf(format, args...)))
	}
	s.checkListen(bad)
	for _, t := range []struct {
		field string
		v     authpool.Credential
	}{{"adminToken", s.AdminToken}, {"statusToken", s.StatusToken}} {
		switch {
		case t.v == "":
		case len(t.v) < MinServerToken:
			bad(t.field, "%d bytes long: must be at least %d", len(t.v), MinServerToken)
		case strings.ContainsFunc(t.v.Reveal(), unicode.IsControl):
			bad(t.field, "holds a control character or a line break")
		}
	}
	if s.StatusToken != "" && s.StatusToken == s.AdminToken {
		bad("statusToken", "the same as adminToken: a status token must not open the admin API")
	}
	s.Store.check(bad)
	if err := checkUpstream(s.Upstream); err != nil {
		bad("upstream", "%v", err)
	}
	s.checkDurations(bad)
	s.OAuth.check(bad)
	return errs
}

// checkListen checks the address, and that it is loopback unless the server
// speaks TLS or is told it may listen without.
func (s Server) checkListen(bad func(field, format string, args ...any)) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		bad("listen", "%q is not host:port, such as %q or \":8443\"", clip(s.Listen), DefaultListen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen", "%q: the port must be a number in 0..65535", clip(s.Listen))
		return
	}
	if s.TLS != nil {
		if s.TLS.CertFile == "" {
			bad("tls/certFile", "missing: the certificate's PEM file")
		}
		if s.TLS.KeyFile == "" {
			bad("tls/keyFile", "missing: the private key's PEM file")
		}
	}
	if s.TLS == nil && !s.InsecureListen && !Loopback(host) {
		bad("listen", "%q is not a loopback address: serve TLS (server.tls) or, behind a load balancer that "+
			"terminates TLS, set server.insecureListen", clip(s.Listen))
	}
}

// Loopback reports whether host (of a listen address) is loopback only:
// localhost or a loopback IP. An empty host, every interface, is not.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDurations checks the intervals against each other and their bounds.
func (s Server) checkDurations(bad func(field, format string, args ...any)) {
	between := func(field string, d authpool.Duration, lo, hi time.Duration) {
		if v := time.Duration(d); v < lo || v > hi {
			bad(field, "%v: must be in %v..%v", v, lo, hi)
		}
	}
	between("rebalanceEvery", s.RebalanceEvery, time.Second, time.Hour)
	between("refreshBefore", s.RefreshBefore, time.Second, 24*time.Hour)
	if s.RefreshBefore < 2*s.RebalanceEvery {
		bad("refreshBefore", "%v: must be at least twice rebalanceEvery (%v), so that a failed refresh is tried again before the token expires",
			time.Duration(s.RefreshBefore), time.Duration(s.RebalanceEvery))
	}
	between("shutdownGrace", s.ShutdownGrace, 0, time.Hour)
	between("usagePoll/every", s.UsagePoll.Every, 30*time.Second, 24*time.Hour)
	if s.UsagePoll.Jitter < 0 || s.UsagePoll.Jitter >= s.UsagePoll.Every {
		bad("usagePoll/jitter", "%v: must be less than every (%v)", time.Duration(s.UsagePoll.Jitter), time.Duration(s.UsagePoll.Every))
	}
	between("usagePoll/quietFor", s.UsagePoll.QuietFor, 0, 7*24*time.Hour)
}

// check checks the store's URL, prefix and password.
func (st ServerStore) check(bad func(field, format string, args ...any)) {
	if st.Prefix != "" && !validPrefix(st.Prefix) {
		bad("store/prefix", "%q: must be 1 to 128 letters, digits, '.', '_', '-' or '/'", clip(st.Prefix))
	}
	if st.URL == DefaultStoreURL {
		if st.Password != "" {
			bad("store/password", "the memory store takes no password")
		}
		return
	}
	u, err := url.Parse(st.URL)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss"):
		bad("store/url", `must be "memory" or a Redis URL, redis://host:port/db (rediss:// for TLS)`)
	case u.Host == "":
		bad("store/url", "the Redis URL names no host")
	case hasPassword(u):
		// Not quoted: it holds a secret.
		bad("store/url", `holds a password: give it as /server/store/password, a secret ({"env": NAME} or {"file": PATH})`)
	case u.Fragment != "":
		bad("store/url", "has a fragment")
	}
	if st.Password != "" && strings.ContainsFunc(st.Password.Reveal(), unicode.IsControl) {
		bad("store/password", "holds a control character or a line break")
	}
}

func hasPassword(u *url.URL) bool {
	if u.User == nil {
		return false
	}
	_, set := u.User.Password()
	return set
}

// validPrefix reports whether p is 1 to 128 of [A-Za-z0-9._/-]: no brace
// or colon, which the keys' hash tag and layout use.
func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > 128 {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/')
	})
}

// checkUpstream checks an upstream base URL: absolute, https or http to a
// loopback host (credentials travel to it), without user information.
func checkUpstream(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case (err != nil || u.Host == "") && strings.Contains(raw, "@"):
		// Not quoted: what precedes the '@' may be a password that kept
		// the URL from parsing.
		return errors.New("is not an absolute URL, and carries what may be user information")
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", clip(raw))
	case u.User != nil:
		return fmt.Errorf("carries user information")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: a base URL has no query or fragment", u.Redacted())
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && Loopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q is plain http to a host that is not loopback: credentials travel to it", u.Redacted())
	}
	return fmt.Errorf("%q: the scheme must be https (or http to a loopback host)", u.Redacted())
}

// check checks each field set with claude/oauth's own rules, one field at a
// time, so that each problem names its field.
func (o OAuth) check(bad func(field, format string, args ...any)) {
	for _, f := range []struct {
		field string
		cfg   oauth.Config
	}{
		{"clientId", oauth.Config{ClientID: o.ClientID}}, {"authorizeUrl", oauth.Config{AuthorizeURL: o.AuthorizeURL}},
		{"tokenUrl", oauth.Config{TokenURL: o.TokenURL}}, {"redirectUri", oauth.Config{RedirectURI: o.RedirectURI}},
		{"usageUrl", oauth.Config{UsageURL: o.UsageURL}}, {"profileUrl", oauth.Config{ProfileURL: o.ProfileURL}},
	} {
		if err := f.cfg.Validate(); err != nil {
			_, why, _ := strings.Cut(err.Error(), "oauth: config: ")
			_, why, _ = strings.Cut(why, " ") // the Go field's name: the pointer names it
			bad("oauth/"+f.field, "%s", strings.Replace(why, ": ", " ", 1))
		}
	}
	for i, s := range o.Scopes {
		if err := (oauth.Config{Scopes: []string{s}}).Validate(); err != nil {
			bad(fmt.Sprintf("oauth/scopes/%d", i), "%q: must not be empty or hold spaces, quotes or backslashes", clip(s))
		}
	}
}

// clip bounds a value quoted in a problem.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:61] + "..."
}

// tokenClashes reports an admin or status token that is also a caller's
// key: whoever holds the key would hold the token too.
func (f File) tokenClashes() []error {
	var errs []error
	for _, t := range []struct {
		field string
		v     authpool.Credential
	}{{"adminToken", f.Server.AdminToken}, {"statusToken", f.Server.StatusToken}} {
		if t.v == "" {
			continue
		}
		if i := slices.IndexFunc(f.Callers, func(c proxy.Caller) bool { return c.Key == t.v }); i >= 0 {
			errs = append(errs, fmt.Errorf("/server/%s: the same as the key of /callers/%d: a caller must not hold it", t.field, i))
		}
	}
	return errs
}
