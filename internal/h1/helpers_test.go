package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// noProxy keeps tests independent of the environment's proxy variables.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// newTransport returns a Transport for tests, its idle connections closed
// when the test ends.
func newTransport(t testing.TB) *Transport {
	tr := &Transport{Proxy: noProxy}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// serverKind is what newServer starts.
type serverKind int

const (
	plainServer serverKind = iota // http
	tlsServer                     // https, offering http/1.1 only
	h2Server                      // https, offering h2 and http/1.1
)

// newServer starts an httptest server and counts the connections it
// accepts.
func newServer(t testing.TB, kind serverKind, h http.Handler) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	switch kind {
	case plainServer:
		ts.Start()
	case tlsServer:
		ts.StartTLS()
	case h2Server:
		ts.EnableHTTP2 = true
		ts.StartTLS()
	}
	t.Cleanup(ts.Close)
	return ts, &conns
}

// rawServer serves each accepted connection with serve, on its own
// goroutine, and returns the URL to reach it and the count of accepted
// connections. It stops, and waits for serve to return, when the test ends.
func rawServer(t testing.TB, serve func(n int, c net.Conn)) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(conns.Add(1))
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				serve(n, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), &conns
}

// respondEach answers every request on c with resp, until the client
// closes the connection or max requests were answered (max <= 0: no limit).
func respondEach(c net.Conn, resp string, max int) {
	br := bufio.NewReader(c)
	for i := 0; max <= 0 || i < max; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

// do sends a request and reads the whole body.
func do(t testing.TB, rt http.RoundTripper, method, url string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(b)
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closed.Add(1)
	return nil
}

func newCloseCounter(s string) *closeCounter {
	return &closeCounter{Reader: strings.NewReader(s)}
}

// pipeNet is an in-memory network for testing/synctest bubbles: an
// http.Server serves its Listener, and a Transport dials it with
// DialContext.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// idleLen reports how many connections are idle for key.
func (p *idlePool) idleLen(key connKey) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns[key])
}
