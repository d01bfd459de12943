package safetext

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file keeps secrets out of text that came from elsewhere — an
// upstream's error message, a CLI's output — before it is logged, told to
// the pool (whose reasons reach events, webhooks, the status page and the
// store) or returned to a caller: an upstream may echo the credential it
// was sent ("invalid x-api-key sk-ant-…"), and a CLI may print it.

// minSecret is the shortest text a Redactor takes out where it appears:
// shorter ones (a prompt's one-word line) would take words out of any
// message. Credentials and caller keys are longer.
const minSecret = 6

// redacted replaces a secret.
const redacted = "[REDACTED]"

// Redactor takes out of a text the secrets it was made with, as they are
// and as they appear inside a JSON string, and whatever looks like a
// credential (secretText). The zero Redactor takes out only the latter.
type Redactor struct {
	texts []string // longest first, each at least minSecret bytes; JSON-escaped forms too
}

// NewRedactor returns a Redactor of the secrets (empty and short ones are
// ignored).
func NewRedactor(secrets ...string) Redactor { return Redactor{}.With(secrets...) }

// With returns a Redactor of r's secrets and more; r is unchanged.
func (r Redactor) With(secrets ...string) Redactor {
	texts := slices.Clone(r.texts)
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		texts = append(texts, s)
		if q := jsonEscaped(s); q != s {
			texts = append(texts, q)
		}
	}
	slices.SortFunc(texts, func(a, b string) int { return len(b) - len(a) })
	return Redactor{texts: slices.Compact(texts)}
}

// jsonEscaped is s as it appears between the quotes of a JSON string.
func jsonEscaped(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return s
	}
	return string(b[1 : len(b)-1])
}

// secretText matches what looks like a credential in free text: an
// Anthropic key or token (sk-ant-…), a bearer token, or the value of
// key=, token:, secret=, password=, authorization: (bearer or not) and the
// like. The
// value stops at white space, a quote, a backslash (the start of a JSON
// escape), a comma or a semicolon, so that taking it out of a JSON string
// leaves the JSON whole.
var secretText = regexp.MustCompile(`(?i)(sk-ant-|bearer\s+|(?:api[_-]?key|token|secret|password|authorization)["']?\s*[:=]\s*["']?(?:bearer\s+)?)[^\s"'\\,;]+`)

// String returns s, valid UTF-8, with every secret replaced by [REDACTED].
func (r Redactor) String(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for _, t := range r.texts {
		if strings.Contains(s, t) {
			s = strings.ReplaceAll(s, t, redacted)
		}
	}
	return secretText.ReplaceAllString(s, "${1}"+redacted)
}

// Bytes returns b with every secret replaced by [REDACTED]: b itself when
// it holds none. Invalid UTF-8 is left as it is (a body passes through as
// the upstream wrote it).
func (r Redactor) Bytes(b []byte) []byte {
	out := b
	for _, t := range r.texts {
		if bytes.Contains(out, []byte(t)) {
			out = bytes.ReplaceAll(out, []byte(t), []byte(redacted))
		}
	}
	if secretText.Match(out) {
		out = secretText.ReplaceAll(out, []byte("${1}"+redacted))
	}
	return out
}

// Clip cuts s to at most n bytes, at a UTF-8 boundary: texts from elsewhere
// are bounded before they reach a reason, a log or an error.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
