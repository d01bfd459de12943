package fakeanthropic

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

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
