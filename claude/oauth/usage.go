package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/store"
)

// Usage is what the usage endpoint reported of a subscription: each
// window's utilization and reset, nil for a window it did not report (or
// reported as null). Unknown fields are ignored.
type Usage struct {
	// Time is when it was read (the Client's clock).
	Time time.Time `json:"time"`
	// FiveHour is the 5-hour window, SevenDay the weekly one.
	FiveHour *UsageWindow `json:"five_hour,omitempty"`
	SevenDay *UsageWindow `json:"seven_day,omitempty"`
	// SevenDayOpus and SevenDaySonnet are the weekly windows of one model
	// family, SevenDayOAuthApps the weekly window of third-party apps.
	SevenDayOpus      *UsageWindow `json:"seven_day_opus,omitempty"`
	SevenDaySonnet    *UsageWindow `json:"seven_day_sonnet,omitempty"`
	SevenDayOAuthApps *UsageWindow `json:"seven_day_oauth_apps,omitempty"`
	// ExtraUsage is the pay-as-you-go credit beyond the plan.
	ExtraUsage *ExtraUsage `json:"extra_usage,omitempty"`
}

// UsageWindow is one window.
type UsageWindow struct {
	// Utilization is the percent used, 0 to 100 (more when over); a null
	// utilization reads as 0.
	Utilization float64 `json:"utilization"`
	// ResetsAt is when the window resets; zero when the endpoint gave none
	// (a window not started).
	ResetsAt time.Time `json:"resets_at,omitzero"`
}

// ExtraUsage is the extra-usage ("usage credits") state. Nil pointers are
// fields the endpoint gave as null or not at all.
type ExtraUsage struct {
	IsEnabled    bool     `json:"is_enabled"`
	MonthlyLimit *float64 `json:"monthly_limit,omitempty"`
	UsedCredits  *float64 `json:"used_credits,omitempty"`
	// Utilization is a percent, as the windows'.
	Utilization    *float64 `json:"utilization,omitempty"`
	Currency       string   `json:"currency,omitempty"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
}

// Usage reads the subscription's usage with its access token, which needs
// the user:profile scope (a claude setup-token cannot: the endpoint
// refuses it). The endpoint is Claude Code's /usage; poll it gently. A
// refusal is an *HTTPError.
func (c *Client) Usage(ctx context.Context, accessToken store.Secret) (Usage, error) {
	body, err := c.getBearer(ctx, c.cfg.UsageURL, "usage", accessToken)
	if err != nil {
		return Usage{}, err
	}
	return ParseUsage(body, c.now())
}

// maxUtilization bounds a window's percent: far above 100, below anything
// absurd.
const maxUtilization = 10000

// usageJSON is the usage endpoint's answer.
type usageJSON struct {
	FiveHour          *windowJSON `json:"five_hour"`
	SevenDay          *windowJSON `json:"seven_day"`
	SevenDayOpus      *windowJSON `json:"seven_day_opus"`
	SevenDaySonnet    *windowJSON `json:"seven_day_sonnet"`
	SevenDayOAuthApps *windowJSON `json:"seven_day_oauth_apps"`
	ExtraUsage        *struct {
		IsEnabled      *bool    `json:"is_enabled"`
		MonthlyLimit   *float64 `json:"monthly_limit"`
		UsedCredits    *float64 `json:"used_credits"`
		Utilization    *float64 `json:"utilization"`
		Currency       *string  `json:"currency"`
		DisabledReason *string  `json:"disabled_reason"`
	} `json:"extra_usage"`
}

type windowJSON struct {
	Utilization *float64 `json:"utilization"`
	ResetsAt    *string  `json:"resets_at"`
}

// ParseUsage reads an answer of the usage endpoint received at now.
// Errors name the field: a utilization that is negative or above 10000,
// a resets_at that is not an ISO 8601 time, a field of the wrong type.
func ParseUsage(body []byte, now time.Time) (Usage, error) {
	var j usageJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return Usage{}, fmt.Errorf("oauth: usage: %w", err)
	}
	u := Usage{Time: now}
	for _, w := range []struct {
		name string
		in   *windowJSON
		out  **UsageWindow
	}{
		{"five_hour", j.FiveHour, &u.FiveHour}, {"seven_day", j.SevenDay, &u.SevenDay},
		{"seven_day_opus", j.SevenDayOpus, &u.SevenDayOpus}, {"seven_day_sonnet", j.SevenDaySonnet, &u.SevenDaySonnet},
		{"seven_day_oauth_apps", j.SevenDayOAuthApps, &u.SevenDayOAuthApps},
	} {
		if w.in == nil {
			continue
		}
		win, err := w.in.window(w.name)
		if err != nil {
			return Usage{}, fmt.Errorf("oauth: usage: %w", err)
		}
		*w.out = &win
	}
	if e := j.ExtraUsage; e != nil {
		x := &ExtraUsage{MonthlyLimit: e.MonthlyLimit, UsedCredits: e.UsedCredits, Utilization: e.Utilization}
		x.IsEnabled = e.IsEnabled != nil && *e.IsEnabled
		if e.Currency != nil {
			x.Currency = *e.Currency
		}
		if e.DisabledReason != nil {
			x.DisabledReason = *e.DisabledReason
		}
		u.ExtraUsage = x
	}
	return u, nil
}

// window checks and converts one window named name.
func (w *windowJSON) window(name string) (UsageWindow, error) {
	var out UsageWindow
	if w.Utilization != nil {
		p := *w.Utilization
		if math.IsNaN(p) || p < 0 || p > maxUtilization {
			return out, fmt.Errorf("%s.utilization %v is not a percent in 0..%d", name, p, maxUtilization)
		}
		out.Utilization = p
	}
	if w.ResetsAt != nil {
		t, err := parseISOTime(*w.ResetsAt)
		if err != nil {
			return out, fmt.Errorf("%s.resets_at %q is not an ISO 8601 time", name, clipQuote(*w.ResetsAt))
		}
		out.ResetsAt = t
	}
	return out, nil
}

// parseISOTime parses an ISO 8601 date and time, in UTC: RFC 3339 with any
// fraction of a second, or the same without a zone offset (read as UTC).
func parseISOTime(s string) (time.Time, error) {
	var err error
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// clipQuote bounds a value quoted in an error.
func clipQuote(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return safetext.Clip(s, n) + "…"
}

// Observation returns the 5-hour and weekly windows as what the pool
// observes (authpool.Pool.Observe): the percent as a share (0 to 1), at
// u.Time. A window the endpoint did not report, or reported without a
// reset, is left out (nil). The per-model windows are not in it: they
// are in u for the caller to judge.
func (u Usage) Observation() authpool.Observation {
	return authpool.Observation{Time: u.Time, Block: u.FiveHour.observation(), Week: u.SevenDay.observation()}
}

// observation returns w as a share with its reset; nil without a reset.
func (w *UsageWindow) observation() *authpool.WindowObservation {
	if w == nil || w.ResetsAt.IsZero() {
		return nil
	}
	return &authpool.WindowObservation{Share: w.Utilization / 100, Reset: w.ResetsAt}
}
