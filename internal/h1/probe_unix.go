//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package h1

import "syscall"

// probe peeks at the socket fd, which the runtime keeps non-blocking, and
// records what it found in c.probeRes. It always returns true, so
// syscall.RawConn.Read never waits.
func (c *conn) probe(fd uintptr) bool {
	for {
		n, _, err := syscall.Recvfrom(int(fd), c.probeBuf[:], syscall.MSG_PEEK)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			c.probeRes = probeIdle
		case err != nil || n == 0:
			c.probeRes = probeDead
		default:
			c.probeRes = probeData
		}
		return true
	}
}
