package oauth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/store"
)

// printed returns v as every fmt verb, JSON and both slog handlers print
// it.
func printed(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%T"} {
		fmt.Fprintf(&b, verb+"\n", v)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(j)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "v", v)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "v", v)
	b.Write(logs.Bytes())
	return b.String()
}

// No printed, marshaled or logged form of a Token or a Login shows a
// token or the code verifier.
func TestNothingRevealed(t *testing.T) {
	t.Parallel()
	tok := oauth.Token{
		AccessToken: "sk-ant-oat01-ACCESS-SECRET", RefreshToken: "sk-ant-ort01-REFRESH-SECRET",
		ExpiresAt: t0, RefreshTokenExpiresAt: t0, Scopes: []string{"user:inference"},
		AccountUUID: "acc", AccountEmail: "pool@example.com", OrganizationUUID: "org", OrganizationName: "Org",
	}
	c := mustClient(t, oauth.WithRandom(rfc7636()))
	login, err := c.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // the RFC 7636 octets' verifier
	for name, v := range map[string]any{
		"Token": tok, "*Token": &tok, "[]Token": []oauth.Token{tok}, "map": map[string]oauth.Token{"a": tok},
		"struct": struct{ T oauth.Token }{tok}, "*Login": login, "Login": *login, "*Client": c,
	} {
		out := printed(t, v)
		for _, secret := range []string{"ACCESS-SECRET", "REFRESH-SECRET", verifier} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: printed forms show %s:\n%s", name, secret, out)
			}
		}
	}
	if s := tok.String(); !strings.Contains(s, "[REDACTED]") || !strings.Contains(s, "pool@example.com") {
		t.Errorf("String() = %q, want the redacted tokens and the account", s)
	}
	if tok.AccessToken.Reveal() != "sk-ant-oat01-ACCESS-SECRET" || tok.RefreshToken != store.Secret("sk-ant-ort01-REFRESH-SECRET") {
		t.Error("Reveal does not give the token back")
	}
}
