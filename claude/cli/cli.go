package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/authpool/authpool/claude"
)

// This file reads the output of the Claude Code CLI run as `claude -p`:
// --output-format json (one result object, docs/formats.md §1.1) and
// --output-format stream-json (one object a line, docs/formats.md §1.2). Where the
// captured output in testdata/cli (CLI 2.1.332) differs from docs/formats.md, the
// captured output was followed: see the notes on Result, ModelUsage and
// RateLimitInfo.

// MaxStreamLine is the longest line ParseStream reads, in bytes: 16 MiB. A
// stream-json line holds one message with all its content blocks, so a long
// tool result makes a long line; a longer one is an error.
const MaxStreamLine = 16 << 20

// Result is what one `claude -p` run used and how it ended: the result
// message of docs/formats.md §1.1, as ParseResult and ParseStream read it, plus
// (from a stream) the latest rate-limit state and the usage of assistant
// messages no result line accounts for.
//
// Claude Code's totals (TotalCostUSD, Models) are cumulative for the life of
// the CLI process: with --output-format json every run is its own process,
// so they are the run's; in a streaming-input session every result restates
// the session so far (read the latest, never add results up; docs/formats.md
// §1.1, anthropics/claude-code#83239).
//
// An API error still ends with a result: IsError with subtype "success",
// APIErrorStatus and TerminalReason "api_error" (docs/formats.md §0). Error
// results, of either kind, still carry and count what they cost.
//
// A Result is a plain value, safe to read from several goroutines; its maps
// and slices are its own.
type Result struct {
	// SessionID is the run's session, the same as the
	// X-Claude-Code-Session-Id request header. From the result line, or
	// else from the stream's init and assistant lines.
	SessionID string `json:"sessionId,omitempty"`
	// UUID identifies the result message.
	UUID string `json:"uuid,omitempty"`
	// ResultIndex is the result's index in its session (result_index;
	// 0 when absent).
	ResultIndex int `json:"resultIndex,omitempty"`
	// Subtype is "success" or one of the error subtypes error_max_turns,
	// error_during_execution, error_max_budget_usd,
	// error_max_structured_output_retries.
	Subtype string `json:"subtype,omitempty"`
	// IsError reports whether the run ended in error. It can be set with
	// subtype "success": the turn ended on an API error.
	IsError bool `json:"isError,omitempty"`
	// TerminalReason says why the run stopped: completed, max_turns,
	// api_error, ... (empty when absent).
	TerminalReason string `json:"terminalReason,omitempty"`
	// StopReason is the API stop reason of the last call (empty for null).
	StopReason string `json:"stopReason,omitempty"`
	// APIErrorStatus is the HTTP status of the API error the run ended on
	// (api_error_status), 0 when null or absent.
	APIErrorStatus int `json:"apiErrorStatus,omitempty"`
	// APIErrorType is the API's error type (api_error_type), such as
	// rate_limit_error, overloaded_error or authentication_error. Not in
	// docs/formats.md; seen in the captured error results.
	APIErrorType string `json:"apiErrorType,omitempty"`
	// APIError is Claude Code's name for the error (api_error), such as
	// usage_limit_reached for a subscription quota. Not in docs/formats.md; seen
	// in the captured quota result.
	APIError string `json:"apiError,omitempty"`
	// Text is the result text: the final assistant text, or the error text
	// when IsError (for example "You've hit your 5-hour limit · resets
	// 12:31pm (UTC)").
	Text string `json:"result,omitempty"`
	// Errors lists the errors of an error subtype.
	Errors []string `json:"errors,omitempty"`
	// NumTurns counts the model round trips of the run.
	NumTurns int `json:"numTurns,omitempty"`
	// Duration is the run's wall time (duration_ms).
	Duration time.Duration `json:"duration,omitempty"`
	// APIDuration is the time spent in API calls (duration_api_ms).
	APIDuration time.Duration `json:"apiDuration,omitempty"`
	// TotalCostUSD is Claude Code's own estimate of the cost
	// (total_cost_usd), meaningful only when CostKnown.
	TotalCostUSD float64 `json:"totalCostUSD"`
	// CostKnown reports whether a result line was read, so that
	// TotalCostUSD and the CostUSD of Models are Claude Code's. When it is
	// false (a stream cut before its result), Models holds tokens only and
	// Usages computes the cost from a price table.
	CostKnown bool `json:"costKnown"`
	// Models is the usage per model: the result's modelUsage (every model
	// call, subagents included; docs/formats.md §1.1), or, without a result line,
	// the sum of Trailing per model (docs/formats.md §1.2).
	Models map[string]ModelUsage `json:"models,omitempty"`
	// SinceLastResult is the result's model_usage_since_last_result, when
	// present: the usage since the session's previous result. Only
	// stream-json results carry it (not in docs/formats.md). Informational:
	// Usages counts Models.
	SinceLastResult map[string]ModelUsage `json:"sinceLastResult,omitempty"`
	// Trailing holds the assistant messages that no result line accounts
	// for: all of them when the stream had no result line, else those after
	// the last one. One entry per message id: the line with the most tokens
	// (the last one of a streamed message; never the sum of its lines,
	// docs/formats.md §1.2 and §3), in order of first appearance.
	Trailing []Message `json:"trailing,omitempty"`
	// RateLimit is the latest rate-limit state the stream reported: the
	// last rate_limit_event, or, if there was none, the rate_limit_info of
	// the last API-error assistant message (docs/formats.md §1.2, §2.5). Nil for
	// a json result, which carries none.
	RateLimit *RateLimitInfo `json:"rateLimit,omitempty"`
	// Incomplete reports that the stream ended before a result line
	// accounted for all its assistant messages: it had no result line, or
	// assistant messages followed the last one.
	Incomplete bool `json:"incomplete,omitempty"`
}

// ModelUsage is one model's usage in a result's modelUsage (docs/formats.md §1.1,
// camelCase keys).
type ModelUsage struct {
	// Counts are the tokens by kind and the web searches. Cache writes are
	// split as Claude Code prices them: 1-hour writes are
	// min(cacheCreationEphemeral1hInputTokens, cacheCreationInputTokens) and
	// the rest of cacheCreationInputTokens are 5-minute writes, so all
	// writes are 5-minute when the split is absent. The captured CLI
	// 2.1.332 output reports cacheCreationInputTokens 100 with both
	// ephemeral fields 0: the split may sum to less than the total, and the
	// total wins.
	Counts claude.Counts `json:"counts"`
	// ThinkingTokens are the output tokens spent thinking (inside
	// Counts.Output).
	ThinkingTokens int64 `json:"thinkingTokens,omitempty"`
	// CostUSD is Claude Code's estimate of the model's cost (costUSD).
	CostUSD float64 `json:"costUSD"`
	// ContextWindow and MaxOutputTokens are the model's limits as Claude
	// Code knows them.
	ContextWindow   int64 `json:"contextWindow,omitempty"`
	MaxOutputTokens int64 `json:"maxOutputTokens,omitempty"`
	// CanonicalModel is the model's pricing id (canonicalModel).
	CanonicalModel string `json:"canonicalModel,omitempty"`
	// Provider is firstParty, bedrock, vertex, foundry, ...
	Provider string `json:"provider,omitempty"`
	// CostBasis is list, managed or unknown; empty (absent) means list.
	CostBasis string `json:"costBasis,omitempty"`
}

// Message is the usage of one assistant message of a stream-json run
// (docs/formats.md §1.2): the API usage of the message's line with the most
// tokens.
type Message struct {
	// ID is the message id (message.id); empty if the line had none (such
	// lines are never merged).
	ID string `json:"id,omitempty"`
	// Model is the model that wrote the message (message.model).
	Model string `json:"model"`
	// Counts are the message's tokens. Cache writes are split as in
	// ModelUsage: usage.cache_creation.ephemeral_1h_input_tokens (at most
	// the total) are 1-hour writes, the rest 5-minute; usage.speed "fast"
	// sets Fast.
	Counts claude.Counts `json:"counts"`
	// Line is the stream line counted (1-based).
	Line int `json:"line"`
}

// RateLimitInfo is a subscription's rate-limit state as Claude Code reports
// it in a stream's rate_limit_event (rate_limit_info, docs/formats.md §1.2), built
// from the anthropic-ratelimit-unified-* headers (docs/formats.md §2.5). Field
// names follow the stream's.
type RateLimitInfo struct {
	// Status is allowed, allowed_warning or rejected.
	Status string `json:"status"`
	// ResetsAt is when the binding window resets (resetsAt, unix seconds);
	// zero when absent.
	ResetsAt time.Time `json:"resetsAt,omitzero"`
	// RateLimitType names the binding window: five_hour, seven_day,
	// seven_day_opus, seven_day_sonnet, seven_day_overage_included or
	// overage.
	RateLimitType string `json:"rateLimitType,omitempty"`
	// Utilization is the binding window's use, a fraction (1 is the whole
	// window; can exceed 1); nil when absent.
	Utilization *float64 `json:"utilization,omitempty"`
	// SurpassedThreshold is the warning threshold passed (such as 0.75);
	// nil when absent.
	SurpassedThreshold *float64 `json:"surpassedThreshold,omitempty"`
	// OverageStatus, OverageResetsAt, OverageDisabledReason and
	// IsUsingOverage describe extra usage ("usage credits").
	OverageStatus         string    `json:"overageStatus,omitempty"`
	OverageResetsAt       time.Time `json:"overageResetsAt,omitzero"`
	OverageDisabledReason string    `json:"overageDisabledReason,omitempty"`
	IsUsingOverage        bool      `json:"isUsingOverage,omitempty"`
	// Windows is unifiedWindows, each window's own state keyed by window
	// name (five_hour, ...). Not in docs/formats.md; seen in the captured
	// quota stream.
	Windows map[string]RateLimitWindow `json:"unifiedWindows,omitempty"`
}

// RateLimitWindow is one window of RateLimitInfo.Windows.
type RateLimitWindow struct {
	// Status is allowed, allowed_warning or rejected.
	Status string `json:"status,omitempty"`
	// ResetsAt is when the window resets; zero when absent.
	ResetsAt time.Time `json:"resetsAt,omitzero"`
	// Utilization is the window's use as a fraction; nil when absent.
	Utilization *float64 `json:"utilization,omitempty"`
}

// ParseResult parses the output of `claude -p --output-format json`: one
// result object (docs/formats.md §1.1). Unknown fields are ignored. Input that is
// not a result object, or whose fields have the wrong types or negative
// counts, is an error naming the field, such as
//
//	claude: json result: field "modelUsage.claude-sonnet-5-5.inputTokens": expected an integer, got string
func ParseResult(data []byte) (Result, error) {
	var r Result
	if err := cliParseResultLine(data, &r); err != nil {
		return Result{}, fmt.Errorf("claude: json result: %w", err)
	}
	r.CostKnown = true
	return r, nil
}

// ParseStream parses the output of `claude -p --output-format stream-json
// --verbose`: one JSON object a line (docs/formats.md §1.2), read line by line
// (at most MaxStreamLine bytes each). It reads result lines (the latest is
// authoritative for tokens and cost), assistant lines (kept per message id,
// for a stream that ends without its result), rate_limit_event lines (the
// latest state), and the session id of system lines; lines of other types,
// and unknown fields, are ignored, as are blank lines.
//
// A stream that ends without a result line is not an error: the Result is
// Incomplete, its Models sum the Trailing assistant messages (the line with
// the most tokens per message id), and CostKnown is false. A last line cut
// short (no newline, JSON ending early) is taken as where the stream died
// and ignored.
//
// Malformed input is an error naming the line and, where it applies, the
// field: a line that is not JSON, not a JSON object, or longer than
// MaxStreamLine; or a system, assistant, rate_limit_event or result line
// whose fields have the wrong types or negative counts, such as
//
//	claude: stream-json line 3: field "message.usage.output_tokens": expected an integer, got string
//
// With an error, the Result still holds what the lines before it said,
// marked Incomplete, so that a caller may count it.
func ParseStream(r io.Reader) (Result, error) {
	var p cliStream
	err := p.read(r)
	return p.finish(err != nil), err
}
