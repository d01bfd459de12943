//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package h1

// probe cannot peek at a socket on this platform: it reports the
// connection idle, and a stale one is caught by RoundTrip's retry instead.
func (c *conn) probe(uintptr) bool {
	c.probeRes = probeIdle
	return true
}
