package h1

// probeResult is what a peek at an idle socket found.
type probeResult uint8

const (
	probeIdle probeResult = iota // nothing to read: the peer keeps it open
	probeData                    // bytes are waiting
	probeDead                    // EOF or an error: the peer closed it
)

// alive reports whether an idle connection may carry a request. A server
// that closed the connection while it sat idle has left an EOF (or a reset)
// on the socket; a peek finds it without blocking, so the request is sent
// on a fresh connection instead of failing or needing a retry. Unsolicited
// bytes on a plain connection are a protocol error; on a TLS connection
// they can be a record for crypto/tls (a session ticket), which it reads
// with the next response.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	if err := c.raw.Read(c.probeFn); err != nil {
		return false
	}
	switch c.probeRes {
	case probeIdle:
		return true
	case probeData:
		return c.key.tls
	}
	return false
}
