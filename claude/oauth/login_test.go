package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/google/go-cmp/cmp"
)

// rfc7636 are the 32 octets of RFC 7636 Appendix B, whose verifier's S256
// challenge is E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM; then 32 more
// for the state.
func rfc7636() io.Reader {
	octets := []byte{116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
		105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121}
	return bytes.NewReader(append(octets, bytes.Repeat([]byte{0xfb}, 32)...))
}

// The authorize URL carries Claude Code's parameters in its order, with
// the S256 challenge of the verifier (RFC 7636's own example).
func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	state := "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s" // base64url of 32 × 0xfb
	tests := []struct {
		name string
		cfg  oauth.Config
		want string
	}{
		{"defaults", oauth.Config{}, "https://claude.com/cai/oauth/authorize?code=true" +
			"&client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e&response_type=code" +
			"&redirect_uri=https%3A%2F%2Fplatform.claude.com%2Foauth%2Fcode%2Fcallback" +
			"&scope=org%3Acreate_api_key+user%3Aprofile+user%3Ainference+user%3Asessions%3Aclaude_code" +
			"+user%3Amcp_servers+user%3Afile_upload+user%3Aplugins+user%3Aprivacy_consents%3Awrite+org%3Adesktop_config" +
			"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=" + state},
		{"console, a query already", oauth.Config{
			AuthorizeURL: oauth.ConsoleAuthorizeURL + "?lang=en", RedirectURI: "http://localhost:54545/callback",
			Scopes: []string{"org:create_api_key", "user:profile", "user:inference"},
		}, "https://platform.claude.com/oauth/authorize?lang=en&code=true" +
			"&client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e&response_type=code" +
			"&redirect_uri=http%3A%2F%2Flocalhost%3A54545%2Fcallback&scope=org%3Acreate_api_key+user%3Aprofile+user%3Ainference" +
			"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=" + state},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := oauth.New(tt.cfg, oauth.WithRandom(rfc7636()))
			if err != nil {
				t.Fatal(err)
			}
			login, err := c.NewLogin()
			if err != nil {
				t.Fatal(err)
			}
			if got := login.AuthorizeURL(); got != tt.want {
				t.Errorf("AuthorizeURL:\n got %s\nwant %s", got, tt.want)
			}
			if login.State() != state {
				t.Errorf("State = %q, want %q", login.State(), state)
			}
		})
	}
}

// Each login draws its own verifier and state from crypto/rand.
func TestNewLoginRandom(t *testing.T) {
	t.Parallel()
	c, err := oauth.New(oauth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 20 {
		l, err := c.NewLogin()
		if err != nil {
			t.Fatal(err)
		}
		q := mustQuery(t, l.AuthorizeURL())
		for _, v := range []string{q.Get("state"), q.Get("code_challenge")} {
			if len(v) != 43 || seen[v] {
				t.Fatalf("state or challenge %q: not 43 characters, or seen before", v)
			}
			seen[v] = true
		}
	}
	if _, err := mustClient(t, oauth.WithRandom(strings.NewReader("short"))).NewLogin(); err == nil {
		t.Error("NewLogin with a random source that runs dry: nil error")
	}
}

func mustClient(t *testing.T, opts ...oauth.Option) *oauth.Client {
	t.Helper()
	c, err := oauth.New(oauth.Config{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// authorize opens the login's URL on the fake, as the user's browser
// would, and returns what the copy-paste page shows.
func authorize(t *testing.T, f *fixture, login *oauth.Login) string {
	t.Helper()
	resp, err := http.Get(login.AuthorizeURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// A login runs from the authorize URL to the tokens, sending the token
// endpoint the JSON body Claude Code sends.
func TestLoginExchange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{AccessTTL: 8 * time.Hour}, oauth.Config{})
	login, err := f.client.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	pasted := authorize(t, f, login)
	tok, err := login.Exchange(context.Background(), "  "+pasted+" \n")
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.Token{
		ExpiresAt: t0.Add(8 * time.Hour), RefreshTokenExpiresAt: t0.Add(30 * 24 * time.Hour),
		Scopes:      oauth.DefaultScopes(),
		AccountUUID: "00000000-0000-4000-8000-00000000000a", AccountEmail: "pool@example.com",
		OrganizationUUID: "00000000-0000-4000-8000-00000000000b", OrganizationName: "Example Org",
	}
	got := tok
	got.AccessToken, got.RefreshToken = "", ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Token (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(tok.AccessToken.Reveal(), "sk-ant-oat01-fake-") || !strings.HasPrefix(tok.RefreshToken.Reveal(), "sk-ant-ort01-fake-") {
		t.Errorf("tokens %q, %q: not the fake's", tok.AccessToken.Reveal(), tok.RefreshToken.Reveal())
	}
	req := lastRequest(t, f, fakeoauth.TokenPath)
	var body map[string]string
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("token request body %s: %v", req.Body, err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range body {
			if !yield(k) {
				return
			}
		}
	})
	if diff := cmp.Diff([]string{"client_id", "code", "code_verifier", "grant_type", "redirect_uri", "state"}, keys); diff != "" {
		t.Errorf("token request keys (-want +got):\n%s", diff)
	}
	if body["grant_type"] != "authorization_code" || body["state"] != login.State() || body["redirect_uri"] != oauth.DefaultRedirectURI {
		t.Errorf("token request body %v", body)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	// The code is used: pasting it again is invalid_grant, and the
	// error quotes neither the code nor the verifier.
	_, err = login.Exchange(context.Background(), pasted)
	if !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("second Exchange: %v, want ErrInvalidGrant", err)
	}
	code, _, _ := strings.Cut(strings.TrimSpace(pasted), "#")
	if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), body["code_verifier"]) {
		t.Errorf("error %q quotes the code or the verifier", err)
	}
}

func lastRequest(t *testing.T, f *fixture, path string) fakeoauth.Request {
	t.Helper()
	reqs := f.fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i]
		}
	}
	t.Fatalf("no request to %s", path)
	return fakeoauth.Request{}
}

// With a localhost redirect, the user may paste the whole URL the browser
// was sent to.
func TestLoginLocalhostRedirect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{RedirectURI: "http://localhost:54545/callback"})
	login, err := f.client.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(login.AuthorizeURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://localhost:54545/callback?") {
		t.Fatalf("authorize: %d, Location %q", resp.StatusCode, loc)
	}
	tok, err := login.Exchange(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.CanRefresh() {
		t.Error("no refresh token")
	}
}
