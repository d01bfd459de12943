package fakeanthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file is how [CLI] reads the limits an answer names, as Claude Code
// 2.1.332 does: the rate_limit_info it builds from the unified headers, the
// line it prints for a failed turn and its notice for a warning.

// CLIRateLimit is the rate_limit_event's rate_limit_info the CLI builds from
// the unified headers (OAuth mode only).
type CLIRateLimit struct {
	Status             string    // allowed, allowed_warning or rejected
	ResetsAt           time.Time // anthropic-ratelimit-unified-reset
	RateLimitType      string    // representative claim, or overage for a gateway's own cap
	Utilization        float64
	SurpassedThreshold float64 // 0 when none was surpassed
	OverageStatus      string
}

// shown is the line the CLI prints for a failed turn.
func (c *CLI) shown(status int, h http.Header, body []byte, rl *CLIRateLimit) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	msg := e.Error.Message
	switch {
	case status == http.StatusTooManyRequests && c.Auth == AuthOAuth:
		if namesLimit(h) {
			line := limitName(h.Get("Anthropic-Ratelimit-Unified-Representative-Claim"), h.Get("Anthropic-Ratelimit-Unified-Overage-Status"),
				h.Get("Anthropic-Ratelimit-Unified-Overage-Disabled-Reason"))
			if rl != nil && !rl.ResetsAt.IsZero() {
				line += " · resets " + clockTime(rl.ResetsAt) + " (UTC)"
			}
			return line
		}
		return "API Error: Server is temporarily limiting requests (not your usage limit) · " + msg
	case status == http.StatusTooManyRequests:
		return "API Error: Request rejected (429) · " + msg
	case status == http.StatusUnauthorized:
		return "Failed to authenticate. API Error: 401 " + msg
	case status >= 500:
		return fmt.Sprintf("API Error: %d %s. This is a server-side issue, usually temporary — try again in a moment. "+
			"If it persists, check your inference gateway (%s).", status, msg, strings.TrimPrefix(strings.TrimPrefix(c.BaseURL, "http://"), "https://"))
	}
	return fmt.Sprintf("API Error: %d %s", status, msg)
}

// namesLimit reports whether a 429's headers name a usage limit, as the CLI
// reads them: a representative claim or an overage status.
func namesLimit(h http.Header) bool {
	return h.Get("Anthropic-Ratelimit-Unified-Representative-Claim") != "" || h.Get("Anthropic-Ratelimit-Unified-Overage-Status") != ""
}

// limitName is how the CLI names the limit a 429 hit, by its representative
// claim and overage status: an overage rejected (and not disabled, which
// leaves the claim's name) is "your limit", whatever the claim.
func limitName(claim, overageStatus, overageDisabledReason string) string {
	switch {
	case overageStatus == "rejected" && overageDisabledReason == "":
		return "You've hit your limit"
	case claim == "five_hour" || claim == "5h":
		return "You've hit your 5-hour limit"
	case claim == "seven_day" || claim == "7d":
		return "You've hit your weekly limit"
	case claim == "seven_day_opus":
		return "You've hit your Opus limit"
	case claim == "seven_day_sonnet":
		return "You've hit your Sonnet limit"
	}
	return "You've hit your usage limit"
}

// clockTime prints a time as the CLI does: 4am, 3:58am (UTC, minutes cut).
func clockTime(t time.Time) string {
	t = t.UTC()
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	ampm := "am"
	if t.Hour() >= 12 {
		ampm = "pm"
	}
	if t.Minute() == 0 {
		return fmt.Sprintf("%d%s", h, ampm)
	}
	return fmt.Sprintf("%d:%02d%s", h, t.Minute(), ampm)
}

// cliRateLimit builds the rate_limit_info of a response's unified headers.
func cliRateLimit(h http.Header) *CLIRateLimit {
	const p = "Anthropic-Ratelimit-Unified-"
	status := h.Get(p + "Status")
	overage := h.Get(p + "Overage-Status")
	if status == "" && overage == "" && h.Get(p+"Overage-Utilization") == "" {
		return nil
	}
	rl := &CLIRateLimit{Status: status, OverageStatus: overage, RateLimitType: h.Get(p + "Representative-Claim")}
	if rl.Status == "" {
		rl.Status = "allowed"
	}
	if secs, err := strconv.ParseInt(h.Get(p+"Reset"), 10, 64); err == nil {
		rl.ResetsAt = time.Unix(secs, 0).UTC()
	}
	if u, err := strconv.ParseFloat(h.Get(p+"Overage-Utilization"), 64); err == nil {
		rl.Utilization = u
		if rl.RateLimitType == "" {
			rl.RateLimitType = "overage"
		}
	}
	if t, err := strconv.ParseFloat(h.Get(p+"Overage-Surpassed-Threshold"), 64); err == nil {
		rl.SurpassedThreshold = t
		if rl.Status == "allowed" {
			rl.Status = "allowed_warning"
		}
	}
	return rl
}

// notice is the interactive screen's line for a warning: "You've used 96%
// of your usage credits · resets 4am (UTC)".
func (rl *CLIRateLimit) notice(now time.Time) string {
	if rl == nil || rl.Status != "allowed_warning" || rl.RateLimitType != "overage" {
		return ""
	}
	s := fmt.Sprintf("You've used %d%% of your usage credits", int(rl.Utilization*100+0.5))
	if rl.ResetsAt.After(now) {
		s += " · resets " + clockTime(rl.ResetsAt) + " (UTC)"
	}
	return s
}
