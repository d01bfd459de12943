package h1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Close reads what is left of a body that was not read to its end, so
// that the connection can carry another request, but only up to
// drainLimit bytes and for drainTimeout: a larger or slower rest (a stream
// the caller gave up on) costs less as a new connection than as a wait.
const (
	drainLimit   = 256 << 10
	drainTimeout = 50 * time.Millisecond
)

var errBodyClosed = errors.New("h1: read on closed response body")

// body is a response body read from a connection. Reading it to io.EOF, or
// closing it, ends the exchange: the connection goes back to the pool when
// it can carry another request and is closed otherwise, exactly once.
// Close may be called concurrently with Read, to abort it.
type body struct {
	t      *Transport
	c      *conn
	ctx    context.Context // the request's, to name a cancellation in errors
	stop   func() bool     // stops ctx from canceling the exchange; may be nil
	r      io.ReadCloser   // the body from http.ReadResponse
	length int64           // Content-Length, or -1
	n      int64           // bytes read so far
	keep   bool            // the connection may be reused after the body

	mu      sync.Mutex
	reading bool  // a Read is in progress
	closed  bool  // Close was called
	done    bool  // the exchange is over and the connection released
	err     error // what Read returns once done
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return 0, errBodyClosed
	case b.done:
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	b.reading = true
	b.mu.Unlock()

	n, err := b.r.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	b.n += int64(n)
	if err == nil {
		return n, nil
	}
	switch {
	case b.closed: // Close aborted this Read by closing the connection
		err = errBodyClosed
	case err != io.EOF:
		err = b.readErr(err)
	}
	b.err = err
	b.finish(err == io.EOF)
	return n, err
}

// Close ends the exchange. If the body was not read to its end, it drains
// the rest (see drainLimit) to keep the connection, or closes it. A Read in
// progress is aborted by closing the connection.
func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	switch {
	case b.done:
	case b.reading:
		b.c.close() // the Read returns and finishes
	default:
		b.finish(b.drain())
	}
	return nil
}

// finish releases the connection, for reuse if reuse and the exchange
// allows it. b.mu is held.
func (b *body) finish(reuse bool) {
	b.done = true
	if b.err == nil {
		b.err = io.EOF
	}
	b.t.release(b.c, b.stop, b.keep && reuse)
}

// drain reads the rest of the body within drainLimit and drainTimeout and
// reports whether it reached the end. b.mu is held.
func (b *body) drain() bool {
	if !b.keep || b.length >= 0 && b.length-b.n > drainLimit {
		return false
	}
	b.c.setReadDeadline(time.Now().Add(drainTimeout))
	n, err := io.CopyN(io.Discard, b.r, drainLimit+1)
	b.n += n
	if err != io.EOF {
		return false
	}
	b.c.setReadDeadline(time.Time{})
	return true
}

// readErr names the context's error for a read that failed because the
// request's context ended; other errors pass unchanged.
func (b *body) readErr(err error) error {
	if b.c.canceled.Load() && b.ctx.Err() != nil {
		return fmt.Errorf("h1: reading response body: %w", b.ctx.Err())
	}
	return err
}
