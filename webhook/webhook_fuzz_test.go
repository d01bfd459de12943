package webhook

import (
	"strings"
	"testing"
	"time"
)

// FuzzWebhookHeaders feeds the webhook's header parsers arbitrary input:
// Retry-After is never negative, and a signature verifies only when it is
// the body's own (in either case of hex).
//
//	go test -run '^$' -fuzz FuzzWebhookHeaders .
func FuzzWebhookHeaders(f *testing.F) {
	f.Add("120", []byte("secret-key-0123456789"), []byte(`{"version":1}`), "sha256=00")
	f.Add("Wed, 26 Nov 2026 12:31:00 GMT", []byte("k"), []byte(""), "")
	f.Add("99999999999999999999999", []byte{}, []byte("x"), "sha256=")
	f.Add(" -5 ", []byte("k"), []byte("body"), "sha1=abc")
	now := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, retryAfter string, secret, body []byte, header string) {
		if d, ok := parseRetryAfter(retryAfter, now); ok && d < 0 {
			t.Errorf("parseRetryAfter(%q) = %v, a negative wait", retryAfter, d)
		}
		if Verify(secret, body, header) {
			want := signature(secret, body)
			if !strings.EqualFold(header, want) || len(secret) == 0 {
				t.Errorf("Verify accepted %q for a body signed %q", header, want)
			}
		}
		if len(secret) > 0 {
			sig := signature(secret, body)
			if !Verify(secret, body, sig) {
				t.Errorf("the body's own signature %q does not verify", sig)
			}
		}
	})
}
