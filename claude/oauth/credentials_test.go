package oauth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/authpool/authpool/claude/oauth"
)

// credentialsView is a Token as the golden files show it: the tokens
// revealed (they are test values), next to the Token's own JSON, which
// must not reveal them.
type credentialsView struct {
	AccessToken, RefreshToken string
	CanRefresh, IsSetupToken  bool
	CanReadUsage              bool
	Token                     oauth.Token
}

// Every testdata/credentials/<name>.json reads as
// testdata/credentials/<name>.golden.
func TestReadCredentialsFileGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "credentials", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no credentials files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fh, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			tok, err := oauth.ReadCredentialsFile(fh)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(credentialsView{
				AccessToken: tok.AccessToken.Reveal(), RefreshToken: tok.RefreshToken.Reveal(),
				CanRefresh: tok.CanRefresh(), IsSetupToken: tok.IsSetupToken(), CanReadUsage: tok.CanReadUsage(), Token: tok,
			}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("credentials", name+".golden"), append(got, '\n'))
		})
	}
}

// A bad file gets an error naming the field, quoting no value of the file
// (it holds secrets); testdata/credentials/errors.golden lists them.
func TestReadCredentialsFileBad(t *testing.T) {
	t.Parallel()
	const secret = "SECRETVALUE"
	tests := []struct{ name, file string }{
		{"empty", ``},
		{"not JSON", `SECRETVALUE`},
		{"an array", `["SECRETVALUE"]`},
		{"no login", `{"mcpOAuth":{"accessToken":"SECRETVALUE"}}`},
		{"null login", `{"claudeAiOauth":null}`},
		{"login a string", `{"claudeAiOauth":"SECRETVALUE"}`},
		{"no access token", `{"claudeAiOauth":{"refreshToken":"SECRETVALUE"}}`},
		{"empty access token", `{"claudeAiOauth":{"accessToken":""}}`},
		{"access token a number", `{"claudeAiOauth":{"accessToken":12345}}`},
		{"access token with a newline", `{"claudeAiOauth":{"accessToken":"SECRET\nVALUE"}}`},
		{"refresh token an object", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","refreshToken":{"v":"SECRETVALUE"}}}`},
		{"expiry a string", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","expiresAt":"SECRETVALUE"}}`},
		{"expiry negative", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","expiresAt":-5}}`},
		{"expiry past year 9999", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","expiresAt":1e20}}`},
		{"refresh expiry a boolean", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","refreshToken":"SECRETVALUE","refreshTokenExpiresAt":true}}`},
		{"scopes a string", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","scopes":"user:inference"}}`},
		{"a scope a number", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","scopes":["user:inference",3]}}`},
		{"an empty scope", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","scopes":[""]}}`},
		{"plan a number", `{"claudeAiOauth":{"accessToken":"SECRETVALUE","subscriptionType":20}}`},
		{"too large", `{"claudeAiOauth":{"accessToken":"SECRETVALUE"},"pad":"` + strings.Repeat("x", 1<<20) + `"}`},
	}
	var out bytes.Buffer
	for _, tt := range tests {
		_, err := oauth.ReadCredentialsFile(strings.NewReader(tt.file))
		if err == nil {
			t.Errorf("%s: nil error", tt.name)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error %q quotes the file", tt.name, err)
		}
		fmt.Fprintf(&out, "%s: %v\n", tt.name, err)
	}
	checkGolden(t, filepath.Join("credentials", "errors.golden"), out.Bytes())
	if _, err := oauth.ReadCredentialsFile(iotest.ErrReader(os.ErrClosed)); err == nil {
		t.Error("a failing reader: nil error")
	}
}

// A token of claude setup-token, pasted.
func TestSetupToken(t *testing.T) {
	t.Parallel()
	tok, err := oauth.SetupToken("  test-setup-token-0005\n")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken.Reveal() != "test-setup-token-0005" || !tok.IsSetupToken() || tok.CanRefresh() || tok.CanReadUsage() {
		t.Errorf("SetupToken: %v", tok)
	}
	for _, bad := range []string{"", " ", "two words"} {
		if _, err := oauth.SetupToken(bad); err == nil || bad != "" && strings.Contains(err.Error(), strings.TrimSpace(bad)) && strings.TrimSpace(bad) != "" {
			t.Errorf("SetupToken(%q): %v, want an error not quoting it", bad, err)
		}
	}
}
