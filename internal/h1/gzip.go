package h1

import (
	"bufio"
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// gzipReader is a decoder kept in Transport.gzips between bodies. The
// bufio.Reader gives gzip.Reader the io.ByteReader it wants, so that Reset
// does not allocate a buffer of its own each time.
type gzipReader struct {
	br *bufio.Reader
	zr gzip.Reader
}

func (t *Transport) getGzip() *gzipReader {
	if z, ok := t.gzips.Get().(*gzipReader); ok {
		return z
	}
	return &gzipReader{br: bufio.NewReader(nil)}
}

func (t *Transport) putGzip(z *gzipReader) {
	z.br.Reset(nil) // hold no body while pooled
	t.gzips.Put(z)
}

// decodeGzip makes resp, whose request asked for gzip on the caller's
// behalf, return its body decoded when the server sent it gzip-encoded,
// as net/http does.
func (t *Transport) decodeGzip(resp *http.Response, b *body) {
	if !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		return
	}
	resp.Body = &gzipBody{t: t, body: b}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
}

// gzipBody decodes a gzip-encoded body. The decoder is taken from the pool
// on the first Read (reading the gzip header blocks, so not in RoundTrip)
// and returned on Close. Close may be called concurrently with Read.
type gzipBody struct {
	t    *Transport
	body *body

	mu      sync.Mutex
	z       *gzipReader // nil before the first Read and after Close
	err     error       // the gzip header's error, returned by every Read
	reading bool
	closed  bool
}

func (g *gzipBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return 0, errBodyClosed
	}
	if g.err != nil {
		err := g.err
		g.mu.Unlock()
		return 0, err
	}
	z := g.z
	g.reading = true
	g.mu.Unlock()

	var n int
	var err, headerErr error
	if z == nil {
		z = g.t.getGzip()
		z.br.Reset(g.body)
		headerErr = z.zr.Reset(z.br)
	}
	if headerErr == nil {
		n, err = z.zr.Read(p)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	g.reading = false
	switch {
	case g.closed: // Close left the decoder to this Read
		g.t.putGzip(z)
		g.z = nil
		return n, errBodyClosed
	case headerErr != nil:
		g.t.putGzip(z)
		g.err = headerErr
		return 0, headerErr
	}
	g.z = z
	return n, err
}

// Close closes the underlying body and returns the decoder to the pool,
// unless a Read is using it: that Read returns it.
func (g *gzipBody) Close() error {
	err := g.body.Close() // first, to abort a Read in progress
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.z != nil && !g.reading {
		g.t.putGzip(g.z)
		g.z = nil
	}
	return err
}
