package fakeanthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Usage is the token usage a message reports (FORMATS.md §2.1): usage.
// input_tokens, output_tokens, cache_read_input_tokens, and the cache writes
// by lifetime, cache_creation.ephemeral_5m_input_tokens and
// ephemeral_1h_input_tokens, whose sum is cache_creation_input_tokens.
type Usage struct {
	Input        int64
	Output       int64
	CacheWrite5m int64
	CacheWrite1h int64
	CacheRead    int64
}

// CacheWrite returns cache_creation_input_tokens: both lifetimes' writes.
func (u Usage) CacheWrite() int64 { return u.CacheWrite5m + u.CacheWrite1h }

// TotalInput returns the whole prompt: input, cache writes and cache reads.
// It is what count_tokens answers.
func (u Usage) TotalInput() int64 { return u.Input + u.CacheWrite() + u.CacheRead }

// Error is the error object of an Anthropic error body or SSE error event
// (FORMATS.md §2.3): {"type":"error","error":{"type":Type,"message":Message}}.
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
//     status (FORMATS.md §2.3);
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
	// that fails mid-stream, FORMATS.md §2.2), and the stream ends there.
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
// rate-limit headers (FORMATS.md §2.4), all resetting at reset:
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
// (anthropic-ratelimit-unified-<w>-*, FORMATS.md §2.5).
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
// until reset, as the API sends it (field evidence in FORMATS.md §2.5 and
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
// "not your usage limit" 429 of FORMATS.md §2.3).
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
// x-should-retry false: the credential is bad (FORMATS.md §0).
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

// Hold pauses streams before an event until the test releases them: set a
// Response's BeforeEvent to its Wait. Every stream that reaches the event
// waits there (or until its request ends) until Release; Reached is closed
// when the first one gets there, after everything before the event was
// flushed. A Hold is safe for concurrent use.
type Hold struct {
	event       string
	reached     chan struct{}
	release     chan struct{}
	reachOnce   sync.Once
	releaseOnce sync.Once
}

// NewHold returns a Hold before the event named event (message_stop,
// message_delta, ...).
func NewHold(event string) *Hold {
	return &Hold{event: event, reached: make(chan struct{}), release: make(chan struct{})}
}

// Wait is a Response.BeforeEvent hook: before h's event, it closes Reached
// and waits for Release or for ctx to end.
func (h *Hold) Wait(ctx context.Context, event string) {
	if event != h.event {
		return
	}
	h.reachOnce.Do(func() { close(h.reached) })
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// Reached returns a channel closed when a stream first reaches the event.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Release lets the held streams, and all later ones, go on. It may be
// called more than once.
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// Request is what the server received: one request, as Requests and
// Server.SetRespond see it. Header, Beta and Body are shared with the
// server's record: do not modify them.
type Request struct {
	// Seq numbers requests by arrival, from 1 (not reset by Reset).
	Seq int
	// Method, Path and RawQuery are the request's (the Claude Code CLI
	// sends /v1/messages?beta=true), Host its Host header.
	Method   string
	Path     string
	RawQuery string
	Host     string
	// ContentLength is the request's Content-Length, -1 when it had none
	// (a chunked body). net/http keeps it out of Header.
	ContentLength int64
	// Header is every other header received.
	Header http.Header
	// APIKey is the x-api-key header, and Bearer the token of an
	// Authorization: Bearer header; either may be empty. Check both to
	// see that a caller's credential was replaced.
	APIKey string
	Bearer string
	// Beta lists the anthropic-beta values, every header line split at
	// commas.
	Beta []string
	// Body is the request body.
	Body []byte
	// Model and Stream are the body's model and stream fields.
	Model  string
	Stream bool
	// RequestID is the request-id the server answered with: req_0001,
	// req_0002, ... by Seq, unless the Response set its own.
	RequestID string
	// Status is the status it answered, and MessageID the message id (empty
	// for anything but a message); both are zero while the server is still
	// deciding.
	Status    int
	MessageID string
}

// Credential returns the credential the request carried: APIKey if set,
// else Bearer.
func (r *Request) Credential() string {
	if r.APIKey != "" {
		return r.APIKey
	}
	return r.Bearer
}

// Server is a fake Anthropic upstream, an http.Handler. Each request is
// recorded, then answered with the Response that SetRespond's hook returns,
// else the one Set for its x-api-key, else the one Set for its bearer
// token, else the default (SetDefault; OK(DefaultUsage) until set). Requests
// that are not POST to MessagesPath or CountTokensPath get 405 or 404, and
// bodies that are not a JSON object with a model get 400, all in Anthropic's
// error shape and without consulting the hook or the table.
//
// The zero Server is ready to use. A Server is safe for concurrent use; its
// settings may change while it serves.
type Server struct {
	mu      sync.Mutex
	respond func(*Request) Response
	byCred  map[string]Response
	def     *Response
	reqs    []*Request
	seq     int
	msgs    int
}

// SetDefault sets the response to requests that neither the hook nor the
// table answers.
func (s *Server) SetDefault(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = &r
}

// Set sets the response to requests carrying credential (as x-api-key or
// as a bearer token).
func (s *Server) Set(credential string, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byCred == nil {
		s.byCred = make(map[string]Response)
	}
	s.byCred[credential] = r
}

// SetRespond sets a hook that chooses every response, ahead of the table;
// nil removes it. The hook is called concurrently, without the server's lock
// held, with the request as recorded (Status and MessageID not yet set); it
// must not modify it.
func (s *Server) SetRespond(f func(*Request) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Requests returns a copy of the requests received since the last Reset, in
// arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// Count returns how many requests were received since the last Reset.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Reset forgets the requests received. The numbering of requests and
// messages goes on (ids are never reused), and the responses set stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// requestBody is what the server reads of a request body.
type requestBody struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
}

// ServeHTTP records the request and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(r.Body)
	rec := &Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, ContentLength: r.ContentLength,
		Header: r.Header.Clone(), Body: body,
		APIKey: r.Header.Get("X-Api-Key"), Bearer: bearer(r.Header), Beta: betas(r.Header),
	}
	var rb requestBody
	jsonErr := json.Unmarshal(body, &rb)
	rec.Model, rec.Stream = rb.Model, rb.Stream

	s.mu.Lock()
	s.seq++
	rec.Seq = s.seq
	rec.RequestID = fmt.Sprintf("req_%04d", rec.Seq)
	s.reqs = append(s.reqs, rec)
	respond, def := s.respond, s.def
	byCred, ok := s.byCred[rec.APIKey]
	if !ok || rec.APIKey == "" {
		byCred, ok = s.byCred[rec.Bearer]
		ok = ok && rec.Bearer != ""
	}
	s.mu.Unlock()

	var resp Response
	switch {
	case r.URL.Path != MessagesPath && r.URL.Path != CountTokensPath:
		resp = failure(http.StatusNotFound, "not_found_error", "Not found: "+r.URL.Path)
	case r.Method != http.MethodPost:
		resp = failure(http.StatusMethodNotAllowed, "invalid_request_error", "Method not allowed: "+r.Method)
	case readErr != nil:
		resp = failure(http.StatusBadRequest, "invalid_request_error", "Could not read the request body: "+readErr.Error())
	case jsonErr != nil:
		resp = failure(http.StatusBadRequest, "invalid_request_error", "The request body is not valid JSON: "+jsonErr.Error())
	case rb.Model == "":
		resp = failure(http.StatusBadRequest, "invalid_request_error", "model: Field required")
	case respond != nil:
		resp = respond(rec)
	case ok:
		resp = byCred
	case def != nil:
		resp = *def
	default:
		resp = OK(DefaultUsage)
	}

	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	message := resp.Body == nil && resp.Error == nil && status < 400 && r.URL.Path == MessagesPath
	s.mu.Lock()
	rec.Status = status
	if id := resp.Header.Get("Request-Id"); id != "" {
		rec.RequestID = id
	}
	if message {
		if resp.ID == "" {
			s.msgs++
			resp.ID = fmt.Sprintf("msg_%04d", s.msgs)
		}
		rec.MessageID = resp.ID
	}
	s.mu.Unlock()

	h := w.Header()
	for k, vs := range resp.Header {
		h[textproto.CanonicalMIMEHeaderKey(k)] = slices.Clone(vs)
	}
	h.Set("Request-Id", rec.RequestID)
	switch {
	case resp.Body != nil:
		writeJSON(w, status, resp.Body)
	case resp.Error != nil || status >= 400:
		e := resp.Error
		if e == nil {
			e = &Error{Type: errorType(status), Message: http.StatusText(status)}
		}
		writeJSON(w, status, errorBody(e, rec.RequestID))
	case r.URL.Path == CountTokensPath:
		writeJSON(w, status, mustJSON(struct {
			InputTokens int64 `json:"input_tokens"`
		}{resp.Usage.TotalInput()}))
	case rb.Stream:
		writeStream(r.Context(), w, status, &resp, rec.Model)
	default:
		writeJSON(w, status, messageBody(&resp, rec.Model))
	}
}

// failure is a Response with an error body.
func failure(status int, typ, msg string) Response {
	return Response{Status: status, Error: &Error{Type: typ, Message: msg}}
}

// bearer is the token of an Authorization: Bearer header, or "".
func bearer(h http.Header) string {
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// betas splits every anthropic-beta header at commas.
func betas(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Anthropic-Beta") {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// errorType is the error type that goes with an HTTP status (FORMATS.md
// §2.3).
func errorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// writeJSON writes a whole body, application/json unless the headers say
// otherwise, with its Content-Length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeStream writes resp as an SSE stream, flushing the headers and then
// every event, calling resp.BeforeEvent before each.
func writeStream(ctx context.Context, w http.ResponseWriter, status int, resp *Response, model string) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
	}
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for _, ev := range streamEvents(resp, model) {
		if resp.BeforeEvent != nil {
			resp.BeforeEvent(ctx, ev.name)
		}
		if ctx.Err() != nil {
			return
		}
		if _, err := w.Write(ev.bytes()); err != nil {
			return
		}
		if err := rc.Flush(); err != nil && err != http.ErrNotSupported {
			return
		}
	}
}

// The JSON shapes of the Messages API (FORMATS.md §2.1, §2.2), fields in the
// API's order.
type (
	messageJSON struct {
		ID           string     `json:"id"`
		Type         string     `json:"type"`
		Role         string     `json:"role"`
		Model        string     `json:"model"`
		Content      []textJSON `json:"content"`
		StopReason   *string    `json:"stop_reason"`
		StopSequence *string    `json:"stop_sequence"`
		Usage        usageJSON  `json:"usage"`
	}
	textJSON struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	usageJSON struct {
		InputTokens              int64             `json:"input_tokens"`
		CacheCreationInputTokens int64             `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64             `json:"cache_read_input_tokens"`
		CacheCreation            cacheCreationJSON `json:"cache_creation"`
		OutputTokens             int64             `json:"output_tokens"`
		ServiceTier              string            `json:"service_tier"`
	}
	cacheCreationJSON struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	}
	deltaUsageJSON struct {
		InputTokens              int64         `json:"input_tokens"`
		CacheCreationInputTokens int64         `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64         `json:"cache_read_input_tokens"`
		OutputTokens             int64         `json:"output_tokens"`
		ServerToolUse            serverToolUse `json:"server_tool_use"`
	}
	serverToolUse struct {
		WebSearchRequests int64 `json:"web_search_requests"`
		WebFetchRequests  int64 `json:"web_fetch_requests"`
	}
	errorJSON struct {
		Type      string    `json:"type"`
		Error     errorInfo `json:"error"`
		RequestID string    `json:"request_id,omitempty"`
	}
	errorInfo struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
)

// mustJSON marshals v, which cannot fail for the types above.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakeanthropic: " + err.Error())
	}
	return b
}

// errorBody is an Anthropic error body.
func errorBody(e *Error, requestID string) []byte {
	return mustJSON(errorJSON{Type: "error", Error: errorInfo{Type: e.Type, Message: e.Message}, RequestID: requestID})
}

// defaults returns resp's model (else model, the request's), text and stop
// reason.
func defaults(resp *Response, model string) (string, string, string) {
	if resp.Model != "" {
		model = resp.Model
	}
	text, stop := resp.Text, resp.StopReason
	if text == "" {
		text = DefaultText
	}
	if stop == "" {
		stop = "end_turn"
	}
	return model, text, stop
}

// usageOf is the usage object of a message, with outputTokens as output.
func usageOf(u Usage, outputTokens int64) usageJSON {
	return usageJSON{
		InputTokens: u.Input, CacheCreationInputTokens: u.CacheWrite(), CacheReadInputTokens: u.CacheRead,
		CacheCreation: cacheCreationJSON{Ephemeral5m: u.CacheWrite5m, Ephemeral1h: u.CacheWrite1h},
		OutputTokens:  outputTokens, ServiceTier: "standard",
	}
}

// messageBody is the JSON body of a message.
func messageBody(resp *Response, model string) []byte {
	model, text, stop := defaults(resp, model)
	return mustJSON(messageJSON{
		ID: resp.ID, Type: "message", Role: "assistant", Model: model,
		Content:    []textJSON{{Type: "text", Text: text}},
		StopReason: &stop, Usage: usageOf(resp.Usage, resp.Usage.Output),
	})
}

// event is one SSE event.
type event struct {
	name string
	data []byte
}

// bytes is the event on the wire.
func (e event) bytes() []byte {
	b := make([]byte, 0, len("event: \ndata: \n\n")+len(e.name)+len(e.data))
	return e.appendTo(b)
}

// appendTo appends the event on the wire to b.
func (e event) appendTo(b []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, e.name...)
	b = append(b, "\ndata: "...)
	b = append(b, e.data...)
	return append(b, "\n\n"...)
}

// streamEvents are the events of a streamed message, as the API sends them
// (FORMATS.md §2.2): message_start with the input side of the usage and
// output_tokens of at most 1, content_block_start, ping, a
// content_block_delta per word of the text, content_block_stop,
// message_delta with the cumulative usage, message_stop. With a
// StreamError, the stream ends with an error event after the first delta.
func streamEvents(resp *Response, model string) []event {
	model, text, stop := defaults(resp, model)
	u := resp.Usage
	start := struct {
		Type    string      `json:"type"`
		Message messageJSON `json:"message"`
	}{"message_start", messageJSON{
		ID: resp.ID, Type: "message", Role: "assistant", Model: model, Content: []textJSON{},
		Usage: usageOf(u, min(u.Output, 1)),
	}}
	evs := []event{
		{"message_start", mustJSON(start)},
		{"content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
		{"ping", []byte(`{"type": "ping"}`)},
	}
	for _, word := range strings.SplitAfter(text, " ") {
		evs = append(evs, event{"content_block_delta", mustJSON(struct {
			Type  string   `json:"type"`
			Index int      `json:"index"`
			Delta textJSON `json:"delta"`
		}{"content_block_delta", 0, textJSON{Type: "text_delta", Text: word}})})
		if resp.StreamError != nil {
			e := resp.StreamError
			return append(evs, event{"error", mustJSON(errorJSON{Type: "error", Error: errorInfo{Type: e.Type, Message: e.Message}})})
		}
	}
	evs = append(evs, event{"content_block_stop", []byte(`{"type":"content_block_stop","index":0}`)})
	delta := struct {
		Type  string `json:"type"`
		Delta struct {
			StopReason   string  `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
		Usage deltaUsageJSON `json:"usage"`
	}{Type: "message_delta", Usage: deltaUsageJSON{
		InputTokens: u.Input, CacheCreationInputTokens: u.CacheWrite(), CacheReadInputTokens: u.CacheRead,
		OutputTokens: u.Output,
	}}
	delta.Delta.StopReason = stop
	return append(evs,
		event{"message_delta", mustJSON(delta)},
		event{"message_stop", []byte(`{"type":"message_stop"}`)})
}

// InstantConfig configures an Instant. Its zero value is a working one.
type InstantConfig struct {
	// Usage is every message's usage; the zero Usage means DefaultUsage.
	Usage Usage
	// Model is the model every message names, whatever the request asked
	// for; empty means DefaultModel.
	Model string
	// Text is the assistant's text; empty means DefaultText.
	Text string
	// FlushEachEvent writes and flushes a stream event by event, as the API
	// does; otherwise the whole stream goes in one write and one flush.
	FlushEachEvent bool
}

// instantIDDigits is the width of the counter in an Instant's message ids.
const instantIDDigits = 16

// Instant is the upstream for benchmarks and load programs: it answers
// every POST to MessagesPath with the same small message (JSON, or an SSE
// stream when the body has "stream": true), prepared once, differing only
// in its id (msg_instant followed by a 16-digit counter, so ids are unique
// and usage is never taken for a retry), and POST to CountTokensPath with
// {"input_tokens":N}. It records nothing, has no scenarios and allocates
// nothing per request beyond what net/http does (buffers are pooled). The
// header values it sets are shared between responses: do not modify them
// in place.
//
// An Instant is safe for concurrent use. Make it with NewInstant.
type Instant struct {
	json, sse        []byte
	jsonID, sseID    int   // offsets of the id's counter digits
	sseEnds          []int // where each event of sse ends
	flushEach        bool
	count            []byte
	notFound         []byte
	methodNotAllowed []byte

	hJSON, hSSE, hNoCache, hReqID, hJSONLen, hCountLen []string

	n    atomic.Uint64
	bufs sync.Pool // of *instantBuf
}

// instantBuf is an Instant's per-request memory: the request body, and the
// response being written.
type instantBuf struct {
	in  bytes.Buffer
	out []byte
}

// NewInstant returns an Instant answering as c says.
func NewInstant(c InstantConfig) *Instant {
	if c.Usage == (Usage{}) {
		c.Usage = DefaultUsage
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	placeholder := "msg_instant" + strings.Repeat("0", instantIDDigits)
	resp := &Response{Usage: c.Usage, Text: c.Text, ID: placeholder}
	s := &Instant{flushEach: c.FlushEachEvent}
	s.json = messageBody(resp, c.Model)
	for _, ev := range streamEvents(resp, c.Model) {
		s.sse = ev.appendTo(s.sse)
		s.sseEnds = append(s.sseEnds, len(s.sse))
	}
	s.jsonID = bytes.Index(s.json, []byte(placeholder)) + len(placeholder) - instantIDDigits
	s.sseID = bytes.Index(s.sse, []byte(placeholder)) + len(placeholder) - instantIDDigits
	s.count = mustJSON(struct {
		InputTokens int64 `json:"input_tokens"`
	}{c.Usage.TotalInput()})
	s.notFound = errorBody(&Error{Type: "not_found_error", Message: "Not found"}, "req_instant")
	s.methodNotAllowed = errorBody(&Error{Type: "invalid_request_error", Message: "Method not allowed"}, "req_instant")
	one := func(v string) []string { return []string{v} }
	s.hJSON, s.hSSE, s.hNoCache = one("application/json"), one("text/event-stream; charset=utf-8"), one("no-cache")
	s.hReqID, s.hJSONLen, s.hCountLen = one("req_instant"), one(strconv.Itoa(len(s.json))), one(strconv.Itoa(len(s.count)))
	s.bufs.New = func() any { return &instantBuf{out: make([]byte, 0, max(len(s.json), len(s.sse)))} }
	return s
}

// Count returns how many messages the Instant has served.
func (s *Instant) Count() uint64 { return s.n.Load() }

// ServeHTTP answers the request.
func (s *Instant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := s.bufs.Get().(*instantBuf)
	defer s.bufs.Put(b)
	b.in.Reset()
	_, err := b.in.ReadFrom(r.Body)
	h := w.Header()
	h["Request-Id"] = s.hReqID
	switch {
	case r.URL.Path != MessagesPath && r.URL.Path != CountTokensPath:
		s.fail(w, http.StatusNotFound, s.notFound)
		return
	case r.Method != http.MethodPost:
		s.fail(w, http.StatusMethodNotAllowed, s.methodNotAllowed)
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, errorBody(&Error{Type: "invalid_request_error", Message: err.Error()}, "req_instant"))
		return
	case r.URL.Path == CountTokensPath:
		h["Content-Type"], h["Content-Length"] = s.hJSON, s.hCountLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.count)
		return
	}
	n := s.n.Add(1)
	if !wantsStream(b.in.Bytes()) {
		b.out = append(b.out[:0], s.json...)
		putDigits(b.out[s.jsonID:s.jsonID+instantIDDigits], n)
		h["Content-Type"], h["Content-Length"] = s.hJSON, s.hJSONLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.out)
		return
	}
	b.out = append(b.out[:0], s.sse...)
	putDigits(b.out[s.sseID:s.sseID+instantIDDigits], n)
	h["Content-Type"], h["Cache-Control"] = s.hSSE, s.hNoCache
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	if !s.flushEach {
		_, _ = w.Write(b.out)
		if f != nil {
			f.Flush()
		}
		return
	}
	start := 0
	for _, end := range s.sseEnds {
		if _, err := w.Write(b.out[start:end]); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
		start = end
	}
}

// fail writes a prepared error body.
func (s *Instant) fail(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = s.hJSON
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// putDigits writes n in decimal into b, right-aligned, zero-padded and
// truncated to len(b) digits.
func putDigits(b []byte, n uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}

// wantsStream reports whether a JSON request body has "stream": true: some
// "stream" key followed by a colon and true, whitespace allowed. It does
// not parse the body (a nested "stream": true would count too).
func wantsStream(body []byte) bool {
	key := []byte(`"stream"`)
	for {
		i := bytes.Index(body, key)
		if i < 0 {
			return false
		}
		body = body[i+len(key):]
		rest := bytes.TrimLeft(body, " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			if bytes.HasPrefix(rest, []byte("true")) {
				return true
			}
		}
	}
}
