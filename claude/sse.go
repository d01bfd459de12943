package claude

import (
	"errors"
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
	s := &StreamReader{r: r}
	s.p.start()
	return s
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
