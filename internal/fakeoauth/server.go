package fakeoauth

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The paths the fake serves; put them after the test server's URL.
const (
	AuthorizePath = "/oauth/authorize"
	TokenPath     = "/v1/oauth/token"
	UsagePath     = "/api/oauth/usage"
	ProfilePath   = "/api/oauth/profile"
)

// Scopes the fake's endpoints check.
const (
	ScopeInference = "user:inference"
	ScopeProfile   = "user:profile"
)

// ClaudeCodeClientID is Claude Code's public client id, the one the fake
// expects unless Options.ClientID says otherwise.
const ClaudeCodeClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"

// OAuthBeta is the anthropic-beta value the usage and profile endpoints
// require.
const OAuthBeta = "oauth-2025-04-20"

// Options configure a Server. The zero Options are Claude Code's client
// id, access tokens of 8 hours, refresh tokens of 30 days whose lifetime
// the answers give, rotated at every refresh, and time.Now.
type Options struct {
	// ClientID is the only client id the fake accepts.
	ClientID string
	// AccessTTL and RefreshTTL are the lifetimes of the tokens it issues.
	AccessTTL, RefreshTTL time.Duration
	// OmitRefreshTTL leaves refresh_token_expires_in out of token answers.
	OmitRefreshTTL bool
	// KeepRefreshToken makes a refresh answer without a new refresh token:
	// the old one stays valid (the server does not rotate).
	KeepRefreshToken bool
	// Now is the fake's clock, which decides what has expired.
	Now func() time.Time
	// Account and organization named in token and profile answers.
	AccountUUID, Email, OrganizationUUID, OrganizationName, OrganizationType string
}

// Request is one request the fake received.
type Request struct {
	// Method and Path are the request's.
	Method, Path string
	// Header is its headers.
	Header http.Header
	// Body is its body (up to 64 KiB).
	Body []byte
	// Status is what the fake answered.
	Status int
}

// Login is a login the fake issued: what a client would hold.
type Login struct {
	AccessToken, RefreshToken   string
	ExpiresAt, RefreshExpiresAt time.Time
	Scopes                      []string
}

// Server is the fake, an http.Handler. It is safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	codes    map[string]*pending // authorization codes not yet used
	access   map[string]*grant   // live access tokens
	refresh  map[string]*grant   // live refresh tokens
	usage    map[string][]byte   // usage answers by access token
	defUsage []byte
	fail     map[string][]failure // next answers by path
	reqs     []Request
	done     map[string]int // successful answers by path, and "refresh" for refresh grants
}

// pending is an authorization code waiting for its exchange.
type pending struct {
	challenge, redirectURI, state string
	scopes                        []string
	expires                       time.Time
}

// grant is a token's life: its scopes and expiry.
type grant struct {
	scopes  []string
	expires time.Time
}

type failure struct {
	status int
	body   string
}

// DefaultUsage is the usage answer of a token that SetUsage has not set.
const DefaultUsage = `{"five_hour":{"utilization":42.0,"resets_at":"2026-12-07T12:00:00+00:00"},` +
	`"seven_day":{"utilization":18.0,"resets_at":"2026-12-11T09:00:00+00:00"},` +
	`"seven_day_oauth_apps":null,"seven_day_opus":{"utilization":3.0,"resets_at":"2026-12-11T09:00:00+00:00"},` +
	`"seven_day_sonnet":null,` +
	`"extra_usage":{"is_enabled":false,"monthly_limit":null,"used_credits":null,"utilization":null,"currency":null}}`

// New returns a fake with opts, zero fields taking their defaults.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = ClaudeCodeClientID
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 8 * time.Hour
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 30 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&opts.AccountUUID, "00000000-0000-4000-8000-00000000000a"}, {&opts.Email, "pool@example.com"},
		{&opts.OrganizationUUID, "00000000-0000-4000-8000-00000000000b"}, {&opts.OrganizationName, "Example Org"},
		{&opts.OrganizationType, "claude_max"},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	return &Server{
		opts: opts, codes: map[string]*pending{}, access: map[string]*grant{}, refresh: map[string]*grant{},
		usage: map[string][]byte{}, defUsage: []byte(DefaultUsage), fail: map[string][]failure{}, done: map[string]int{},
	}
}

// maxRecorded bounds the body a Request keeps.
const maxRecorded = 64 << 10

// ServeHTTP answers one request and records it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecorded))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mu.Lock()
	f, failing := s.nextFailure(r.URL.Path)
	s.mu.Unlock()
	switch {
	case failing:
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(f.status)
		_, _ = io.WriteString(rec, f.body)
	case r.URL.Path == AuthorizePath:
		s.authorize(rec, r)
	case r.URL.Path == TokenPath:
		s.token(rec, r, body)
	case r.URL.Path == UsagePath:
		s.serveUsage(rec, r)
	case r.URL.Path == ProfilePath:
		s.profile(rec, r)
	default:
		http.NotFound(rec, r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Status: rec.status})
}

// recorder keeps the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// nextFailure pops the next failure set for path. mu must be held.
func (s *Server) nextFailure(path string) (failure, bool) {
	q := s.fail[path]
	if len(q) == 0 {
		return failure{}, false
	}
	s.fail[path] = q[1:]
	return q[0], true
}

// FailNext makes the next answer to path (one of the Path constants) be
// status with body, whatever the request; calls queue up.
func (s *Server) FailNext(path string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = append(s.fail[path], failure{status, body})
}

// SetUsage sets the usage answer for accessToken; SetDefaultUsage for
// tokens without one.
func (s *Server) SetUsage(accessToken string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage[accessToken] = slices.Clone(body)
}

// SetDefaultUsage sets the usage answer of tokens SetUsage has not set.
func (s *Server) SetDefaultUsage(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defUsage = slices.Clone(body)
}

// Requests returns a copy of the requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Count returns how many requests to path got a 2xx answer; Count("refresh")
// counts the refresh grants answered.
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[path]
}

// Mint issues a login with scopes, as if a user had logged in.
func (s *Server) Mint(scopes ...string) Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue(slices.Clone(scopes), true, s.opts.AccessTTL)
}

// MintSetupToken issues what `claude setup-token` prints: an access token
// of one year with the user:inference scope and no refresh token.
func (s *Server) MintSetupToken() Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue([]string{ScopeInference}, false, 365*24*time.Hour)
}

// issue creates tokens with scopes. mu must be held.
func (s *Server) issue(scopes []string, withRefresh bool, ttl time.Duration) Login {
	now := s.opts.Now()
	l := Login{AccessToken: "sk-ant-oat01-fake-" + randomHex(), ExpiresAt: now.Add(ttl), Scopes: scopes}
	s.access[l.AccessToken] = &grant{scopes: scopes, expires: l.ExpiresAt}
	if withRefresh {
		l.RefreshToken, l.RefreshExpiresAt = "sk-ant-ort01-fake-"+randomHex(), now.Add(s.opts.RefreshTTL)
		s.refresh[l.RefreshToken] = &grant{scopes: scopes, expires: l.RefreshExpiresAt}
	}
	return l
}

// randomHex returns 16 random bytes in hex.
func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hasScope reports whether scopes holds want.
func hasScope(scopes []string, want string) bool { return slices.Contains(scopes, want) }

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}
