package webhook

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// redactedURLPart stands for what a printed webhook URL leaves out.
const redactedURLPart = "[REDACTED]"

// redactURL returns a webhook URL as it may be printed: its scheme and host
// only, then "/[REDACTED]" if it has more (a path, a query, a fragment).
// Receivers put their token in any of them (Slack and Discord in the path,
// others in a "token=" query) and in user information, which is left out
// too; a URL that does not parse is redacted whole.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return redactedURLPart
	}
	s := u.Scheme + "://"
	if u.User != nil {
		s += redactedURLPart + "@"
	}
	s += u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		s += "/" + redactedURLPart
	}
	return s
}

// configFields is Config without its methods: how its fields
// print and marshal, once its URL is redacted.
type configFields Config

// printed returns w's fields with its URL redacted (see redactURL).
func (w Config) printed() configFields {
	f := configFields(w)
	f.URL = redactURL(w.URL)
	return f
}

// Format prints the webhook's fields, for every fmt verb, with its URL
// redacted as redactURL says and its secret as a Credential prints. So does
// a Config that holds it.
func (w Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		s := fmt.Sprintf("%#v", w.printed())
		_, _ = fmt.Fprint(f, strings.Replace(s, "webhook.configFields", "webhook.Config", 1))
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), w.printed())
}

// MarshalJSON writes the webhook as JSON with its URL redacted, as its
// secret is: a Config marshals to a document that may be logged, not to a
// config file that works (which names its secrets by {"env"} or {"file"}).
// Decoding is unaffected: a config file's URL is read as written.
func (w Config) MarshalJSON() ([]byte, error) { return json.Marshal(w.printed()) }
