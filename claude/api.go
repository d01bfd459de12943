package claude

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
)

// MessageUsage is the usage of one Messages API response (docs/formats.md §2),
// read from a JSON body by ParseMessage or from an SSE stream by a
// StreamReader.
type MessageUsage struct {
	// ID is the message's id (msg_...), empty if the response never said.
	ID string `json:"id,omitempty"`
	// RequestID is the request's id (req_...) when the body carries one
	// (error bodies do, docs/formats.md §2.3). Successful responses carry it only
	// in the request-id header: set it from there.
	RequestID string `json:"requestId,omitempty"`
	// Model is the model that served the response, as it named itself.
	Model string `json:"model,omitempty"`
	// Counts are the response's tokens. Cache writes are split by time to
	// live as usage.cache_creation says, the way Claude Code computes its
	// own cost (docs/formats.md §1.1): the 1-hour writes are
	// min(ephemeral_1h_input_tokens, cache_creation_input_tokens), the
	// 5-minute ones the rest of cache_creation_input_tokens. Without the
	// breakdown every cache write counts as a 5-minute one.
	// WebSearches comes from usage.server_tool_use.web_search_requests,
	// Fast from usage.speed "fast" and Geo from usage.inference_geo.
	Counts Counts `json:"counts"`
	// StopReason is why the model stopped (end_turn, max_tokens, tool_use,
	// ...; docs/formats.md §2.1), empty if the response never said.
	StopReason string `json:"stopReason,omitempty"`
	// Complete reports that the whole response was seen: a JSON message
	// body, or a stream through its message_stop event. It is false for a
	// stream cut short or one that carried an error event; such a response
	// may still have used (and cost) what Counts says.
	Complete bool `json:"complete"`
}

// Usage converts the response's usage into the pool's: ID is the message
// id, Time is at, Tokens are m.Counts.Tokens() and CostUSD is the price of
// the counts at prices with the tier rule (nil prices means DefaultPrices).
// When the model has no price of its own in the table, the cost is an
// estimate (its family's newest model's price, or the fallback) and
// PricedAs says what it was priced as. A model the table cannot price (no
// fallback) is an error wrapping ErrUnknownModel rather than a cost of
// zero; the Usage returned with it has everything but the cost. A response
// with no tokens at all costs nothing whatever its model.
func (m MessageUsage) Usage(prices *Prices, rule TierRule, at time.Time) (authpool.Usage, error) {
	if prices == nil {
		prices = builtinMessagePrices()
	}
	u := authpool.Usage{ID: m.ID, Time: at, Tokens: m.Counts.Tokens(), Model: m.Model, CacheTTL: m.Counts.CacheTTL()}
	if m.Counts.Total() == 0 && m.Counts.WebSearches == 0 {
		return u, nil
	}
	q, err := prices.Quote(m.Model, m.Counts, rule)
	if err != nil {
		return u, fmt.Errorf("%w (message %q)", err, m.ID)
	}
	u.CostUSD, u.PricedAs = q.CostUSD, q.PricedAs()
	return u, nil
}

// builtinMessagePrices is the table MessageUsage.Usage prices with when it
// is given none; nobody can change it.
var builtinMessagePrices = sync.OnceValue(DefaultPrices)

// APIError is an error the Messages API returned: the body of a failed
// response, {"type":"error","error":{"type":...,"message":...},
// "request_id":...}, or an SSE error event (docs/formats.md §2.2, §2.3). Type
// says what went wrong (rate_limit_error, overloaded_error,
// authentication_error, ...; the table of §2.3 maps them to HTTP statuses).
type APIError struct {
	// Type is error.type, e.g. "overloaded_error".
	Type string `json:"type"`
	// Message is error.message, meant for people.
	Message string `json:"message"`
	// RequestID is the body's request_id, when it has one.
	RequestID string `json:"requestId,omitempty"`
}

// Error returns "claude: API error <type>: <message> (request <id>)".
func (e *APIError) Error() string {
	s := "claude: API error " + e.Type
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// ParseMessage reads the usage of a non-streaming /v1/messages response
// body (docs/formats.md §2.1). An error body ({"type":"error",...}, §2.3) gives an
// error of type *APIError, with a MessageUsage holding only its RequestID.
// Malformed JSON, a body of another type, and a usage without its required
// input_tokens and output_tokens, or with a count outside 0..MaxTokens, are
// errors that say where (line, column, byte offset) or which field. Unknown
// fields are ignored.
func ParseMessage(body []byte) (MessageUsage, error) {
	var b msgBodyJSON
	if err := json.Unmarshal(body, &b); err != nil {
		return MessageUsage{}, jsonProblem("message body", body, err)
	}
	return b.message()
}

// message returns the usage of a decoded body, or the error it is or has,
// as ParseMessage describes.
func (b *msgBodyJSON) message() (MessageUsage, error) {
	switch b.Type {
	case "message":
	case "error":
		return MessageUsage{RequestID: b.RequestID}, b.Error.apiError(b.RequestID)
	default:
		return MessageUsage{}, fmt.Errorf("claude: message body: type is %q, want \"message\" (or \"error\" for an error body)", b.Type)
	}
	switch {
	case b.Usage == nil:
		return MessageUsage{}, errors.New("claude: message body: usage is missing")
	case b.Usage.InputTokens == nil:
		return MessageUsage{}, errors.New("claude: message body: usage.input_tokens is missing")
	case b.Usage.OutputTokens == nil:
		return MessageUsage{}, errors.New("claude: message body: usage.output_tokens is missing")
	}
	var t msgTally
	if err := t.apply(b.Usage, "usage"); err != nil {
		return MessageUsage{}, fmt.Errorf("claude: message body: %w", err)
	}
	m := MessageUsage{ID: b.ID, RequestID: b.RequestID, Model: b.Model, Counts: t.counts(), Complete: true}
	if b.StopReason != nil {
		m.StopReason = *b.StopReason
	}
	return m, nil
}

// msgBodyJSON is what ParseMessage reads of a response body: a message, or
// an error; json.Unmarshal skips the rest (the content).
type msgBodyJSON struct {
	Type       string        `json:"type"`
	ID         string        `json:"id"`
	Model      string        `json:"model"`
	StopReason *string       `json:"stop_reason"`
	Usage      *msgUsageJSON `json:"usage"`
	Error      *msgErrorJSON `json:"error"`
	RequestID  string        `json:"request_id"`
}

// msgErrorJSON is the error object of an error body or SSE error event.
type msgErrorJSON struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// apiError makes the *APIError of an error object, which may be missing.
func (e *msgErrorJSON) apiError(requestID string) *APIError {
	if e == nil {
		return &APIError{RequestID: requestID}
	}
	return &APIError{Type: e.Type, Message: e.Message, RequestID: requestID}
}

// msgUsageJSON is the usage object of a message, of message_start's message
// or of message_delta (docs/formats.md §1.1, §2.2). Every field may be absent or
// null: nil.
type msgUsageJSON struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreation            *struct {
		Ephemeral5m *int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h *int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServerToolUse *struct {
		WebSearchRequests *int64 `json:"web_search_requests"`
	} `json:"server_tool_use"`
	Speed        *string `json:"speed"`
	InferenceGeo *string `json:"inference_geo"`
}

// msgTally is the usage of a response as its usage objects state it: each
// field that an object carries (non-null) replaces what an earlier one said,
// as message_delta's cumulative counts replace message_start's (docs/formats.md
// §2.2: never add the two).
type msgTally struct {
	input, output, cacheWrite, cacheRead int64
	eph5m, eph1h                         int64
	webSearches                          int64
	hasCacheWrite                        bool // cache_creation_input_tokens was given
	hasSplit                             bool // cache_creation was given
	fast                                 bool
	geo                                  string
}

// apply takes the fields u carries. A count outside 0..MaxTokens is left
// out; the first such is the error, named from path (e.g. "usage").
func (t *msgTally) apply(u *msgUsageJSON, path string) error {
	var problem error
	set := func(dst *int64, v *int64, field string) bool {
		switch {
		case v == nil:
			return false
		case *v < 0 || *v > bounds.MaxTokens:
			if problem == nil {
				problem = fmt.Errorf("%s.%s: %d is outside 0..%d", path, field, *v, int64(bounds.MaxTokens))
			}
			return false
		}
		*dst = *v
		return true
	}
	set(&t.input, u.InputTokens, "input_tokens")
	set(&t.output, u.OutputTokens, "output_tokens")
	if set(&t.cacheWrite, u.CacheCreationInputTokens, "cache_creation_input_tokens") {
		t.hasCacheWrite = true
	}
	set(&t.cacheRead, u.CacheReadInputTokens, "cache_read_input_tokens")
	if cc := u.CacheCreation; cc != nil {
		var m5, h1 int64
		ok5 := set(&m5, cc.Ephemeral5m, "cache_creation.ephemeral_5m_input_tokens") || cc.Ephemeral5m == nil
		ok1 := set(&h1, cc.Ephemeral1h, "cache_creation.ephemeral_1h_input_tokens") || cc.Ephemeral1h == nil
		if ok5 && ok1 {
			t.eph5m, t.eph1h, t.hasSplit = m5, h1, true
		}
	}
	if st := u.ServerToolUse; st != nil {
		set(&t.webSearches, st.WebSearchRequests, "server_tool_use.web_search_requests")
	}
	if u.Speed != nil {
		t.fast = *u.Speed == "fast"
	}
	if u.InferenceGeo != nil {
		t.geo = *u.InferenceGeo
	}
	return problem
}

// counts returns the tally as Counts, splitting the cache writes as
// MessageUsage.Counts describes.
func (t *msgTally) counts() Counts {
	c := Counts{Input: t.input, Output: t.output, CacheRead: t.cacheRead, WebSearches: t.webSearches, Fast: t.fast, Geo: t.geo}
	total := t.cacheWrite
	if !t.hasCacheWrite && t.hasSplit {
		total = min(t.eph5m+t.eph1h, bounds.MaxTokens) // each is at most MaxTokens
	}
	if t.hasSplit {
		c.CacheWrite1h = min(t.eph1h, total)
	}
	c.CacheWrite5m = total - c.CacheWrite1h
	return c
}

// jsonError is a JSON decoding error said with where it happened; it
// unwraps to encoding/json's error.
type jsonError struct {
	msg string
	err error
}

func (e *jsonError) Error() string { return e.msg }
func (e *jsonError) Unwrap() error { return e.err }

// jsonProblem says where in data (what it is: "message body", ...) the JSON
// error err of encoding/json happened: line, column and byte offset, and
// the field for a value of the wrong type.
func jsonProblem(what string, data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &jsonError{fmt.Sprintf("claude: %s: %s: %s", what, jsonWhere(data, syntax.Offset), syntax.Error()), err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the top-level value"
		}
		return &jsonError{fmt.Sprintf("claude: %s: %s: %s: JSON %s, want %s", what, jsonWhere(data, typ.Offset), field, typ.Value, typ.Type), err}
	}
	return fmt.Errorf("claude: %s: %w", what, err)
}

// jsonWhere says where the byte before offset (encoding/json's offsets
// count the bytes read up to the error) is in data: "line L, column C (byte
// B)", lines and columns counted from 1 and bytes from 0.
func jsonWhere(data []byte, offset int64) string {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	line := 1 + bytes.Count(data[:pos], []byte{'\n'})
	col := pos - bytes.LastIndexByte(data[:pos], '\n')
	return fmt.Sprintf("line %d, column %d (byte %d)", line, col, pos)
}
