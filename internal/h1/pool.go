package h1

import (
	"sync"
	"time"
)

// idlePool keeps idle connections, a stack per key: the most recently used
// connection is taken first, so a burst's extra connections sink to the
// bottom and age out. Its zero value is empty and ready; it is safe for
// concurrent use.
type idlePool struct {
	mu    sync.Mutex
	conns map[connKey][]*conn
}

// take pops the most recently idle connection for key. When that one has
// been idle longer than timeout (timeout > 0) so have all below it: they
// are all closed and take returns nil.
func (p *idlePool) take(key connKey, now time.Time, timeout time.Duration) *conn {
	p.mu.Lock()
	s := p.conns[key]
	if len(s) == 0 {
		p.mu.Unlock()
		return nil
	}
	c := s[len(s)-1]
	if timeout > 0 && now.Sub(c.idleAt) > timeout {
		delete(p.conns, key)
		p.mu.Unlock()
		for _, c := range s {
			c.close()
		}
		return nil
	}
	s[len(s)-1] = nil
	p.conns[key] = s[:len(s)-1]
	p.mu.Unlock()
	return c
}

// put pushes c, idle since now, unless limit connections for its key are
// idle already, in which case c is closed. Connections at the bottom that
// have been idle longer than timeout (timeout > 0) are closed on the way,
// so an unused stack does not hold sockets past the timeout for long.
func (p *idlePool) put(c *conn, now time.Time, limit int, timeout time.Duration) {
	c.idleAt = now
	var stale []*conn
	p.mu.Lock()
	if p.conns == nil {
		p.conns = make(map[connKey][]*conn)
	}
	s := p.conns[c.key]
	if timeout > 0 {
		i := 0
		for i < len(s) && now.Sub(s[i].idleAt) > timeout {
			i++
		}
		if i > 0 {
			stale = append(stale, s[:i]...)
			clear(s[:i]) // let the backing array drop them
			s = s[i:]
		}
	}
	full := len(s) >= limit
	if !full {
		s = append(s, c)
	}
	p.conns[c.key] = s
	p.mu.Unlock()
	if full {
		c.close()
	}
	for _, c := range stale {
		c.close()
	}
}

// closeAll closes every idle connection.
func (p *idlePool) closeAll() {
	p.mu.Lock()
	all := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, s := range all {
		for _, c := range s {
			c.close()
		}
	}
}
