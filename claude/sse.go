package claude

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxSSELine is the longest line of an event with usage (message_start,
// message_delta, message_stop, error), and the most data one such event may
// carry, that a StreamReader parses: 1 MiB. A longer one stops the parsing
// (the bytes still pass through) and Err reports ErrSSELineTooLong. Lines of
// other events (content deltas, which may be long) are skipped unread and
// have no limit.
const MaxSSELine = 1 << 20

// ErrSSELineTooLong is reported by StreamReader.Err when an event with usage
// had a line or data longer than MaxSSELine: the reader stopped parsing
// there, so its Usage is what came before. Test with errors.Is.
var ErrSSELineTooLong = errors.New("claude: SSE line too long")

// StreamReader passes a Messages API SSE stream (docs/formats.md §2.2) through
// unchanged while it reads the response's usage on the side. Each Read
// calls the underlying reader's Read once and returns exactly what it
// returned, so a proxy that writes and flushes what it reads sends every
// event on as soon as it arrives: nothing is read ahead or held back.
//
// It parses the stream as the SSE specification says (event: and data:
// fields, several data lines joined with '\n', comment lines starting
// with ':', lines ending in LF, CRLF or CR, a leading byte-order mark; an
// event is dispatched at the empty line that ends it, and one the stream
// cuts off before that line is dropped), with lines split anywhere across
// Reads. It keeps only what events with usage carry: message_start (id,
// model, the input side of the usage), message_delta (cumulative usage that
// replaces message_start's field by field where it is not null; stop
// reason), message_stop (Complete) and error (the API error; not Complete).
// An event's data is parsed when its event: field names one of these, or
// when it has none; the JSON's "type" then says which it is, as the SDKs
// dispatch.
//
// Data of other events (content_block_*, ping) is skipped without being
// copied, and a Read of such data allocates nothing. The one departure from
// the specification follows from it: data lines that come after an event:
// line naming an event without usage are not kept, so if a later event:
// line of the same event names one with usage, Err reports it instead of
// parsing that data (the API writes event: first).
//
// Read must not be called concurrently with itself, as with any
// io.Reader; Usage and Err may be called from any goroutine at any time,
// including during a Read. The zero StreamReader is not usable: call
// NewStreamReader.
type StreamReader struct {
	r  io.Reader
	mu sync.Mutex // guards p against Usage and Err during a Read
	p  sseParser
}

// NewStreamReader returns a StreamReader that reads r, the body of a
// streaming (stream: true) /v1/messages response.
func NewStreamReader(r io.Reader) *StreamReader {
	return &StreamReader{r: r, p: sseParser{firstLine: true}}
}

// Read reads from the underlying reader into b and returns what that Read
// returned, unchanged, after parsing the bytes it read.
func (s *StreamReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if n > 0 && n <= len(b) {
		s.mu.Lock()
		s.p.feed(b[:n])
		s.mu.Unlock()
	}
	return n, err
}

// Usage returns the usage the stream has shown so far. After the stream
// ends (EOF, an error, or the reader given up on), it is the response's
// usage; Complete says whether the stream got as far as message_stop
// without an error event. The message id, model and input-side counts come
// from message_start, output and any newer input-side counts from the last
// message_delta (docs/formats.md §2.2). RequestID is set only if an error event
// carried one: set it from the response's request-id header.
func (s *StreamReader) Usage() MessageUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.p
	return MessageUsage{
		ID:         p.id,
		RequestID:  p.requestID,
		Model:      p.model,
		Counts:     p.tally.counts(),
		StopReason: p.stopReason,
		Complete:   p.sawStop && p.apiErr == nil,
	}
}

// Err returns what went wrong in the stream so far, or nil: the error event
// the API sent (an *APIError: test with errors.As; a 200 response can still
// be overloaded, docs/formats.md §2.2), and the first problem the parser met
// (malformed JSON in an event with usage, a count out of range, or
// ErrSSELineTooLong), joined when there are both. The underlying reader's
// own errors are Read's to return, not Err's. The bytes pass through
// unchanged whatever Err says.
func (s *StreamReader) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.p.apiErr == nil:
		return s.p.problem
	case s.p.problem == nil:
		return s.p.apiErr
	}
	return errors.Join(s.p.apiErr, s.p.problem)
}

// sseParser is a StreamReader's parse state: SSE framing (the WHATWG HTML
// "server-sent events" interpretation of an event stream) and what the
// events with usage said.
type sseParser struct {
	offset     int64  // bytes fed so far
	lineStart  int64  // where the current line starts in the stream
	line       []byte // the part of a line that a Read cut, when the line is needed
	classified bool   // line's start showed it is needed
	discard    bool   // the rest of the current line is not needed
	afterCR    bool   // the last Read ended in '\r': a '\n' starting the next one ends no line
	firstLine  bool   // no line has ended yet (a byte-order mark may start it)
	off        bool   // parsing stopped for a line too long; bytes still pass through

	name []byte // the current event's type: its last event: field
	skip bool   // the current event's type has no usage: its data is not kept
	lost bool   // data lines were skipped before an event: field gave a type with usage
	data []byte // the current event's data lines, each followed by '\n'

	events     int64 // events dispatched
	id, model  string
	stopReason string
	requestID  string
	tally      msgTally
	sawStop    bool // message_stop seen
	apiErr     *APIError
	problem    error // the first problem met
}

// feed parses b, the next bytes of the stream. It finds line ends with
// bytes.IndexByte, remembering where the next '\n' and '\r' are so that each
// byte is scanned once for each.
func (p *sseParser) feed(b []byte) {
	base := p.offset
	p.offset += int64(len(b))
	nl, cr := -2, -2 // the next '\n' and '\r' at or after pos: -1 none, -2 not looked for
	for pos := 0; pos < len(b) && !p.off; {
		if p.afterCR {
			p.afterCR = false
			if b[pos] == '\n' {
				pos++
				p.lineStart++
				continue
			}
		}
		if nl != -1 && nl < pos {
			nl = indexFrom(b, pos, '\n')
		}
		if cr != -1 && cr < pos {
			cr = indexFrom(b, pos, '\r')
		}
		end := nl
		if cr >= 0 && (end < 0 || cr < end) {
			end = cr
		}
		if end < 0 {
			p.partial(b[pos:])
			return
		}
		p.lineEnd(b[pos:end], base+int64(end))
		pos = end + 1
		if b[end] == '\r' {
			switch {
			case pos == len(b):
				p.afterCR = true
			case b[pos] == '\n':
				pos++
			}
		}
		p.lineStart = base + int64(pos)
	}
}

// indexFrom returns the index of the first c in b at or after from, or -1.
func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// lineKind is what the start of a line shows about it.
type lineKind uint8

const (
	lineUnknown lineKind = iota // too short to tell
	lineKeep                    // an event: field, or data: of an event with usage
	lineSkip                    // a comment, another field, or data: of an event without usage
)

// classify says whether the line starting with head is needed.
func (p *sseParser) classify(head []byte) lineKind {
	if p.firstLine {
		head = bytes.TrimPrefix(head, bom)
	}
	if len(head) == 0 {
		return lineUnknown
	}
	if head[0] == ':' {
		return lineSkip
	}
	i := bytes.IndexByte(head, ':')
	if i < 0 {
		if len(head) > len("event") {
			return lineSkip // a field name longer than data or event
		}
		return lineUnknown
	}
	switch string(head[:i]) {
	case "data":
		if p.skip {
			p.lost = true
			return lineSkip
		}
		return lineKeep
	case "event":
		return lineKeep
	}
	return lineSkip
}

// bom is the UTF-8 byte-order mark, which the SSE specification drops from
// the start of a stream.
var bom = []byte("\xef\xbb\xbf")

// partial takes the start or middle of a line that this Read did not end.
func (p *sseParser) partial(seg []byte) {
	if p.discard {
		return
	}
	if !p.classified {
		var head [16]byte
		n := copy(head[:], p.line)
		n += copy(head[n:], seg)
		switch p.classify(head[:n]) {
		case lineSkip:
			p.discard, p.line = true, p.line[:0]
			return
		case lineKeep:
			p.classified = true
		}
	}
	if len(p.line)+len(seg) > MaxSSELine {
		p.tooLong()
		return
	}
	p.line = append(p.line, seg...)
}

// lineEnd takes the end of a line (seg, without its line end) and parses the
// whole line; offset is where its line end is in the stream.
func (p *sseParser) lineEnd(seg []byte, offset int64) {
	switch {
	case p.discard:
	case len(p.line) > 0:
		if len(p.line)+len(seg) > MaxSSELine {
			p.tooLong()
			return
		}
		p.line = append(p.line, seg...)
		p.process(p.line, offset)
	default:
		p.process(seg, offset)
	}
	p.line, p.classified, p.discard, p.firstLine = p.line[:0], false, false, false
}

// tooLong stops the parsing at the current line, which is over MaxSSELine
// or takes its event's data there.
func (p *sseParser) tooLong() {
	p.off = true
	p.line, p.data, p.name = nil, nil, nil
	p.setProblem(fmt.Errorf("%w: the line starting at byte %d of the stream takes it or its event's data over %d bytes; stopped reading usage there",
		ErrSSELineTooLong, p.lineStart, MaxSSELine))
}

// process parses one whole line, its line end at offset.
func (p *sseParser) process(line []byte, offset int64) {
	if p.firstLine {
		line = bytes.TrimPrefix(line, bom)
	}
	if len(line) == 0 {
		p.dispatch(offset)
		return
	}
	if line[0] == ':' {
		return
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.name = append(p.name[:0], value...)
		p.skip = !usageEvent(p.name)
	case "data":
		if p.skip {
			p.lost = true
			return
		}
		if len(p.data)+len(value)+1 > MaxSSELine {
			p.tooLong()
			return
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	}
}

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

// event takes one event with usage: its type from the event: field (name,
// which the data's "type" overrides) and its data.
func (p *sseParser) event(name, data []byte, offset int64) {
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
