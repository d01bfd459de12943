package claude

import (
	"encoding/json"
	"fmt"
)

// This file reads the events with usage that sse_frame.go dispatches:
// message_start, message_delta, message_stop and error.

// usageEvent reports whether events of the type carry what a StreamReader
// keeps; "" is an event without an event: field, whose type ("message")
// its data says.
func usageEvent(name []byte) bool {
	switch string(name) {
	case "", "message", "message_start", "message_delta", "message_stop", "error":
		return true
	}
	return false
}

// dispatch ends the current event at the empty line at offset and takes
// what it says.
func (p *sseParser) dispatch(offset int64) {
	name, data, lost := p.name, p.data, p.lost // event does not touch the buffers
	p.name, p.skip, p.data, p.lost = p.name[:0], false, p.data[:0], false
	if lost && usageEvent(name) {
		p.setProblem(fmt.Errorf("claude: SSE event ending at byte %d: its data came before its event: %q line and was not kept", offset, name))
		return
	}
	if len(data) == 0 || !usageEvent(name) {
		return
	}
	p.events++
	p.event(name, data[:len(data)-1], offset)
}

// sseEventJSON is what a StreamReader reads of an event's data;
// json.Unmarshal skips the rest.
type sseEventJSON struct {
	Type    string `json:"type"`
	Message *struct {
		ID         string        `json:"id"`
		Model      string        `json:"model"`
		StopReason *string       `json:"stop_reason"`
		Usage      *msgUsageJSON `json:"usage"`
	} `json:"message"`
	Delta *struct {
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
	Usage     *msgUsageJSON `json:"usage"`
	Error     *msgErrorJSON `json:"error"`
	RequestID string        `json:"request_id"`
}

// sseStopData is the data of the API's message_stop event, which is read
// without decoding it.
const sseStopData = `{"type":"message_stop"}`

// event takes one event with usage: its type from the event: field (name,
// which the data's "type" overrides) and its data.
func (p *sseParser) event(name, data []byte, offset int64) {
	if string(data) == sseStopData {
		p.sawStop = true // all that decoding it would say
		return
	}
	ev, err := decodeSSEEvent(data)
	if err != nil {
		p.setProblem(jsonProblem(fmt.Sprintf("SSE event %q ending at byte %d", name, offset), data, err))
		return
	}
	typ := ev.Type
	if typ == "" {
		typ = string(name)
	}
	switch typ {
	case "message_start":
		p.tally = msgTally{}
		if m := ev.Message; m != nil {
			p.id, p.model = m.ID, m.Model
			if m.StopReason != nil {
				p.stopReason = *m.StopReason
			}
			if m.Usage != nil {
				err = p.tally.apply(m.Usage, "message.usage")
			}
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			p.stopReason = *ev.Delta.StopReason
		}
		if ev.Usage != nil {
			err = p.tally.apply(ev.Usage, "usage")
		}
	case "message_stop":
		p.sawStop = true
	case "error":
		p.apiErr = ev.Error.apiError(ev.RequestID)
		if ev.RequestID != "" {
			p.requestID = ev.RequestID
		}
	}
	if err != nil {
		p.setProblem(fmt.Errorf("claude: SSE event %s ending at byte %d: %w", typ, offset, err))
	}
}

// decodeSSEEvent decodes an event's data.
func decodeSSEEvent(data []byte) (sseEventJSON, error) {
	var ev sseEventJSON
	err := json.Unmarshal(data, &ev)
	return ev, err
}

// setProblem keeps err if it is the first problem.
func (p *sseParser) setProblem(err error) {
	if p.problem == nil {
		p.problem = err
	}
}
