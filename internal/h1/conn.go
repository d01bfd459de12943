package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it on a connection makes
// its blocked and future reads and writes fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// connKey identifies the connections that can carry a request: those to
// the same address over the same scheme.
type connKey struct {
	tls  bool
	addr string // host:port
}

// conn is one HTTP/1.1 connection. Only the goroutine that holds it (taken
// from the pool, or dialed) uses it, except cancel, which a context's
// AfterFunc may call at any time.
type conn struct {
	key      connKey
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer // writes through conn.Write, to count bytes sent
	tlsState *tls.ConnectionState
	idleAt   time.Time // when it was put in the pool
	reused   bool      // it has carried a request before this one

	written  int64 // bytes the socket accepted
	writeErr error // the last write error from the socket

	canceled atomic.Bool // cancel has run: the past deadline must stay
	cancelFn func()      // c.cancel, made once so watching allocates nothing

	// raw is the socket for the liveness probe of an idle connection; nil
	// when the connection is not a socket (a custom DialContext's).
	raw      syscall.RawConn
	probeFn  func(fd uintptr) bool // c.probe, made once
	probeBuf [1]byte
	probeRes probeResult
}

func newConn(key connKey, nc net.Conn, tlsState *tls.ConnectionState) *conn {
	c := &conn{key: key, nc: nc, tlsState: tlsState}
	c.br = bufio.NewReader(nc)
	c.bw = bufio.NewWriter(c)
	c.cancelFn = c.cancel
	sock := nc
	if tc, ok := nc.(*tls.Conn); ok {
		sock = tc.NetConn()
	}
	if sc, ok := sock.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.probeFn = c.probe
		}
	}
	return c
}

// Write writes to the socket, counting what it accepted so that a failed
// exchange can tell whether any of the request left.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	c.written += int64(n)
	if err != nil {
		c.writeErr = err
	}
	return n, err
}

// cancel ends the exchange in progress: blocked reads and writes return
// and later ones fail. The connection is not reused after it.
func (c *conn) cancel() {
	c.canceled.Store(true)
	c.nc.SetDeadline(aLongTimeAgo)
}

// watch makes the end of ctx cancel the exchange until the returned stop
// is called. stop reports whether it stopped cancel from running; when it
// did not, the connection must be closed. stop is nil for a context that
// never ends.
func (c *conn) watch(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, c.cancelFn)
}

// setReadDeadline sets a read deadline without undoing a cancellation: if
// cancel ran, before or during the call, the past deadline is restored.
func (c *conn) setReadDeadline(t time.Time) {
	c.nc.SetReadDeadline(t)
	if c.canceled.Load() {
		c.nc.SetDeadline(aLongTimeAgo)
	}
}

func (c *conn) close() { c.nc.Close() }

// dial opens a connection for key, with a TLS handshake for https.
func (t *Transport) dial(ctx context.Context, key connKey, host string) (*conn, error) {
	nc, err := t.dialContext(ctx, "tcp", key.addr)
	if err != nil {
		return nil, fmt.Errorf("h1: dial %s: %w", key.addr, err)
	}
	if !key.tls {
		return newConn(key, nc, nil), nil
	}
	cfg := &tls.Config{}
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"} // the only protocol spoken here
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, t.tlsHandshakeTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("h1: TLS handshake with %s: %w", key.addr, err)
	}
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		tc.Close()
		return nil, fmt.Errorf("h1: %s negotiated protocol %q, not http/1.1", key.addr, p)
	}
	return newConn(key, tc, &st), nil
}

func (t *Transport) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.DialContext != nil {
		return t.DialContext(ctx, network, addr)
	}
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return d.DialContext(ctx, network, addr)
}
