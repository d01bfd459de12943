//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// prompt is the user's message of every request: about 200 bytes.
const prompt = "Here is a small Go function that parses a duration from a config file " +
	"and falls back to a default. Could you review it for edge cases, and suggest a " +
	"clearer name for the helper that trims the unit suffix? Thanks."

// request returns the bytes of a POST /v1/messages to host with key as its
// x-api-key: a JSON or an SSE (stream) request.
func request(host, key string, stream bool) []byte {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":%t,`+
		`"messages":[{"role":"user","content":%q}]}`, stream, prompt)
	return fmt.Appendf(nil, "POST /v1/messages HTTP/1.1\r\n"+
		"Host: %s\r\n"+
		"User-Agent: proxyload/1\r\n"+
		"Accept: application/json\r\n"+
		"Content-Type: application/json\r\n"+
		"Anthropic-Version: 2023-06-01\r\n"+
		"X-Api-Key: %s\r\n"+
		"Content-Length: %d\r\n"+
		"\r\n%s", host, key, len(body), body)
}

// What a good response holds: the upstream's message id, and for a stream,
// its last event.
var (
	messageID   = []byte(`"id":"msg_instant`)
	messageStop = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
)

// conn is a load worker's keep-alive HTTP/1.1 connection to one target. It
// sends prepared requests and reads each response whole, allocating nothing
// once its buffers have grown. A conn is not safe for concurrent use.
type conn struct {
	addr string
	json []byte // the JSON request
	sse  []byte // the SSE request
	nc   net.Conn
	br   *bufio.Reader
	body []byte // the last response's body
}

// newConn returns a connection to addr (dialled on first use) whose
// requests carry key.
func newConn(addr, key string) *conn {
	return &conn{addr: addr, json: request(addr, key, false), sse: request(addr, key, true)}
}

// do sends a request (an SSE one when sse is set), reads the whole
// response, and returns the time from writing the request to reading the
// last byte. On an error the connection is closed; the next do dials again.
func (c *conn) do(sse bool) (time.Duration, error) {
	if c.nc == nil {
		nc, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.nc = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 16<<10)
		} else {
			c.br.Reset(nc)
		}
	}
	req := c.json
	if sse {
		req = c.sse
	}
	start := time.Now()
	if _, err := c.nc.Write(req); err != nil {
		c.close()
		return 0, err
	}
	keep, err := c.read()
	took := time.Since(start)
	if err == nil {
		err = c.check(sse)
	}
	if err != nil || !keep {
		c.close()
	}
	return took, err
}

// close closes the connection.
func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// check reports whether the body read last is the upstream's message.
func (c *conn) check(sse bool) error {
	if !bytes.Contains(c.body, messageID) || sse && !bytes.HasSuffix(c.body, messageStop) {
		return fmt.Errorf("not the upstream's message: %.200q", c.body)
	}
	return nil
}

// errStatus is a response whose status was not 200.
type errStatus struct {
	status string
	body   string
}

func (e *errStatus) Error() string { return fmt.Sprintf("status %s: %.300q", e.status, e.body) }

// read reads a response into c.body, and reports whether the connection
// may be used again.
func (c *conn) read() (keep bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return false, fmt.Errorf("not an HTTP/1.1 response: %q", line)
	}
	var status [3]byte
	copy(status[:], line[9:12])
	length, chunked, keep := int64(-1), false, true
	for {
		if line, err = c.br.ReadSlice('\n'); err != nil {
			return false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false, fmt.Errorf("a malformed header line: %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = parseInt(value, 10); err != nil {
				return false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		err = c.readChunked()
	case length >= 0:
		err = c.readN(length)
	default:
		keep = false
		var b bytes.Buffer
		_, err = b.ReadFrom(c.br)
		c.body = append(c.body, b.Bytes()...)
	}
	if err != nil {
		return false, err
	}
	if string(status[:]) != "200" {
		return keep, &errStatus{status: string(status[:]), body: string(c.body)}
	}
	return keep, nil
}

// readN appends the next n bytes to c.body.
func (c *conn) readN(n int64) error {
	if n > 64<<20 {
		return fmt.Errorf("a body of %d bytes", n)
	}
	at := len(c.body)
	c.body = append(c.body, make([]byte, n)...)
	_, err := io.ReadFull(c.br, c.body[at:])
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readChunked appends a chunked body to c.body, and reads its trailer.
func (c *conn) readChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := parseInt(bytes.TrimSpace(size), 16)
		if err != nil {
			return fmt.Errorf("a chunk size %q", line)
		}
		if n == 0 {
			break
		}
		if err := c.readN(n); err != nil {
			return err
		}
		if err := c.crlf(); err != nil {
			return err
		}
	}
	for { // the trailer, up to its empty line
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// crlf reads the CRLF after a chunk.
func (c *conn) crlf() error {
	b0, err := c.br.ReadByte()
	if err != nil {
		return err
	}
	b1, err := c.br.ReadByte()
	if err != nil {
		return err
	}
	if b0 != '\r' || b1 != '\n' {
		return errors.New("a chunk not followed by CRLF")
	}
	return nil
}

// parseInt parses a non-negative integer in base 10 or 16 without
// allocating.
func parseInt(b []byte, base int) (int64, error) {
	if len(b) == 0 || len(b) > 15 {
		return 0, strconv.ErrSyntax
	}
	var n int64
	for _, d := range b {
		var v byte
		switch {
		case '0' <= d && d <= '9':
			v = d - '0'
		case base == 16 && 'a' <= d|0x20 && d|0x20 <= 'f':
			v = d | 0x20 - 'a' + 10
		default:
			return 0, strconv.ErrSyntax
		}
		n = n*int64(base) + int64(v)
	}
	return n, nil
}
