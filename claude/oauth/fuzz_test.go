package oauth

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzNow is the fuzz targets' "now".
var fuzzNow = time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)

// addFiles seeds f with every file matching pattern under testdata.
func addFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// A usage answer parses to windows with a percent in 0..10000 and a UTC
// reset, whose observation the pool accepts (a share in 0..100 with a
// reset), or is refused.
func FuzzParseUsage(f *testing.F) {
	addFiles(f, "usage/*.json")
	f.Add([]byte(`{"five_hour":{"utilization":-0,"resets_at":"2026-12-07T12:00:00"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := ParseUsage(body, fuzzNow)
		if err != nil {
			return
		}
		for _, w := range []*UsageWindow{u.FiveHour, u.SevenDay, u.SevenDayOpus, u.SevenDaySonnet, u.SevenDayOAuthApps} {
			if w == nil {
				continue
			}
			if math.IsNaN(w.Utilization) || w.Utilization < 0 || w.Utilization > maxUtilization || w.ResetsAt.Location() != time.UTC {
				t.Fatalf("window %+v", w)
			}
		}
		o := u.Observation()
		if o.Block != nil && (o.Block.Share < 0 || o.Block.Share > 100 || o.Block.Reset.IsZero()) ||
			o.Week != nil && (o.Week.Share < 0 || o.Week.Share > 100 || o.Week.Reset.IsZero()) {
			t.Fatalf("observation %+v", o)
		}
		if !o.Time.Equal(fuzzNow) {
			t.Fatalf("observation time %v", o.Time)
		}
	})
}

// A token answer gives a sendable access token that expires after now, or
// an error that quotes no token of the answer.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"sk-ant-oat01-a","refresh_token":"sk-ant-ort01-b","expires_in":28800,"scope":"user:inference user:profile","account":{"uuid":"u","email_address":"e"},"organization":{"uuid":"o","name":"n"}}`))
	f.Add([]byte(`{"access_token":"sk-ant-oat01-a","expires_in":31536000,"refresh_token_expires_in":null}`))
	f.Add([]byte(`{"access_token":"sk-ant-oat01-secretvalue","expires_in":"soon"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseTokenResponse(body, fuzzNow, []string{ScopeInference})
		if err != nil {
			var v struct {
				A any `json:"access_token"`
				R any `json:"refresh_token"`
			}
			_ = json.Unmarshal(body, &v)
			for _, s := range []any{v.A, v.R} {
				if s, ok := s.(string); ok && len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q quotes a token", err)
				}
			}
			return
		}
		if tok.AccessToken == "" || checkTokenText("a", tok.AccessToken.Reveal()) != nil || !tok.ExpiresAt.After(fuzzNow) {
			t.Fatalf("token %v", tok)
		}
		if tok.CanRefresh() != !tok.RefreshTokenExpiresAt.IsZero() {
			t.Fatalf("refresh token and its expiry disagree: %v", tok)
		}
	})
}

// A credentials file gives a sendable access token, or an error that
// quotes no string of the file.
func FuzzReadCredentialsFile(f *testing.F) {
	addFiles(f, "credentials/*.json")
	f.Add([]byte(`{"claudeAiOauth":{"accessToken":"secretvalue1","expiresAt":"secretvalue2"}}`))
	f.Fuzz(func(t *testing.T, file []byte) {
		tok, err := ReadCredentialsFile(bytes.NewReader(file))
		if err != nil {
			var v struct {
				O map[string]any `json:"claudeAiOauth"`
			}
			_ = json.Unmarshal(file, &v)
			for _, val := range v.O {
				if s, ok := val.(string); ok && len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q quotes the file", err)
				}
			}
			return
		}
		if tok.AccessToken == "" || checkTokenText("a", tok.AccessToken.Reveal()) != nil {
			t.Fatalf("token %v", tok)
		}
		if tok.RefreshToken != "" && checkTokenText("r", tok.RefreshToken.Reveal()) != nil {
			t.Fatalf("refresh token not sendable")
		}
	})
}

// A paste gives a code and a state fit to send, which are the paste
// itself for code#state; an error never quotes the paste.
func FuzzSplitPasted(f *testing.F) {
	for _, s := range []string{"abc#def", " abc#def\n", "abc", "#", "a#b#c", "https://x.example/cb?code=a&state=b",
		"http://localhost:1/cb?error=access_denied", "https://exa mple.com/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pasted string) {
		code, state, err := splitPasted(pasted)
		if err != nil {
			if s := strings.TrimSpace(pasted); len(s) >= 12 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the paste", err)
			}
			return
		}
		if checkPastedPart("code", code) != nil || checkPastedPart("state", state) != nil {
			t.Fatalf("code %q, state %q not fit to send", code, state)
		}
		s := strings.TrimSpace(pasted)
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") && code+"#"+state != s {
			t.Fatalf("%q split into %q and %q", pasted, code, state)
		}
	})
}

// An error answer's text is bounded and never holds the secret sent.
func FuzzHTTPError(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"token abcdefgh"}`), "abcdefgh")
	f.Add(500, []byte(`{"type":"error","error":{"type":"api_error","message":"sk-ant-x"}}`), "sk-ant-ort01-zz")
	f.Fuzz(func(t *testing.T, status int, body []byte, secret string) {
		e := newHTTPError("refresh", status, body, []string{secret})
		if len(e.Body) > maxErrorText || len(e.Code) > maxCode {
			t.Fatalf("body %d bytes, code %d bytes", len(e.Body), len(e.Code))
		}
		if len(secret) < 6 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" ||
			strings.Contains("[REDACTED]", secret) {
			return // the property holds for secrets shaped like tokens (and not like the mark that replaces them)
		}
		if strings.Contains(e.Error(), secret) {
			t.Fatalf("error %q holds the secret %q", e, secret)
		}
	})
}

// A profile answer reads or is refused; its plan is one Claude Code names.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(`{"account":{"uuid":"a","email":"e@example.com"},"organization":{"uuid":"o","name":"n","organization_type":"claude_max"}}`))
	f.Add([]byte(`{"account":{"email_address":"e@example.com"},"organization":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseProfile(body)
		if err != nil {
			return
		}
		switch p.Plan() {
		case "", "max", "pro", "team", "enterprise":
		default:
			t.Fatalf("plan %q", p.Plan())
		}
		again, err := json.Marshal(map[string]map[string]string{
			"account":      {"uuid": p.AccountUUID, "email": p.AccountEmail},
			"organization": {"uuid": p.OrganizationUUID, "name": p.OrganizationName, "organization_type": p.OrganizationType},
		})
		if err != nil {
			t.Fatal(err)
		}
		if q, err := ParseProfile(again); err != nil || q != p {
			t.Fatalf("%+v written and read again: %+v, %v", p, q, err)
		}
	})
}
