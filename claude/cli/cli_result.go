package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool/claude"
)

// This file decodes the CLI's result message and checks the numbers of its
// fields (usage counts, costs, times, rate-limit windows), naming the field
// of each one it refuses.

// cliResultLine is the result message (docs/formats.md §1.1).
type cliResultLine struct {
	Type            string                     `json:"type"`
	Subtype         string                     `json:"subtype"`
	IsError         bool                       `json:"is_error"`
	DurationMS      float64                    `json:"duration_ms"`
	DurationAPIMS   float64                    `json:"duration_api_ms"`
	NumTurns        int                        `json:"num_turns"`
	Result          string                     `json:"result"`
	Errors          []string                   `json:"errors"`
	StopReason      string                     `json:"stop_reason"`
	APIErrorStatus  int                        `json:"api_error_status"`
	APIErrorType    string                     `json:"api_error_type"`
	APIError        string                     `json:"api_error"`
	TerminalReason  string                     `json:"terminal_reason"`
	TotalCostUSD    float64                    `json:"total_cost_usd"`
	ModelUsage      map[string]json.RawMessage `json:"modelUsage"`
	SinceLastResult map[string]json.RawMessage `json:"model_usage_since_last_result"`
	SessionID       string                     `json:"session_id"`
	UUID            string                     `json:"uuid"`
	ResultIndex     int                        `json:"result_index"`
}

// cliModelUsage is one entry of modelUsage (camelCase, docs/formats.md §1.1).
type cliModelUsage struct {
	InputTokens                         int64   `json:"inputTokens"`
	OutputTokens                        int64   `json:"outputTokens"`
	CacheReadInputTokens                int64   `json:"cacheReadInputTokens"`
	CacheCreationInputTokens            int64   `json:"cacheCreationInputTokens"`
	CacheCreationEphemeral5mInputTokens int64   `json:"cacheCreationEphemeral5mInputTokens"`
	CacheCreationEphemeral1hInputTokens int64   `json:"cacheCreationEphemeral1hInputTokens"`
	WebSearchRequests                   int64   `json:"webSearchRequests"`
	CostUSD                             float64 `json:"costUSD"`
	ContextWindow                       int64   `json:"contextWindow"`
	MaxOutputTokens                     int64   `json:"maxOutputTokens"`
	ThinkingTokens                      int64   `json:"thinkingTokens"`
	CanonicalModel                      string  `json:"canonicalModel"`
	Provider                            string  `json:"provider"`
	CostBasis                           string  `json:"costBasis"`
}

// cliParseResultLine parses a result object into *r (CostKnown, Trailing,
// RateLimit and Incomplete are left alone).
func cliParseResultLine(data []byte, r *Result) error {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		if err := json.Unmarshal(t, new(any)); err != nil {
			return cliJSONError("", err)
		}
		return errors.New("not a JSON object")
	}
	var l cliResultLine
	if err := json.Unmarshal(data, &l); err != nil {
		return cliJSONError("", err)
	}
	if l.Type != "result" {
		return fmt.Errorf("field \"type\": %q, want \"result\"", l.Type)
	}
	dur, err := cliMillis("duration_ms", l.DurationMS)
	if err != nil {
		return err
	}
	apiDur, err := cliMillis("duration_api_ms", l.DurationAPIMS)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"num_turns", l.NumTurns}, {"api_error_status", l.APIErrorStatus}, {"result_index", l.ResultIndex}} {
		if f.v < 0 {
			return cliNegative(f.name, int64(f.v))
		}
	}
	if err := cliCost("total_cost_usd", l.TotalCostUSD); err != nil {
		return err
	}
	models, err := cliModels("modelUsage", l.ModelUsage)
	if err != nil {
		return err
	}
	since, err := cliModels("model_usage_since_last_result", l.SinceLastResult)
	if err != nil {
		return err
	}
	*r = Result{
		SessionID:       l.SessionID,
		UUID:            l.UUID,
		ResultIndex:     l.ResultIndex,
		Subtype:         l.Subtype,
		IsError:         l.IsError,
		TerminalReason:  l.TerminalReason,
		StopReason:      l.StopReason,
		APIErrorStatus:  l.APIErrorStatus,
		APIErrorType:    l.APIErrorType,
		APIError:        l.APIError,
		Text:            l.Result,
		Errors:          l.Errors,
		NumTurns:        l.NumTurns,
		Duration:        dur,
		APIDuration:     apiDur,
		TotalCostUSD:    l.TotalCostUSD,
		Models:          models,
		SinceLastResult: since,
	}
	return nil
}

// cliModels parses a modelUsage map, entry by entry so that an error names
// the model.
func cliModels(field string, raw map[string]json.RawMessage) (map[string]ModelUsage, error) {
	if raw == nil {
		return nil, nil
	}
	out := make(map[string]ModelUsage, len(raw))
	for model, data := range raw {
		path := field + "." + model
		var m cliModelUsage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, cliJSONError(path, err)
		}
		for _, f := range []struct {
			name string
			v    int64
		}{
			{"inputTokens", m.InputTokens}, {"outputTokens", m.OutputTokens},
			{"cacheReadInputTokens", m.CacheReadInputTokens}, {"cacheCreationInputTokens", m.CacheCreationInputTokens},
			{"cacheCreationEphemeral5mInputTokens", m.CacheCreationEphemeral5mInputTokens},
			{"cacheCreationEphemeral1hInputTokens", m.CacheCreationEphemeral1hInputTokens},
			{"webSearchRequests", m.WebSearchRequests}, {"thinkingTokens", m.ThinkingTokens},
			{"contextWindow", m.ContextWindow}, {"maxOutputTokens", m.MaxOutputTokens},
		} {
			if err := cliCount(path+"."+f.name, f.v); err != nil {
				return nil, err
			}
		}
		if err := cliCost(path+".costUSD", m.CostUSD); err != nil {
			return nil, err
		}
		if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			continue // a null entry says nothing
		}
		w5m, w1h := cliSplitWrites(m.CacheCreationInputTokens, m.CacheCreationEphemeral5mInputTokens, m.CacheCreationEphemeral1hInputTokens)
		out[model] = ModelUsage{
			Counts: claude.Counts{
				Input: m.InputTokens, Output: m.OutputTokens, CacheRead: m.CacheReadInputTokens,
				CacheWrite5m: w5m, CacheWrite1h: w1h, WebSearches: m.WebSearchRequests,
			},
			ThinkingTokens:  m.ThinkingTokens,
			CostUSD:         m.CostUSD,
			ContextWindow:   m.ContextWindow,
			MaxOutputTokens: m.MaxOutputTokens,
			CanonicalModel:  m.CanonicalModel,
			Provider:        m.Provider,
			CostBasis:       m.CostBasis,
		}
	}
	return out, nil
}

// counts returns an API usage's counts, checked.
func (u *cliAPIUsage) counts(field string) (claude.Counts, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"input_tokens", u.InputTokens}, {"output_tokens", u.OutputTokens},
		{"cache_creation_input_tokens", u.CacheCreationInputTokens}, {"cache_read_input_tokens", u.CacheReadInputTokens},
		{"cache_creation.ephemeral_5m_input_tokens", u.CacheCreation.Ephemeral5m},
		{"cache_creation.ephemeral_1h_input_tokens", u.CacheCreation.Ephemeral1h},
		{"server_tool_use.web_search_requests", u.ServerToolUse.WebSearchRequests},
	} {
		if err := cliCount(field+"."+f.name, f.v); err != nil {
			return claude.Counts{}, err
		}
	}
	w5m, w1h := cliSplitWrites(u.CacheCreationInputTokens, u.CacheCreation.Ephemeral5m, u.CacheCreation.Ephemeral1h)
	return claude.Counts{
		Input: u.InputTokens, Output: u.OutputTokens, CacheRead: u.CacheReadInputTokens,
		CacheWrite5m: w5m, CacheWrite1h: w1h, WebSearches: u.ServerToolUse.WebSearchRequests,
		Fast: u.Speed == "fast", Geo: u.InferenceGeo,
	}, nil
}

// cliAddCounts adds c to *dst as Counts.Add does, saturating at
// math.MaxInt64 rather than overflowing.
func cliAddCounts(dst *claude.Counts, c claude.Counts) {
	add := func(a *int64, b int64) {
		if b > math.MaxInt64-*a {
			*a = math.MaxInt64
			return
		}
		*a += b
	}
	add(&dst.Input, c.Input)
	add(&dst.Output, c.Output)
	add(&dst.CacheWrite5m, c.CacheWrite5m)
	add(&dst.CacheWrite1h, c.CacheWrite1h)
	add(&dst.CacheRead, c.CacheRead)
	add(&dst.WebSearches, c.WebSearches)
	dst.Fast = dst.Fast || c.Fast
	if dst.Geo == "" {
		dst.Geo = c.Geo
	}
}

// cliSplitWrites splits cache writes by time to live as Claude Code prices
// them (docs/formats.md §1.1): the 1-hour writes are at most the total, the rest
// are 5-minute writes. A split that sums to more than the total raises the
// total to its sum.
func cliSplitWrites(total, eph5m, eph1h int64) (w5m, w1h int64) {
	total = max(total, eph5m+eph1h)
	w1h = min(eph1h, total)
	return total - w1h, w1h
}

// info converts rate_limit_info at field into a RateLimitInfo.
func (c *cliRateLimit) info(field string) (RateLimitInfo, error) {
	info := RateLimitInfo{
		Status:                c.Status,
		RateLimitType:         c.RateLimitType,
		Utilization:           c.Utilization,
		SurpassedThreshold:    c.SurpassedThreshold,
		OverageStatus:         c.OverageStatus,
		OverageDisabledReason: c.OverageDisabledReason,
		IsUsingOverage:        c.IsUsingOverage,
	}
	var err error
	if info.ResetsAt, err = cliUnix(field+".resetsAt", c.ResetsAt); err != nil {
		return RateLimitInfo{}, err
	}
	if info.OverageResetsAt, err = cliUnix(field+".overageResetsAt", c.OverageResetsAt); err != nil {
		return RateLimitInfo{}, err
	}
	for name, data := range c.UnifiedWindows {
		path := field + ".unifiedWindows." + name
		var w cliRateLimitWindow
		if err := json.Unmarshal(data, &w); err != nil {
			return RateLimitInfo{}, cliJSONError(path, err)
		}
		win := RateLimitWindow{Status: w.Status, Utilization: w.Utilization}
		if win.ResetsAt, err = cliUnix(path+".resetsAt", w.ResetsAt); err != nil {
			return RateLimitInfo{}, err
		}
		if info.Windows == nil {
			info.Windows = make(map[string]RateLimitWindow, len(c.UnifiedWindows))
		}
		info.Windows[name] = win
	}
	return info, nil
}

// cliMaxUnix is the last second of the year 9999.
const cliMaxUnix = 253402300799

// cliUnix converts unix seconds at field into a time (zero for absent, null
// or 0).
func cliUnix(field string, sec *float64) (time.Time, error) {
	switch {
	case sec == nil || *sec == 0:
		return time.Time{}, nil
	case *sec < 0 || *sec > cliMaxUnix:
		return time.Time{}, fmt.Errorf("field %q: %v is not a time in unix seconds", field, *sec)
	}
	whole, frac := math.Modf(*sec)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
}

// cliMaxMillis is the longest duration accepted, in milliseconds: about 31
// years, well inside time.Duration.
const cliMaxMillis = 1e12

// cliMillis converts milliseconds at field into a duration.
func cliMillis(field string, ms float64) (time.Duration, error) {
	if ms < 0 || ms > cliMaxMillis {
		return 0, fmt.Errorf("field %q: %v is not a duration in milliseconds", field, ms)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// cliMaxCount is the largest count accepted: JavaScript's largest exact
// integer, more than any run uses, so that sums cannot overflow.
const cliMaxCount = 1<<53 - 1

// cliCount checks a count at field.
func cliCount(field string, v int64) error {
	if v < 0 {
		return cliNegative(field, v)
	}
	if v > cliMaxCount {
		return fmt.Errorf("field %q: %d is more than %d", field, v, int64(cliMaxCount))
	}
	return nil
}

// cliCost checks a cost at field.
func cliCost(field string, v float64) error {
	if v < 0 {
		return fmt.Errorf("field %q: %v is a negative cost", field, v)
	}
	return nil
}

// cliNegative is the error of a negative number at field.
func cliNegative(field string, v int64) error {
	return fmt.Errorf("field %q: %d is negative", field, v)
}

// cliJSONError rewrites an encoding/json error as one that names the field
// (prefixed with prefix) and says what was expected.
func cliJSONError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		switch {
		case prefix == "":
		case field == "":
			field = prefix
		default:
			field = prefix + "." + field
		}
		if field == "" {
			return fmt.Errorf("expected %s, got %s", cliKind(te), te.Value)
		}
		return fmt.Errorf("field %q: expected %s, got %s", field, cliKind(te), te.Value)
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if prefix != "" {
			return fmt.Errorf("field %q: not JSON: %v", prefix, err)
		}
		return fmt.Errorf("not JSON: %v (byte %d)", err, syn.Offset)
	}
	if prefix != "" {
		return fmt.Errorf("field %q: %w", prefix, err)
	}
	return err
}

// cliKind names the JSON a Go type wants.
func cliKind(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "another type"
	}
	switch te.Type.Kind().String() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "ptr":
		return cliKind(&json.UnmarshalTypeError{Type: te.Type.Elem()})
	}
	return te.Type.String()
}
