package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Transport is an http.RoundTripper that speaks HTTP/1.1 over plain TCP
// (http) and TLS (https), doing each exchange on the calling goroutine
// with no goroutine of its own. It keeps idle connections per scheme, host
// and port for reuse, most recently used first.
//
// It handles requests as net/http's Transport does for HTTP/1.1: standard
// framing (Content-Length, chunked, close-delimited, trailers), 1xx
// responses other than 101 skipped (after being passed to the context's
// httptrace.ClientTrace.Got1xxResponse, the only trace hook it calls),
// transparent gzip when the caller did not set Accept-Encoding, the request's context honoured throughout (dial,
// write, response header and body reads), and one retry on a fresh
// connection when a reused connection turns out to have been closed by the
// server, under net/http's rule: nothing of the request was written and its
// body can be sent again, or the request is replayable (its body can be
// sent again and its method is GET, HEAD, OPTIONS or TRACE, or it carries
// an Idempotency-Key or X-Idempotency-Key header) and the server closed the
// connection before any byte of a response. Before reusing an idle
// connection it peeks at the socket, without blocking, so that one the
// server closed while idle is dropped rather than tried.
//
// A response body read to io.EOF hands its connection back for reuse,
// unless the request or response asked to close it or the body was
// delimited by the close. Closing a body before its end reads what is left
// when that is at most 256 KiB and arrives within 50 ms, to keep the
// connection, and otherwise closes the connection. Close may be called
// concurrently with Read, to abort it.
//
// These requests go to Fallback instead: a URL scheme other than http and
// https; a request for which Proxy returns a proxy URL; a request with an
// Upgrade header (WebSocket and other protocol switches); a request with
// Expect: 100-continue. It never speaks HTTP/2.
//
// The zero Transport is ready to use. A Transport is safe for concurrent
// use by multiple goroutines; its fields must not change once it is in use,
// and it must not be copied after first use.
type Transport struct {
	// DialContext opens the TCP connections. The default is a net.Dialer
	// with a 30 s timeout and 30 s TCP keep-alive.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSClientConfig configures https connections. It is cloned for each
	// connection; ServerName defaults to the URL's host, and NextProtos is
	// always ["http/1.1"]. The default is crypto/tls's defaults.
	TLSClientConfig *tls.Config

	// TLSHandshakeTimeout bounds a TLS handshake. Zero or negative means
	// the default, 10 s.
	TLSHandshakeTimeout time.Duration

	// MaxIdleConnsPerHost is how many idle connections are kept for each
	// scheme, host and port. Negative keeps none. The default is 256.
	MaxIdleConnsPerHost int

	// IdleConnTimeout is how long a connection may sit idle and still be
	// reused; it is checked when a connection is taken or put back, not by
	// a timer. Negative means no limit. The default is 90 s.
	IdleConnTimeout time.Duration

	// ResponseHeaderTimeout, if positive, bounds the wait for the
	// response's header once the request has been written. The default is
	// no limit (the request's context still applies).
	ResponseHeaderTimeout time.Duration

	// DisableCompression stops the Transport from asking for gzip when the
	// caller did not set Accept-Encoding. The default asks, and decodes.
	DisableCompression bool

	// Proxy chooses a proxy for a request, as http.Transport.Proxy does; a
	// request it gives a proxy URL goes to Fallback. The default is
	// http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)

	// Fallback sends the requests the Transport does not handle (see
	// above). The default is a clone of http.DefaultTransport that uses
	// this Transport's Proxy, DialContext, TLSClientConfig and
	// DisableCompression where those are set.
	Fallback http.RoundTripper

	idle         idlePool
	gzips        sync.Pool // *gzipReader
	fallbackOnce sync.Once
	fallback     http.RoundTripper // Fallback, or the default
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip sends req and returns its response, whose body the caller must
// read to its end or close: that returns the connection to the pool. It
// does not modify req and always closes req.Body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("h1: nil Request.URL")
	}
	var https bool
	switch req.URL.Scheme {
	case "http":
	case "https":
		https = true
	default:
		return t.fallbackRoundTripper().RoundTrip(req)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("h1: no Host in request URL")
	}
	fallback, err := t.wantsFallback(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if fallback {
		return t.fallbackRoundTripper().RoundTrip(req)
	}

	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("h1: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	key := connKey{tls: https, addr: canonicalAddr(req.URL, https)}
	wreq, gz := t.withGzip(req)
	for retry := false; ; retry = true {
		c, err := t.getConn(ctx, key, req.URL.Hostname(), retry)
		if err != nil {
			closeBody(wreq) // req's body, or the rewound copy
			return nil, err
		}
		resp, kind, err := t.exchange(ctx, c, req, wreq, gz)
		if err == nil || retry || !c.reused || !canRetry(kind, req) {
			return resp, err
		}
		if wreq, err = rewind(req, wreq); err != nil {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the idle connections, and the fallback's.
// Connections in use are not touched; they are kept when their exchange
// ends.
func (t *Transport) CloseIdleConnections() {
	t.idle.closeAll()
	if c, ok := t.fallbackRoundTripper().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// wantsFallback reports whether req goes to Fallback.
func (t *Transport) wantsFallback(req *http.Request) (bool, error) {
	if req.Header.Get("Upgrade") != "" || hasToken(req.Header["Expect"], "100-continue") {
		return true, nil
	}
	proxy := t.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	u, err := proxy(req)
	if err != nil {
		return false, err
	}
	return u != nil, nil
}

func (t *Transport) fallbackRoundTripper() http.RoundTripper {
	if t.Fallback != nil {
		return t.Fallback
	}
	t.fallbackOnce.Do(func() { t.fallback = t.defaultFallback() })
	return t.fallback
}

func (t *Transport) defaultFallback() http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	ft := dt.Clone()
	if t.Proxy != nil {
		ft.Proxy = t.Proxy
	}
	if t.DialContext != nil {
		ft.DialContext = t.DialContext
	}
	if t.TLSClientConfig != nil {
		ft.TLSClientConfig = t.TLSClientConfig.Clone()
	}
	ft.DisableCompression = t.DisableCompression
	return ft
}

// withGzip returns the request to write: req itself, or, when the
// Transport asks for gzip on the caller's behalf (as net/http does: no
// Accept-Encoding, no Range, not HEAD), a shallow copy with a cloned
// header that says so.
func (t *Transport) withGzip(req *http.Request) (*http.Request, bool) {
	if t.DisableCompression || req.Method == http.MethodHead ||
		req.Header.Get("Accept-Encoding") != "" || req.Header.Get("Range") != "" {
		return req, false
	}
	r := *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = make(http.Header, 1)
	}
	r.Header.Set("Accept-Encoding", "gzip")
	return &r, true
}

// getConn returns an idle connection for key that looks alive, or dials
// one; fresh skips the pool.
func (t *Transport) getConn(ctx context.Context, key connKey, host string, fresh bool) (*conn, error) {
	for !fresh {
		c := t.idle.take(key, time.Now(), t.idleTimeout())
		if c == nil {
			break
		}
		if c.alive() {
			return c, nil
		}
		c.close()
	}
	return t.dial(ctx, key, host)
}

func (t *Transport) maxIdle() int {
	switch n := t.MaxIdleConnsPerHost; {
	case n == 0:
		return 256
	case n < 0:
		return 0
	default:
		return n
	}
}

func (t *Transport) idleTimeout() time.Duration {
	switch d := t.IdleConnTimeout; {
	case d == 0:
		return 90 * time.Second
	case d < 0:
		return 0
	default:
		return d
	}
}

func (t *Transport) tlsHandshakeTimeout() time.Duration {
	if t.TLSHandshakeTimeout <= 0 {
		return 10 * time.Second
	}
	return t.TLSHandshakeTimeout
}

// canonicalAddr returns u's host:port, with the scheme's default port when
// u names none.
func canonicalAddr(u *url.URL, https bool) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if https {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// hasToken reports whether a comma-separated header value in values has
// token, case-insensitively.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
