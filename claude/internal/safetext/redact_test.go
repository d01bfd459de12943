package safetext

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	const (
		cred  = "sk-ant-oat01-redact-test-0123456789"
		key   = "caller-key-redact-0123456789"
		quote = `odd"key\with-escapes-0123`
	)
	r := NewRedactor(cred, key, quote, "short", "")
	for _, tt := range []struct{ name, in, want string }{
		{"a credential", "invalid x-api-key " + cred, "invalid x-api-key [REDACTED]"},
		{"a caller key, twice", key + " and " + key, "[REDACTED] and [REDACTED]"},
		{"a key unknown to it, shaped like Anthropic's", "got sk-ant-api03-zzzzzzzz, expected another", "got sk-ant-[REDACTED], expected another"},
		{"a bearer token", "Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED]"},
		{"a key=value", "api_key=abcdef123; next", "api_key=[REDACTED]; next"},
		{"a secret shorter than 6 bytes is not one", "a short message", "a short message"},
		{"plain text", "Overloaded", "Overloaded"},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
		{"a secret as JSON escapes it", `{"message":"odd\"key\\with-escapes-0123"}`, `{"message":"[REDACTED]"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
	// Bytes keeps a JSON body JSON, and returns a body without a secret as
	// it is.
	body := []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + cred +
		` (sk-ant-\"quoted\"), token: \\u0041bc"},"request_id":"req_1"}`)
	got := r.Bytes(body)
	if !json.Valid(got) {
		t.Errorf("Bytes made invalid JSON: %s", got)
	}
	if strings.Contains(string(got), cred) || !strings.Contains(string(got), `"request_id":"req_1"`) {
		t.Errorf("Bytes = %s", got)
	}
	clean := []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	if got := r.Bytes(clean); &got[0] != &clean[0] {
		t.Errorf("Bytes copied a body without a secret")
	}
}

// FuzzRedactor: whatever the text, no secret made of a key's characters
// survives, and a JSON body stays JSON.
func FuzzRedactor(f *testing.F) {
	f.Add(`{"error":{"message":"invalid x-api-key sk-ant-oat01-abcdef"}}`, "sk-ant-oat01-abcdef")
	f.Add(`{"a":"token: \"x\\y"}`, "abcdefgh")
	f.Add(`{"a":"sk-ant-\\n\\"b"}`, "zzzzzzzz")
	f.Fuzz(func(t *testing.T, text, secret string) {
		if len(secret) < minSecret || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return // not shaped like a credential
		}
		r := NewRedactor(secret)
		if got := r.String(text); strings.Contains(got, secret) {
			t.Errorf("String(%q) = %q: the secret is still there", text, got)
		}
		if json.Valid([]byte(text)) {
			got := r.Bytes([]byte(text))
			if !json.Valid(got) {
				t.Errorf("Bytes(%s) = %s: not JSON", text, got)
			}
			if strings.Contains(string(got), secret) {
				t.Errorf("Bytes(%s) = %s: the secret is still there", text, got)
			}
		}
	})
}
