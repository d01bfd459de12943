package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// credentialsKey is the object of ~/.claude/.credentials.json that holds a
// Claude login.
const credentialsKey = "claudeAiOauth"

// ReadCredentialsFile reads the login in Claude Code's credentials file
// (~/.claude/.credentials.json): its claudeAiOauth object's accessToken,
// refreshToken, expiresAt and refreshTokenExpiresAt (Unix milliseconds),
// scopes, subscriptionType, rateLimitTier, accountUuid and
// organizationUuid. Other keys are ignored. Only accessToken is required;
// a login without a refresh token (claude setup-token's) reads as a Token
// that cannot be refreshed. Errors name the field and never quote a value
// of the file, which holds secrets.
//
// A login imported this way must no longer be used by the CLI that wrote
// the file: whoever refreshes second loses it (see the package doc).
func ReadCredentialsFile(r io.Reader) (Token, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return Token{}, fmt.Errorf("oauth: credentials: %w", err)
	}
	if len(b) > maxBody {
		return Token{}, fmt.Errorf("oauth: credentials: the file is larger than %d bytes", maxBody)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && json.Valid(t) {
		return Token{}, fmt.Errorf("oauth: credentials: the file is %s, not a JSON object", kind(t))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return Token{}, fmt.Errorf("oauth: credentials: not a JSON object: %w", err)
	}
	raw, ok := top[credentialsKey]
	if !ok || isNull(raw) {
		return Token{}, fmt.Errorf("oauth: credentials: no %s object (the file has no Claude login)", credentialsKey)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Token{}, fmt.Errorf("oauth: credentials: %s is %s, not an object", credentialsKey, kind(raw))
	}
	t, err := credentialsToken(credFields(fields))
	if err != nil {
		return Token{}, fmt.Errorf("oauth: credentials: %s.%w", credentialsKey, err)
	}
	return t, nil
}

// credentialsToken builds the Token of a claudeAiOauth object. Errors
// begin with the field's name.
func credentialsToken(f credFields) (Token, error) {
	var t Token
	access, err := f.str("accessToken")
	if err != nil {
		return t, err
	}
	if access == "" {
		return t, errors.New("accessToken is missing")
	}
	if err := checkTokenText("accessToken", access); err != nil {
		return t, err
	}
	t.AccessToken = store.Secret(access)
	refresh, err := f.str("refreshToken")
	if err != nil {
		return t, err
	}
	if refresh != "" {
		if err := checkTokenText("refreshToken", refresh); err != nil {
			return t, err
		}
		t.RefreshToken = store.Secret(refresh)
	}
	if t.ExpiresAt, err = f.millis("expiresAt"); err != nil {
		return t, err
	}
	if t.CanRefresh() {
		if t.RefreshTokenExpiresAt, err = f.millis("refreshTokenExpiresAt"); err != nil {
			return t, err
		}
	}
	if t.Scopes, err = f.strs("scopes"); err != nil {
		return t, err
	}
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"subscriptionType", &t.SubscriptionType}, {"rateLimitTier", &t.RateLimitTier},
		{"accountUuid", &t.AccountUUID}, {"organizationUuid", &t.OrganizationUUID},
	} {
		if *s.v, err = f.str(s.name); err != nil {
			return t, err
		}
	}
	return t, nil
}

// credFields are the fields of a claudeAiOauth object. Its methods read
// one field; an absent or null field is the zero value; their errors
// begin with the field's name and say its JSON kind, never its value.
type credFields map[string]json.RawMessage

func (f credFields) str(name string) (string, error) {
	raw, ok := f[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is %s, not a string", name, kind(raw))
	}
	return s, nil
}

// maxMillis is the first millisecond of the year 10000.
const maxMillis = 253402300800000

func (f credFields) millis(name string) (time.Time, error) {
	raw, ok := f[name]
	if !ok || isNull(raw) {
		return time.Time{}, nil
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return time.Time{}, fmt.Errorf("%s is %s, not a number of milliseconds", name, kind(raw))
	}
	if math.IsNaN(ms) || ms <= 0 || ms >= maxMillis {
		return time.Time{}, fmt.Errorf("%s %v is not a time in Unix milliseconds", name, ms)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

func (f credFields) strs(name string) ([]string, error) {
	raw, ok := f[name]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s is %s, not an array of strings", name, kind(raw))
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil || s == "" {
			return nil, fmt.Errorf("%s[%d] is %s, not a scope", name, i, kind(it))
		}
		out = append(out, s)
	}
	return out, nil
}

// isNull reports whether raw is JSON null.
func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// kind names the JSON kind of raw ("a string", "a number", ...), for
// errors that must not quote a value.
func kind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '"':
		if string(b) == `""` {
			return "an empty string"
		}
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// SetupToken returns the Token of an access token printed by `claude
// setup-token`: the user:inference scope, no refresh token, and no known
// expiry (it lasts a year from when it was made). Spaces around it are
// dropped. It checks only that the text can be a token; the error does not
// quote it.
func SetupToken(accessToken string) (Token, error) {
	accessToken = strings.TrimSpace(accessToken)
	if accessToken == "" {
		return Token{}, errors.New("oauth: setup token: it is empty")
	}
	if err := checkTokenText("setup token", accessToken); err != nil {
		return Token{}, fmt.Errorf("oauth: setup token: %w", err)
	}
	return Token{AccessToken: store.Secret(accessToken), Scopes: []string{ScopeInference}}, nil
}
