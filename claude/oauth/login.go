package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/authpool/authpool/store"
)

// Login is one authorization-code login with PKCE (RFC 7636): a secret
// code verifier and a state, drawn when it starts. Show AuthorizeURL to the
// user, then Exchange what they paste back. A Login is for one exchange;
// start a new one to log in again. Its printed and logged forms do not
// show the verifier.
type Login struct {
	c        *Client
	verifier store.Secret
	state    string
}

// randomBytes is the size of the code verifier's and the state's random
// part: 32 bytes, a 43-character verifier (RFC 7636 §4.1).
const randomBytes = 32

// NewLogin starts a login: it draws a code verifier and a state.
func (c *Client) NewLogin() (*Login, error) {
	verifier, err := c.random()
	if err != nil {
		return nil, err
	}
	state, err := c.random()
	if err != nil {
		return nil, err
	}
	return &Login{c: c, verifier: store.Secret(verifier), state: state}, nil
}

// random returns randomBytes random bytes, base64url without padding.
func (c *Client) random() (string, error) {
	b := make([]byte, randomBytes)
	if _, err := io.ReadFull(c.rand, b); err != nil {
		return "", fmt.Errorf("oauth: drawing random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// challenge returns the S256 code challenge of verifier (RFC 7636 §4.2).
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// State returns the login's state, which the user's paste must carry.
func (l *Login) State() string { return l.state }

// AuthorizeURL returns the URL the user opens to log in, with the
// parameters in the order Claude Code sends them: code=true, client_id,
// response_type=code, redirect_uri, scope, code_challenge,
// code_challenge_method=S256 and state.
func (l *Login) AuthorizeURL() string {
	cfg := l.c.cfg
	params := []struct{ k, v string }{
		{"code", "true"}, {"client_id", cfg.ClientID}, {"response_type", "code"},
		{"redirect_uri", cfg.RedirectURI}, {"scope", strings.Join(cfg.Scopes, " ")},
		{"code_challenge", challenge(l.verifier.Reveal())}, {"code_challenge_method", "S256"},
		{"state", l.state},
	}
	var b strings.Builder
	b.WriteString(cfg.AuthorizeURL)
	sep := "?"
	if strings.Contains(cfg.AuthorizeURL, "?") {
		sep = "&"
	}
	for _, p := range params {
		b.WriteString(sep + url.QueryEscape(p.k) + "=" + url.QueryEscape(p.v))
		sep = "&"
	}
	return b.String()
}

// String describes the login without its verifier.
func (l Login) String() string { return fmt.Sprintf("oauth.Login{state %s}", l.state) }

// GoString is String.
func (l Login) GoString() string { return l.String() }

// Format writes String for every fmt verb, so that no verb prints the
// verifier (fmt would print an unexported field as it is).
func (l Login) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(l.String())) }

// LogValue makes log/slog print the state alone.
func (l Login) LogValue() slog.Value { return slog.GroupValue(slog.String("state", l.state)) }

// ErrPasted matches (errors.Is) a paste that Exchange refused before
// sending anything: not code#state, or a state that is not this login's.
var ErrPasted = errors.New("oauth: the pasted code is not this login's code#state")

// Exchange trades what the user pasted for tokens, with the
// authorization_code grant (RFC 6749 §4.1.3) and the code verifier. The
// paste is the code#state the redirect page shows (spaces around it are
// fine), or the whole redirect URL with code and state in its query. A
// bare code, without the state, is refused: the state is what proves the
// code comes from this login rather than from someone else's (RFC 6749
// §10.12). A state that is not this login's is refused too (ErrPasted).
// A code the server refuses gives an *HTTPError (invalid_grant for a
// used or expired code).
func (l *Login) Exchange(ctx context.Context, pasted string) (Token, error) {
	code, state, err := splitPasted(pasted)
	if err != nil {
		return Token{}, err
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(l.state)) != 1 {
		return Token{}, fmt.Errorf("%w: its state is not the one this login sent (paste the code of the latest login URL)", ErrPasted)
	}
	cfg := l.c.cfg
	body := map[string]string{
		"grant_type":    "authorization_code",
		"code":          code,
		"redirect_uri":  cfg.RedirectURI,
		"client_id":     cfg.ClientID,
		"code_verifier": l.verifier.Reveal(),
		"state":         state,
	}
	ans, err := l.c.postJSON(ctx, cfg.TokenURL, "exchange", body, code, l.verifier.Reveal())
	if err != nil {
		return Token{}, err
	}
	return parseTokenResponse(ans, l.c.now(), cfg.Scopes)
}

// maxPasted bounds a paste.
const maxPasted = 8192

// splitPasted returns the code and state of a paste: code#state, or a
// redirect URL whose query has code and state. The error never quotes the
// paste, which holds a code.
func splitPasted(pasted string) (code, state string, err error) {
	s := strings.TrimSpace(pasted)
	if len(s) > maxPasted {
		return "", "", fmt.Errorf("%w: it is longer than %d bytes", ErrPasted, maxPasted)
	}
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return splitRedirect(s)
	}
	code, state, ok := strings.Cut(s, "#")
	switch {
	case s == "":
		return "", "", fmt.Errorf("%w: it is empty", ErrPasted)
	case !ok:
		return "", "", fmt.Errorf("%w: it has no '#' and state (paste all of code#state as the page shows it)", ErrPasted)
	}
	if err := checkPastedPart("code", code); err != nil {
		return "", "", err
	}
	if err := checkPastedPart("state", state); err != nil {
		return "", "", err
	}
	return code, state, nil
}

// splitRedirect returns the code and state of a redirect URL's query.
func splitRedirect(s string) (code, state string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%w: it starts like a URL but is not one", ErrPasted)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("%w: the login was refused (error %q)", ErrPasted, safeCode(e))
	}
	code, state = q.Get("code"), q.Get("state")
	if err := checkPastedPart("code", code); err != nil {
		return "", "", err
	}
	if err := checkPastedPart("state", state); err != nil {
		return "", "", err
	}
	return code, state, nil
}

// checkPastedPart checks one part of a paste: present, and printable ASCII
// without spaces or '#'.
func checkPastedPart(name, v string) error {
	if v == "" {
		return fmt.Errorf("%w: its %s is empty", ErrPasted, name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f || v[i] == '#' {
			return fmt.Errorf("%w: its %s has a space, '#', a control or a non-ASCII byte at byte %d", ErrPasted, name, i)
		}
	}
	return nil
}

// safeCode returns an error code from a URL fit to quote: the code when it
// looks like one, else "?".
func safeCode(s string) string {
	if c := codeText(s); c != "" && len(c) <= maxCode {
		return c
	}
	return "?"
}

// Refresh trades a refresh token for new tokens, with the refresh_token
// grant (RFC 6749 §6), asking for scopes (the Config's when none are
// given; name the login's own when it was granted fewer).
//
// Treat refresh tokens as single-use: store the returned RefreshToken in
// place of the old one, in the same step as the new access token. When
// the server returns no new refresh token, the returned Token carries
// refreshToken back with a zero RefreshTokenExpiresAt: the old one stands,
// with its old expiry. An answer that names no account or organization
// leaves those fields empty: keep the ones you had.
//
// An invalid_grant answer matches ErrInvalidGrant: the login is gone
// (used by another holder, revoked or expired) and only a new login helps.
// Other failures are an *HTTPError or a transport error.
func (c *Client) Refresh(ctx context.Context, refreshToken store.Secret, scopes ...string) (Token, error) {
	if len(scopes) == 0 {
		scopes = c.cfg.Scopes
	}
	return c.refresh(ctx, refreshToken, scopes)
}

// refresh is Refresh asking for scopes; nil names none, which keeps the
// scopes of the grant (RFC 6749 §6).
func (c *Client) refresh(ctx context.Context, refreshToken store.Secret, scopes []string) (Token, error) {
	if refreshToken == "" {
		return Token{}, errors.New("oauth: refresh: the refresh token is empty")
	}
	if err := checkTokenText("refresh token", refreshToken.Reveal()); err != nil {
		return Token{}, fmt.Errorf("oauth: refresh: %w", err)
	}
	body := map[string]string{
		"grant_type":    "refresh_token",
		"refresh_token": refreshToken.Reveal(),
		"client_id":     c.cfg.ClientID,
	}
	if scopes != nil {
		body["scope"] = strings.Join(scopes, " ")
	}
	ans, err := c.postJSON(ctx, c.cfg.TokenURL, "refresh", body, refreshToken.Reveal())
	if err != nil {
		return Token{}, err
	}
	t, err := parseTokenResponse(ans, c.now(), scopes)
	if err != nil {
		return Token{}, err
	}
	if !t.CanRefresh() {
		t.RefreshToken = refreshToken
	}
	return t, nil
}
