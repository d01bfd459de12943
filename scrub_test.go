package authpool

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authpool/authpool/internal/bounds"
)

func TestScrubber(t *testing.T) {
	const (
		key    = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
		token  = "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
		caller = "caller-key-0123456789abcdef"
	)
	s := newScrubber([]string{key, token, caller, "", "abc", "s3cr3t", key})
	for _, tt := range []struct{ name, in, want string }{
		{"nothing to scrub", "429 rate_limit_error: Number of requests has exceeded your rate limit",
			"429 rate_limit_error: Number of requests has exceeded your rate limit"},
		{"a key echoed whole", "invalid x-api-key: " + key + " (check it)", "invalid x-api-key: [REDACTED] (check it)"},
		{"two secrets side by side", key + token, "[REDACTED]"},
		{"a key cut by the upstream", "token " + token[:30] + "...", "token [REDACTED]..."},
		{"the tail of a key", "…" + key[20:], "…[REDACTED]"},
		{"12 bytes of one", "x" + caller[5:17] + "y", "x[REDACTED]y"},
		{"11 bytes of one are not enough", "x" + caller[5:16] + "y", "x" + caller[5:16] + "y"},
		{"a short secret whole", "the password s3cr3t leaked, s3cr3t again", "the password [REDACTED] leaked, [REDACTED] again"},
		{"a secret under 4 bytes is none", "abc", "abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.scrub(tt.in); got != tt.want {
				t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanReasonBoundsAndScrubs(t *testing.T) {
	const key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	p := &Pool{&pool{cfg: &Config{Subscriptions: []Subscription{{ID: "a", Credential: key}}}}}
	p.view.Store(&view{byID: map[string]*subView{}})
	for _, tt := range []struct {
		name string
		in   string
		want func(got string) bool
	}{
		{"short and clean: as given", "5-hour limit reached", func(got string) bool { return got == "5-hour limit reached" }},
		{"exactly the maximum: as given", strings.Repeat("x", bounds.MaxReasonLength),
			func(got string) bool { return got == strings.Repeat("x", bounds.MaxReasonLength) }},
		{"one byte over: cut, with an ellipsis", strings.Repeat("x", bounds.MaxReasonLength+1),
			func(got string) bool { return len(got) == bounds.MaxReasonLength && strings.HasSuffix(got, "…") }},
		{"cut at a character's boundary", strings.Repeat("é", bounds.MaxReasonLength),
			func(got string) bool {
				return len(got) <= bounds.MaxReasonLength && utf8.ValidString(got) && strings.HasSuffix(got, "é…")
			}},
		{"a megabyte with the key at its end: cut, no part of the key", strings.Repeat("y", 1<<20) + key,
			func(got string) bool { return len(got) == bounds.MaxReasonLength && !strings.Contains(got, key[:12]) }},
		{"the key straddling the scanned prefix: no part of it", strings.Repeat("z", 4*bounds.MaxReasonLength-8) + key,
			func(got string) bool { return len(got) == bounds.MaxReasonLength && !strings.Contains(got, "sk-") }},
		{"keys filling the scanned prefix, one cut 8 bytes in: none of it shows",
			// 21 + 83*49 + 8 = 4*1024: the scan ends 8 bytes into the 84th key.
			strings.Repeat("q", 21) + strings.Repeat(key, 90),
			func(got string) bool {
				return strings.HasPrefix(got, strings.Repeat("q", 21)+"[REDACT") && strings.HasSuffix(got, "…") && !strings.Contains(got, key[:8])
			}},
		{"the key inside, shortened around it", "401: " + key + strings.Repeat(" pad", 400),
			func(got string) bool {
				return strings.HasPrefix(got, "401: [REDACTED] pad") && len(got) == bounds.MaxReasonLength && !strings.Contains(got, key[13:25])
			}},
		{"invalid UTF-8 replaced", "bad \xff byte", func(got string) bool { return got == "bad \uFFFD byte" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.cleanReason(tt.in); !tt.want(got) {
				t.Errorf("cleanReason(%.60q…) = %d bytes %.80q…", tt.in, len(got), got)
			}
		})
	}
}
