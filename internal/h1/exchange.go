package h1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"time"
)

// retryKind says how a failed exchange on a reused connection may be
// retried: net/http's two cases of a connection the server closed while
// it sat idle.
type retryKind uint8

const (
	noRetry             retryKind = iota
	retryNothingWritten           // the socket took no byte of the request
	retryServerClosed             // the request went out; no response byte came back
)

// max1xx bounds the informational responses skipped before the final one.
const max1xx = 16

var errHeaderTimeout = errors.New("h1: timeout awaiting response headers")

// exchange sends wreq (req, or req with Accept-Encoding: gzip when gz) on
// c and returns the response to req, whose body ends the exchange. On
// error c is closed.
func (t *Transport) exchange(ctx context.Context, c *conn, req, wreq *http.Request, gz bool) (*http.Response, retryKind, error) {
	stop := c.watch(ctx)
	resp, kind, err := t.send(ctx, c, req, wreq)
	if err != nil {
		if stop != nil {
			stop()
		}
		c.close()
		if c.canceled.Load() && ctx.Err() != nil {
			return nil, noRetry, fmt.Errorf("h1: %s %s: %w", req.Method, req.URL.Redacted(), ctx.Err())
		}
		return nil, kind, err
	}
	resp.TLS = c.tlsState
	keep := !resp.Close && !req.Close && !hasToken(req.Header["Connection"], "close") &&
		resp.StatusCode != http.StatusSwitchingProtocols
	if resp.Body == http.NoBody {
		t.release(c, stop, keep)
		return resp, noRetry, nil
	}
	b := &body{t: t, c: c, ctx: ctx, stop: stop, r: resp.Body, length: resp.ContentLength, keep: keep}
	resp.Body = b
	if gz {
		t.decodeGzip(resp, b)
	}
	return resp, noRetry, nil
}

// send writes wreq and reads the header of the final response, skipping
// 1xx responses other than 101 after showing them to the context's
// httptrace.ClientTrace.Got1xxResponse, if any (httputil.ReverseProxy
// forwards them that way).
func (t *Transport) send(ctx context.Context, c *conn, req, wreq *http.Request) (*http.Response, retryKind, error) {
	written := c.written
	c.writeErr = nil
	err := wreq.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		kind := noRetry
		if c.writeErr != nil && c.written == written {
			kind = retryNothingWritten
		}
		return nil, kind, fmt.Errorf("h1: writing request: %w", err)
	}
	timeout := t.ResponseHeaderTimeout
	if timeout > 0 {
		c.setReadDeadline(time.Now().Add(timeout))
	}
	for n := 0; ; n++ {
		if _, err := c.br.Peek(1); err != nil {
			if timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, noRetry, errHeaderTimeout
			}
			kind := noRetry
			if n == 0 {
				kind = retryServerClosed
			}
			return nil, kind, fmt.Errorf("h1: reading response: %w", err)
		}
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			if timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, noRetry, errHeaderTimeout
			}
			return nil, noRetry, fmt.Errorf("h1: reading response: %w", err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			if timeout > 0 {
				c.setReadDeadline(time.Time{})
			}
			return resp, noRetry, nil
		}
		if n == max1xx {
			return nil, noRetry, fmt.Errorf("h1: more than %d informational responses", max1xx)
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, noRetry, err
			}
		}
	}
}

// release ends an exchange on c: c goes back to the pool if reuse, the
// context's watch was stopped before it fired, and no unread byte is left;
// else it is closed.
func (t *Transport) release(c *conn, stop func() bool, reuse bool) {
	if stop != nil && !stop() {
		reuse = false
	}
	limit := t.maxIdle()
	if !reuse || limit == 0 || c.br.Buffered() > 0 {
		c.close()
		return
	}
	c.reused = true
	t.idle.put(c, time.Now(), limit, t.idleTimeout())
}

// canRetry applies net/http's rule for retrying req after a reused
// connection failed with kind.
func canRetry(kind retryKind, req *http.Request) bool {
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	switch kind {
	case retryNothingWritten:
		return rewindable
	case retryServerClosed:
		if !rewindable {
			return false
		}
		switch req.Method {
		case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return true
		}
		_, ok := req.Header["Idempotency-Key"]
		_, xok := req.Header["X-Idempotency-Key"]
		return ok || xok
	}
	return false
}

// rewind returns wreq with a fresh copy of req's body, to send it again.
func rewind(req, wreq *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return wreq, nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("h1: rewinding request body: %w", err)
	}
	r := *wreq
	r.Body = b
	return &r, nil
}
