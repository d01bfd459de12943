package claude

import (
	"bytes"
	"fmt"
)

// This file frames a StreamReader's stream into lines, fields and events
// as the SSE specification says, keeping only the lines of events with
// usage (sse_event.go reads those).

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

	// The first memory of name and data (start): room for every event
	// type the API sends, and for the data of its message_start and
	// message_delta events, so that a StreamReader is one allocation.
	nameBuf [24]byte
	dataBuf [640]byte
}

// start makes p the parse state of a new stream.
func (p *sseParser) start() {
	p.firstLine = true
	p.name, p.data = p.nameBuf[:0], p.dataBuf[:0]
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
