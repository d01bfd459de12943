package fakeanthropic

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"
)

// The paths the fake serves, and what it answers by default.
const (
	// MessagesPath is the Messages API endpoint: POST, JSON or SSE.
	MessagesPath = "/v1/messages"
	// CountTokensPath is the token counting endpoint: POST, answers
	// {"input_tokens":N}.
	CountTokensPath = "/v1/messages/count_tokens"
	// DefaultModel is the model Instant names when its config names none.
	// Server always answers with the model the request asked for.
	DefaultModel = "claude-sonnet-4-5-20250929"
	// DefaultText is the assistant's text when a Response has none.
	DefaultText = "Hello from the fake upstream."
)

// DefaultUsage is the usage the zero Server answers with: every kind of
// token, with both cache lifetimes, so a parser that drops one shows it.
// Copy it; do not modify it.
var DefaultUsage = Usage{Input: 12, Output: 640, CacheWrite5m: 5210, CacheWrite1h: 1024, CacheRead: 18300}

// Usage is the token usage a message reports (docs/formats.md §2.1): usage.
// input_tokens, output_tokens, cache_read_input_tokens, and the cache writes
// by lifetime, cache_creation.ephemeral_5m_input_tokens and
// ephemeral_1h_input_tokens, whose sum is cache_creation_input_tokens.
type Usage struct {
	Input        int64
	Output       int64
	CacheWrite5m int64
	CacheWrite1h int64
	CacheRead    int64
	// InferenceGeo is usage.inference_geo, where the response was computed
	// ("us", "global"), in the message (message_start's, in a stream);
	// "" leaves it out.
	InferenceGeo string
}

// CacheWrite returns cache_creation_input_tokens: both lifetimes' writes.
func (u Usage) CacheWrite() int64 { return u.CacheWrite5m + u.CacheWrite1h }

// TotalInput returns the whole prompt: input, cache writes and cache reads.
// It is what count_tokens answers.
func (u Usage) TotalInput() int64 { return u.Input + u.CacheWrite() + u.CacheRead }

// Error is the error object of an Anthropic error body or SSE error event
// (docs/formats.md §2.3): {"type":"error","error":{"type":Type,"message":Message}}.
type Error struct {
	// Type is error.type: rate_limit_error, overloaded_error, ...
	Type string
	// Message is error.message.
	Message string
}

// Response is what the fake answers to one request. The zero Response is a
// 200 message with zero usage. The body is, in order of precedence:
//
//   - Body, written as it is (Content-Type application/json unless Header
//     sets one), for anything the other fields cannot say;
//   - Error, as an Anthropic error body with the request's request_id;
//   - for a status of 400 or more, an error body whose type goes with the
//     status (docs/formats.md §2.3);
//   - else a message: on /v1/messages a JSON message, or an SSE stream when
//     the request body has "stream": true; on /v1/messages/count_tokens
//     {"input_tokens": Usage.TotalInput()}.
//
// Every response carries Header (rate-limit headers, retry-after, ...) and a
// request-id header (req_0001, req_0002, ... by arrival) unless Header has
// one. A Response is a value: the With methods return a changed copy.
type Response struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header is added to the response's headers.
	Header http.Header
	// Body, when not nil, is the whole body.
	Body []byte
	// Error, when not nil (and Body is nil), makes an error body.
	Error *Error
	// Usage is the message's usage.
	Usage Usage
	// ID is the message id; empty means the next of the server's msg_0001,
	// msg_0002, ... (numbered by messages served, not by requests).
	ID string
	// Model is the model the message names; empty means the request's.
	Model string
	// Text is the assistant's text, streamed a word per
	// content_block_delta; empty means DefaultText.
	Text string
	// StopReason is stop_reason; empty means end_turn.
	StopReason string
	// StreamError, for a stream, replaces the end of the stream: after
	// message_start, content_block_start, ping and the first
	// content_block_delta comes an error event with this error (a 200
	// that fails mid-stream, docs/formats.md §2.2), and the stream ends there.
	// A JSON request ignores it.
	StreamError *Error
	// BeforeEvent, when not nil, is called before each event of a stream
	// is written (everything before it is flushed by then), with the
	// request's context and the event's name (message_start,
	// content_block_start, ping, content_block_delta, content_block_stop,
	// message_delta, message_stop, error). It may block to hold the stream
	// there (see Hold); if the context is done when it returns, the stream
	// ends.
	BeforeEvent func(ctx context.Context, event string)
}

// WithHeader returns a copy of r whose Header also sets key to value (a
// value of "" deletes key).
func (r Response) WithHeader(key, value string) Response {
	r.Header = r.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if value == "" {
		r.Header.Del(key)
	} else {
		r.Header.Set(key, value)
	}
	return r
}

// WithStandardLimits returns a copy of r that also carries the API-key
// rate-limit headers (docs/formats.md §2.4), all resetting at reset:
// anthropic-ratelimit-requests-limit 1000 (remaining 999),
// -tokens-limit 96000 (95000), -input-tokens-limit 80000 (79000) and
// -output-tokens-limit 16000 (16000), with their -reset in RFC 3339.
func (r Response) WithStandardLimits(reset time.Time) Response {
	r.Header = r.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	at := reset.UTC().Format(time.RFC3339)
	for _, b := range []struct {
		name             string
		limit, remaining int
	}{{"requests", 1000, 999}, {"tokens", 96000, 95000}, {"input-tokens", 80000, 79000}, {"output-tokens", 16000, 16000}} {
		r.Header.Set("anthropic-ratelimit-"+b.name+"-limit", strconv.Itoa(b.limit))
		r.Header.Set("anthropic-ratelimit-"+b.name+"-remaining", strconv.Itoa(b.remaining))
		r.Header.Set("anthropic-ratelimit-"+b.name+"-reset", at)
	}
	return r
}

// Window is one unified-limit window as a response reports it
// (anthropic-ratelimit-unified-<w>-*, docs/formats.md §2.5).
type Window struct {
	// Utilization is the fraction of the window used (0..1, may exceed 1).
	Utilization float64
	// Reset is when the window resets (sent as unix seconds).
	Reset time.Time
	// Status is the window's status; empty means allowed.
	Status string
}

// The unified header prefix.
const unified = "anthropic-ratelimit-unified-"

// OK returns a 200 message with usage u and no rate-limit header.
func OK(u Usage) Response { return Response{Usage: u} }

// OKUnified returns a 200 message with usage u that reports a subscription's
// standing as the API does for OAuth tokens: unified status allowed (or
// allowed_warning when a window's Status is), reset and representative
// claim five_hour from fiveHour, and each window's -status, -utilization
// and -reset. It is what the pool's Observe path reads.
func OKUnified(u Usage, fiveHour, sevenDay Window) Response {
	h := http.Header{}
	status := "allowed"
	for _, w := range []struct {
		name string
		w    Window
	}{{"5h", fiveHour}, {"7d", sevenDay}} {
		ws := w.w.Status
		if ws == "" {
			ws = "allowed"
		}
		if ws == "allowed_warning" {
			status = ws
		}
		h.Set(unified+w.name+"-status", ws)
		h.Set(unified+w.name+"-utilization", strconv.FormatFloat(w.w.Utilization, 'f', -1, 64))
		h.Set(unified+w.name+"-reset", unix(w.w.Reset))
	}
	h.Set(unified+"status", status)
	h.Set(unified+"reset", unix(fiveHour.Reset))
	h.Set(unified+"representative-claim", "five_hour")
	return Response{Usage: u, Header: h}
}

// Quota429 returns the 429 of a subscription whose 5-hour window is spent
// until reset, as the API sends it (field evidence in docs/formats.md §2.5 and
// public reports): retry-after (whole seconds from now to reset, rounded
// up), unified status rejected with reset and representative claim
// five_hour, 5h status rejected with utilization 1 and reset, overage
// rejected (org_level_disabled), and a rate_limit_error body. It has no
// x-should-retry: an SDK with retries waits retry-after (hours) before
// retrying it.
func Quota429(now, reset time.Time) Response {
	h := http.Header{}
	h.Set("retry-after", retryAfter(reset.Sub(now)))
	h.Set(unified+"status", "rejected")
	h.Set(unified+"reset", unix(reset))
	h.Set(unified+"representative-claim", "five_hour")
	h.Set(unified+"5h-status", "rejected")
	h.Set(unified+"5h-utilization", "1")
	h.Set(unified+"5h-reset", unix(reset))
	h.Set(unified+"overage-status", "rejected")
	h.Set(unified+"overage-disabled-reason", "org_level_disabled")
	return Response{Status: http.StatusTooManyRequests, Header: h, Error: &Error{
		Type: "rate_limit_error", Message: "This request would exceed your account's rate limit. Please try again later.",
	}}
}

// ModelQuota429 returns the 429 of a subscription whose weekly Opus window
// (7d_opus) is spent until reset while its 5-hour and 7-day windows are
// not: retry-after to reset, unified status rejected with reset and
// representative claim seven_day_opus, 5h and 7d status allowed, 7d_opus
// status rejected with utilization 1 and reset, and a rate_limit_error
// body.
func ModelQuota429(now, reset time.Time) Response {
	h := http.Header{}
	h.Set("retry-after", retryAfter(reset.Sub(now)))
	h.Set(unified+"status", "rejected")
	h.Set(unified+"reset", unix(reset))
	h.Set(unified+"representative-claim", "seven_day_opus")
	h.Set(unified+"5h-status", "allowed")
	h.Set(unified+"7d-status", "allowed")
	h.Set(unified+"7d_opus-status", "rejected")
	h.Set(unified+"7d_opus-utilization", "1")
	h.Set(unified+"7d_opus-reset", unix(reset))
	return Response{Status: http.StatusTooManyRequests, Header: h, Error: &Error{
		Type: "rate_limit_error", Message: "This request would exceed your account's rate limit for Claude Opus. Please try again later.",
	}}
}

// Throttle429 returns a throttling 429, not a quota: retry-after (wait in
// whole seconds, rounded up; 0 lets an SDK retry at once), x-should-retry
// true, unified status allowed, and a rate_limit_error body.
func Throttle429(wait time.Duration) Response {
	h := http.Header{}
	h.Set("retry-after", retryAfter(wait))
	h.Set("x-should-retry", "true")
	h.Set(unified+"status", "allowed")
	return Response{Status: http.StatusTooManyRequests, Header: h, Error: &Error{
		Type: "rate_limit_error", Message: "Number of requests has exceeded your rate limit. Please slow down and try again.",
	}}
}

// Headerless429 returns a 429 with a rate_limit_error body and no header
// but request-id and Content-Type: no rate-limit header, no retry-after (the
// "not your usage limit" 429 of docs/formats.md §2.3).
func Headerless429() Response {
	return Response{Status: http.StatusTooManyRequests, Error: &Error{
		Type: "rate_limit_error", Message: "Rate limited. Please try again later.",
	}}
}

// Overloaded529 returns a 529 with an overloaded_error body ("Overloaded")
// and no other header.
func Overloaded529() Response {
	return Response{Status: 529, Error: &Error{Type: "overloaded_error", Message: "Overloaded"}}
}

// Unauthorized401 returns a 401 with an authentication_error body and
// x-should-retry false: the credential is bad (docs/formats.md §0).
func Unauthorized401() Response {
	h := http.Header{}
	h.Set("x-should-retry", "false")
	return Response{Status: http.StatusUnauthorized, Header: h, Error: &Error{
		Type: "authentication_error", Message: "invalid x-api-key",
	}}
}

// retryAfter is d in whole seconds, rounded up, never negative.
func retryAfter(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// unix is t in unix seconds.
func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
