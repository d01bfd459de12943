package claude

import (
	"bytes"
	"encoding/json"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file reads the error object of a response's body, or of an SSE
// error event, for Classify.

// apiError is what Classify reads of a body.
type apiError struct {
	isError             bool // an error object: {"type":"error","error":{...}}
	typ, msg, requestID string
}

// parseErrorBody reads an Anthropic error body (docs/formats.md §2.3), or the
// data line of an SSE error event (§2.2). A body that is neither gives no
// type, except that a non-JSON body containing "type":"overloaded_error"
// counts as that type, as Claude Code checks.
func parseErrorBody(body []byte) apiError {
	var e struct {
		Type      string          `json:"type"`
		Error     json.RawMessage `json:"error"`
		RequestID string          `json:"request_id"`
	}
	b := bytes.TrimSpace(body)
	if err := json.Unmarshal(b, &e); err != nil {
		data, ok := sseData(b)
		if !ok || json.Unmarshal(data, &e) != nil {
			if bytes.Contains(b, []byte(`"type":"overloaded_error"`)) {
				return apiError{typ: "overloaded_error"}
			}
			return apiError{}
		}
	}
	var inner struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if len(e.Error) == 0 || json.Unmarshal(e.Error, &inner) != nil {
		return apiError{requestID: safetext.Clip(e.RequestID, 128)}
	}
	return apiError{
		isError:   e.Type == "error" && inner.Type != "",
		typ:       safetext.Clip(inner.Type, 64),
		msg:       safetext.Clip(inner.Message, 1024),
		requestID: safetext.Clip(e.RequestID, 128),
	}
}

// sseData returns the data of the first data: line of an SSE event.
func sseData(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte("event:")) && !bytes.HasPrefix(b, []byte("data:")) {
		return nil, false
	}
	for line := range bytes.Lines(b) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			return bytes.TrimSpace(d), true
		}
	}
	return nil, false
}
