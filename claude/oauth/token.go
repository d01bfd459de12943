package oauth

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// Token is a login's tokens and what came with them. Its String, GoString,
// JSON and slog forms never show the tokens (store.Secret shows them as
// [REDACTED]); Reveal them only to send them or to store them sealed.
type Token struct {
	// AccessToken is the bearer token for the Messages API and the usage
	// endpoint.
	AccessToken store.Secret `json:"access_token"`
	// RefreshToken gets a new access token; empty for a token that cannot
	// be refreshed (claude setup-token's). Treat it as single-use: after a
	// refresh, keep the one Refresh returns.
	RefreshToken store.Secret `json:"refresh_token,omitempty"`
	// ExpiresAt is when AccessToken expires; zero when not known (a
	// credentials file without expiresAt).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RefreshTokenExpiresAt is when RefreshToken expires: 30 days after
	// it was issued when the answer does not say, as Claude Code assumes;
	// zero without a refresh token, when Refresh kept the old one, or
	// when a credentials file does not say.
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at,omitzero"`
	// Scopes are the scopes granted.
	Scopes []string `json:"scopes"`
	// The account and organization the login belongs to, when the answer
	// (or file) names them.
	AccountUUID      string `json:"account_uuid,omitempty"`
	AccountEmail     string `json:"account_email,omitempty"`
	OrganizationUUID string `json:"organization_uuid,omitempty"`
	OrganizationName string `json:"organization_name,omitempty"`
	// SubscriptionType ("pro", "max", ...) and RateLimitTier come from a
	// credentials file only.
	SubscriptionType string `json:"subscription_type,omitempty"`
	RateLimitTier    string `json:"rate_limit_tier,omitempty"`
}

// CanRefresh reports whether the token has a refresh token.
func (t Token) CanRefresh() bool { return t.RefreshToken != "" }

// HasScope reports whether scope was granted.
func (t Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// CanReadUsage reports whether the token may call the usage and profile
// endpoints (it has the user:profile scope); claude setup-token's cannot.
func (t Token) CanReadUsage() bool { return t.HasScope(ScopeProfile) }

// IsSetupToken reports whether t looks like a token of `claude
// setup-token`: no refresh token and the user:inference scope alone. Such
// a token lasts a year, is never refreshed and cannot read usage.
func (t Token) IsSetupToken() bool {
	return !t.CanRefresh() && len(t.Scopes) == 1 && t.Scopes[0] == ScopeInference
}

// String describes the token without its secrets.
func (t Token) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth.Token{access %v", t.AccessToken)
	if t.CanRefresh() {
		fmt.Fprintf(&b, ", refresh %v", t.RefreshToken)
	}
	if !t.ExpiresAt.IsZero() {
		fmt.Fprintf(&b, ", expires %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, ", scopes %q", t.Scopes)
	if t.AccountUUID != "" || t.AccountEmail != "" {
		fmt.Fprintf(&b, ", account %s %s", t.AccountUUID, t.AccountEmail)
	}
	if t.OrganizationUUID != "" || t.OrganizationName != "" {
		fmt.Fprintf(&b, ", organization %s %q", t.OrganizationUUID, t.OrganizationName)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String: %#v does not show the tokens either.
func (t Token) GoString() string { return t.String() }

// LogValue makes log/slog print the token's non-secret fields, the
// tokens as [REDACTED].
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Any("access_token", t.AccessToken),
		slog.Bool("refreshable", t.CanRefresh()),
		slog.Time("expires_at", t.ExpiresAt),
		slog.String("scopes", strings.Join(t.Scopes, " ")),
	}
	if t.AccountUUID != "" {
		attrs = append(attrs, slog.String("account_uuid", t.AccountUUID))
	}
	if t.OrganizationUUID != "" {
		attrs = append(attrs, slog.String("organization_uuid", t.OrganizationUUID))
	}
	return slog.GroupValue(attrs...)
}

// DefaultRefreshTokenLifetime is how long a refresh token lasts when the
// token endpoint does not say (refresh_token_expires_in absent), as Claude
// Code assumes.
const DefaultRefreshTokenLifetime = 30 * 24 * time.Hour

// maxLifetime bounds the lifetimes an answer may give: ten years, far
// above setup-token's one year.
const maxLifetime = 10 * 365 * 24 * time.Hour

// tokenResponse is the token endpoint's answer to either grant (RFC 6749
// §5.1, plus Anthropic's account and organization).
type tokenResponse struct {
	AccessToken           *string  `json:"access_token"`
	RefreshToken          *string  `json:"refresh_token"`
	ExpiresIn             *float64 `json:"expires_in"`
	RefreshTokenExpiresIn *float64 `json:"refresh_token_expires_in"`
	Scope                 *string  `json:"scope"`
	Account               *struct {
		UUID  string `json:"uuid"`
		Email string `json:"email_address"`
	} `json:"account"`
	Organization *struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	} `json:"organization"`
}

// parseTokenResponse reads a token answer received at now. requested are
// the scopes asked for: the grant's when the answer names none (RFC 6749
// §5.1). Errors name the field and never quote a token.
func parseTokenResponse(body []byte, now time.Time, requested []string) (Token, error) {
	var r tokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Token{}, fmt.Errorf("oauth: token answer: %w", err)
	}
	if r.AccessToken == nil || *r.AccessToken == "" {
		return Token{}, fmt.Errorf("oauth: token answer: access_token is missing")
	}
	if err := checkTokenText("access_token", *r.AccessToken); err != nil {
		return Token{}, fmt.Errorf("oauth: token answer: %w", err)
	}
	if r.ExpiresIn == nil {
		return Token{}, fmt.Errorf("oauth: token answer: expires_in is missing")
	}
	life, err := lifetime("expires_in", *r.ExpiresIn)
	if err != nil {
		return Token{}, fmt.Errorf("oauth: token answer: %w", err)
	}
	t := Token{AccessToken: store.Secret(*r.AccessToken), ExpiresAt: now.Add(life), Scopes: slices.Clone(requested)}
	if r.RefreshToken != nil && *r.RefreshToken != "" {
		if err := checkTokenText("refresh_token", *r.RefreshToken); err != nil {
			return Token{}, fmt.Errorf("oauth: token answer: %w", err)
		}
		t.RefreshToken = store.Secret(*r.RefreshToken)
		rlife := DefaultRefreshTokenLifetime
		if r.RefreshTokenExpiresIn != nil {
			if rlife, err = lifetime("refresh_token_expires_in", *r.RefreshTokenExpiresIn); err != nil {
				return Token{}, fmt.Errorf("oauth: token answer: %w", err)
			}
		}
		t.RefreshTokenExpiresAt = now.Add(rlife)
	}
	if r.Scope != nil {
		t.Scopes = strings.Fields(*r.Scope)
	}
	if r.Account != nil {
		t.AccountUUID, t.AccountEmail = r.Account.UUID, r.Account.Email
	}
	if r.Organization != nil {
		t.OrganizationUUID, t.OrganizationName = r.Organization.UUID, r.Organization.Name
	}
	return t, nil
}

// lifetime converts a count of seconds named name into a duration: a
// positive number of at most ten years.
func lifetime(name string, secs float64) (time.Duration, error) {
	if math.IsNaN(secs) || secs <= 0 || secs > maxLifetime.Seconds() {
		return 0, fmt.Errorf("%s %v is not a number of seconds in (0, %v]", name, secs, maxLifetime.Seconds())
	}
	return time.Duration(math.Round(secs * float64(time.Second))), nil
}

// checkTokenText checks that a token named name can travel in a header:
// printable ASCII without spaces. The error does not quote the token.
func checkTokenText(name, tok string) error {
	if len(tok) > maxTokenLen {
		return fmt.Errorf("%s is longer than %d bytes", name, maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return fmt.Errorf("%s has a space, a control or a non-ASCII byte at byte %d", name, i)
		}
	}
	return nil
}

// maxTokenLen bounds a token's length.
const maxTokenLen = 4096
