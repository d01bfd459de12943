package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// DefaultBodyTimeout is how long a request's body may take to arrive by
// default (Proxy.BodyTimeout): 32 MB, Claude's largest request, in two
// minutes is about 2 Mbit/s.
const DefaultBodyTimeout = 2 * time.Minute

// initialBody is the buffer a body is first read into; it doubles as the
// body arrives, up to its Content-Length (or the cap, for a chunked one).
// Claude Code's first requests fit.
const initialBody = 32 << 10

// DefaultWriteTimeout is how long one write of an answer may block by
// default (Proxy.WriteTimeout): a caller that has not taken 32 KiB of its
// answer in a minute has stopped reading.
const DefaultWriteTimeout = time.Minute

// readBody reads a request's whole body, at most maxBody bytes, within the
// body's deadline, into a buffer that grows with what arrives; w is the
// server's own ResponseWriter. Once the body is in, the connection's read
// deadline is lifted (net/http lifts it too, once it has seen the body's
// end). A body that failed leaves the deadline as it is, so that the
// server gives up on the connection at once.
func (p *Proxy) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	deadline := false
	if p.bodyTimeout > 0 {
		deadline = rc.SetReadDeadline(time.Now().Add(p.bodyTimeout)) == nil
	}
	b, err := readGrowing(http.MaxBytesReader(w, r.Body, p.maxBody), r.ContentLength, p.maxBody)
	if err == nil && deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return b, err
}

// readGrowing reads r to its end: declared bytes (a Content-Length), or,
// when declared is negative, at most limit. Its buffer starts at
// initialBody and doubles as bytes arrive, never past what may still come.
func readGrowing(r io.Reader, declared, limit int64) ([]byte, error) {
	want := limit + 1 // chunked: room to see the cap passed
	if declared >= 0 {
		want = declared
	}
	b := make([]byte, 0, min(want, initialBody))
	for {
		if len(b) == cap(b) {
			if int64(len(b)) >= want {
				if declared >= 0 {
					return b, nil // all of it: net/http reads no further than Content-Length
				}
				return nil, &http.MaxBytesError{Limit: limit}
			}
			b = slices.Grow(b, int(min(int64(max(len(b), 512)), want-int64(len(b)))))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF && declared >= 0 && int64(len(b)) < declared:
			return nil, io.ErrUnexpectedEOF
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, err
		}
	}
}

// bodyError answers a request whose body could not be read: 413 over the
// cap, 408 when its deadline passed (the connection is then closed), 400
// otherwise.
func (p *Proxy) bodyError(w http.ResponseWriter, r *http.Request, callerID string, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		p.refuse(w, r, refuseTooLarge, callerID, fmt.Sprintf("authpool proxy: the body is more than %d bytes", p.maxBody))
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		p.refuse(w, r, refuseBodyTimeout, callerID, fmt.Sprintf(
			"authpool proxy: the body did not arrive within %s: send it faster, or ask the proxy's operator for a longer body timeout",
			p.bodyTimeout))
	default:
		p.refuse(w, r, refuseBadBody, callerID, "authpool proxy: the body could not be read")
	}
}

// answerWriter is the ResponseWriter a Proxy answers through.
//
// When d > 0 it gives each write, and each flush, from half of d to d to
// complete: a caller that stops reading its answer is cut when the
// connection's buffers are full and the deadline has passed, however long
// the answer streams. A server-wide WriteTimeout would bound the whole
// answer instead, and cut a long stream. The deadline is moved only when
// less than half of d is left (an SSE answer flushes every event, and
// moving a deadline is not free), and set anew by the first write, so a
// deadline left by a connection's previous request is replaced before it
// matters.
//
// It flushes only what needs it. ReverseProxy flushes an SSE answer after
// each write, and first, from a goroutine of its own, its headers alone;
// each flush is a write to the connection. A flush with nothing written
// since the last one sends nothing: the headers go with the answer's first
// event, which the API sends right after them (message_start). A flush
// after the write that carried the end of the upstream's body (ended: the
// Transport's body read it with io.EOF) is left to the server, which sends
// those bytes with the end of the chunked answer, in one write, once the
// handler returns.
//
// Like any ResponseWriter it is used by one goroutine at a time:
// ReverseProxy's flushes, from its own goroutine, hold the lock its writes
// hold.
type answerWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	d       time.Duration
	until   time.Time    // the deadline set
	pending bool         // written since the last flush
	ended   *atomic.Bool // the route's (route.ended); nil until there is one
}

// extend moves the deadline to d from now when less than half of d is left.
func (w *answerWriter) extend() {
	if w.d <= 0 {
		return
	}
	if now := time.Now(); w.until.Sub(now) < w.d/2 {
		w.until = now.Add(w.d)
		_ = w.rc.SetWriteDeadline(w.until)
	}
}

func (w *answerWriter) Write(b []byte) (int, error) {
	w.extend()
	w.pending = w.pending || len(b) > 0
	return w.ResponseWriter.Write(b)
}

// FlushError flushes what was written since the last flush, within the
// deadline, unless the server is about to send it with the answer's end;
// ReverseProxy flushes an SSE stream after each event through it
// (http.ResponseController).
func (w *answerWriter) FlushError() error {
	if !w.pending || w.ended != nil && w.ended.Load() {
		return nil
	}
	w.pending = false
	w.extend()
	return w.rc.Flush()
}

// Unwrap returns the server's ResponseWriter, for http.ResponseController.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
