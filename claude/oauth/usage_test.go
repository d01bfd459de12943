package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// Every testdata/usage/<name>.json parses to testdata/usage/<name>.golden:
// the report and the observation the pool is given.
func TestParseUsageGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "usage", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no usage files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			u, err := oauth.ParseUsage(body, t0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(struct {
				Usage       oauth.Usage
				Observation authpool.Observation
			}{u, u.Observation()}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("usage", name+".golden"), append(got, '\n'))
		})
	}
}

// The percent becomes the pool's share; a window without a reset is not
// observed.
func TestUsageObservation(t *testing.T) {
	t.Parallel()
	reset := t0.Add(3 * time.Hour)
	week := t0.Add(100 * time.Hour)
	u := oauth.Usage{
		Time:         t0,
		FiveHour:     &oauth.UsageWindow{Utilization: 42, ResetsAt: reset},
		SevenDay:     &oauth.UsageWindow{Utilization: 0},
		SevenDayOpus: &oauth.UsageWindow{Utilization: 90, ResetsAt: week},
	}
	want := authpool.Observation{Time: t0, Block: &authpool.WindowObservation{Share: 0.42, Reset: reset}}
	if diff := cmp.Diff(want, u.Observation()); diff != "" {
		t.Errorf("Observation (-want +got):\n%s", diff)
	}
	u.SevenDay.ResetsAt = week
	u.FiveHour = nil
	want = authpool.Observation{Time: t0, Week: &authpool.WindowObservation{Share: 0, Reset: week}}
	if diff := cmp.Diff(want, u.Observation()); diff != "" {
		t.Errorf("Observation (-want +got):\n%s", diff)
	}
}

// Bad answers are errors naming the field.
func TestParseUsageBad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"not JSON", `<html>`, "oauth: usage: invalid character '<'"},
		{"an array", `[]`, "cannot unmarshal array"},
		{"negative", `{"five_hour":{"utilization":-1,"resets_at":null}}`, "five_hour.utilization -1 is not a percent in 0..10000"},
		{"absurd", `{"seven_day_opus":{"utilization":1e9}}`, "seven_day_opus.utilization 1e+09 is not a percent"},
		{"string percent", `{"seven_day":{"utilization":"42"}}`, "cannot unmarshal string into Go struct field windowJSON.seven_day.utilization of type float64"},
		{"bad time", `{"seven_day_sonnet":{"utilization":1,"resets_at":"tomorrow"}}`, `seven_day_sonnet.resets_at "tomorrow" is not an ISO 8601 time`},
		{"unix time", `{"five_hour":{"utilization":1,"resets_at":1762826400}}`, "cannot unmarshal number"},
		{"long time", `{"five_hour":{"utilization":1,"resets_at":"` + strings.Repeat("9", 100) + `"}}`, `"` + strings.Repeat("9", 64) + `…" is not`},
		{"window a number", `{"seven_day_oauth_apps":3}`, "cannot unmarshal number"},
		{"extra usage flag", `{"extra_usage":{"is_enabled":"yes"}}`, "is_enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := oauth.ParseUsage([]byte(tt.body), t0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseUsage: %v\nwant an error with %q", err, tt.want)
			}
		})
	}
}

// Usage asks with the bearer token and the OAuth beta (the fake refuses
// either missing), and reads the answer on the Client's clock.
func TestUsageEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	login := f.fake.Mint(oauth.DefaultScopes()...)
	u, err := f.client.Usage(context.Background(), store.Secret(login.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	want, err := oauth.ParseUsage([]byte(fakeoauth.DefaultUsage), t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	h := lastRequest(t, f, fakeoauth.UsagePath).Header
	if h.Get("Authorization") != "Bearer "+login.AccessToken || h.Get("anthropic-beta") != oauth.OAuthBeta {
		t.Errorf("usage request headers %v", h)
	}
}

// The usage endpoint's refusals: an expired token, a setup token (no
// user:profile), an empty token.
func TestUsageRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{AccessTTL: time.Hour}, oauth.Config{})
	expired := f.fake.Mint(oauth.DefaultScopes()...)
	setup := f.fake.MintSetupToken()
	f.clk.Advance(2 * time.Hour)
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"expired", expired.AccessToken, http.StatusUnauthorized, "authentication_error"},
		{"setup token", setup.AccessToken, http.StatusForbidden, "permission_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.Usage(context.Background(), store.Secret(tt.token))
			var he *oauth.HTTPError
			if !errors.As(err, &he) || he.Status != tt.status || he.Code != tt.code || he.Op != "usage" {
				t.Fatalf("Usage: %v, want HTTP %d %s", err, tt.status, tt.code)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
	if _, err := f.client.Usage(context.Background(), ""); err == nil {
		t.Error("Usage with an empty token: nil error")
	}
}

// Profile names the plan.
func TestProfile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{OrganizationType: "claude_pro"}, oauth.Config{})
	login := f.fake.Mint(oauth.DefaultScopes()...)
	p, err := f.client.Profile(context.Background(), store.Secret(login.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.Profile{
		AccountUUID: "00000000-0000-4000-8000-00000000000a", AccountEmail: "pool@example.com",
		OrganizationUUID: "00000000-0000-4000-8000-00000000000b", OrganizationName: "Example Org", OrganizationType: "claude_pro",
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Profile (-want +got):\n%s", diff)
	}
	for typ, plan := range map[string]string{"claude_max": "max", "claude_pro": "pro", "claude_team": "team",
		"claude_enterprise": "enterprise", "api": "", "": ""} {
		if got := (oauth.Profile{OrganizationType: typ}).Plan(); got != plan {
			t.Errorf("Plan of %q = %q, want %q", typ, got, plan)
		}
	}
	p, err = oauth.ParseProfile([]byte(`{"account":{"uuid":"a","email_address":"x@example.com"}}`))
	if err != nil || p.AccountEmail != "x@example.com" {
		t.Errorf("ParseProfile with email_address: %+v, %v", p, err)
	}
	if _, err := oauth.ParseProfile([]byte(`{"organization":[]}`)); err == nil {
		t.Error("ParseProfile of a bad organization: nil error")
	}
}
