package fakeanthropic

import (
	"encoding/json"
	"strings"
)

// The JSON shapes of the Messages API (docs/formats.md §2.1, §2.2), fields in the
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
		InferenceGeo             string            `json:"inference_geo,omitempty"`
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
		OutputTokens:  outputTokens, ServiceTier: "standard", InferenceGeo: u.InferenceGeo,
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
// (docs/formats.md §2.2): message_start with the input side of the usage and
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
