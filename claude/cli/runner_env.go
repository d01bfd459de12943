package cli

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file keeps credentials where they belong: the environment a Runner
// gives the CLI, and what of the CLI's words may reach an error or a log.

// runnerEnv returns the environment of a run on a: base (os.Environ() when
// nil) without its credential variables, plus cred in the variable of a's
// kind; and the values to redact (cred and those removed).
func runnerEnv(base []string, a authpool.Allocation, cred string) (env, secrets []string, err error) {
	if cred == "" || strings.ContainsAny(cred, "\x00\r\n") {
		return nil, nil, fmt.Errorf("claude: subscription %q: its credential is empty or cannot be an environment variable", a.SubscriptionID)
	}
	if base == nil {
		base = os.Environ()
	}
	secrets = []string{cred}
	for _, kv := range base {
		if name, value, _ := strings.Cut(kv, "="); IsCredentialVar(name) {
			secrets = append(secrets, value)
		} else {
			env = append(env, kv)
		}
	}
	name := "CLAUDE_CODE_OAUTH_TOKEN"
	if a.Kind == authpool.KindAPI {
		name = "ANTHROPIC_API_KEY"
	}
	return append(env, name+"="+cred), secrets, nil
}

// IsCredentialVar reports whether the Runner keeps an environment variable
// from the CLI because it holds a credential, or would make the CLI use one
// other than the pool's: a name (in any case) that starts with ANTHROPIC_ or
// CLAUDE_ and has a part, between underscores, KEY, APIKEY, TOKEN, SECRET,
// PASSWORD, CREDENTIAL or CREDENTIALS (ANTHROPIC_API_KEY,
// ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_OAUTH_TOKEN,
// CLAUDE_CODE_OAUTH_REFRESH_TOKEN, ..., but not
// CLAUDE_CODE_MAX_OUTPUT_TOKENS); ANTHROPIC_CUSTOM_HEADERS, which may carry
// an Authorization header; and CLAUDE_CODE_USE_BEDROCK, _VERTEX and
// _FOUNDRY, which send the CLI to a cloud provider's credentials.
func IsCredentialVar(name string) bool {
	n := strings.ToUpper(name)
	switch {
	case !strings.HasPrefix(n, "ANTHROPIC_") && !strings.HasPrefix(n, "CLAUDE_"):
		return false
	case n == "ANTHROPIC_CUSTOM_HEADERS" || n == "CLAUDE_CODE_USE_BEDROCK" || n == "CLAUDE_CODE_USE_VERTEX" || n == "CLAUDE_CODE_USE_FOUNDRY":
		return true
	}
	return slices.ContainsFunc(strings.Split(n, "_"), func(part string) bool {
		return slices.Contains([]string{"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "CREDENTIALS"}, part)
	})
}

// runnerPromptParts are the texts of a prompt to redact: the prompt and
// each of its lines.
func runnerPromptParts(prompt string) []string {
	parts := []string{prompt}
	for line := range strings.Lines(prompt) {
		parts = append(parts, strings.TrimSpace(line))
	}
	return parts
}

// runnerStderr returns the end of what t captured, redacted, at most 1 KiB.
func runnerStderr(rd safetext.Redactor, t *runnerTail) string {
	b := t.buf
	if t.cut { // the capture starts mid-line, maybe mid-secret: drop that line
		_, b, _ = bytes.Cut(b, []byte("\n"))
	}
	s := strings.TrimSpace(rd.String(string(b)))
	if len(s) > 1<<10 {
		s = s[len(s)-1<<10:]
		if i := strings.IndexAny(s, " \n"); i >= 0 {
			s = s[i+1:] // from a word's start
		}
		s = "…" + strings.ToValidUTF8(s, "")
	}
	return s
}

// runnerTail keeps the last max to 2*max bytes written to it.
type runnerTail struct {
	max int
	buf []byte
	cut bool
}

func (t *runnerTail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf, t.cut = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...), true
	}
	return len(p), nil
}
