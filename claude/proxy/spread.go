package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
)

// A caller whose Sessionless is SessionlessSpread has each request without
// a session placed as a client of its own, named here and released when
// its response ends.

// release ends a spread request's client.
func (p *Proxy) release(ctx context.Context, clientID string) {
	if err := p.Transport.Pool.Release(context.WithoutCancel(ctx), clientID); err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "authpool proxy: releasing a request's client failed",
			slog.String("client", clientID), slog.String("error", err.Error()))
	}
}

// spreadIDs names the clients of spread requests: a prefix random to the
// process (proxies sharing a store must not name two alike) and a count.
type spreadIDs struct {
	once   sync.Once
	prefix string
	n      atomic.Uint64
}

// next returns a new client name: spread-<prefix>-<n>.
func (s *spreadIDs) next() string {
	s.once.Do(func() {
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.prefix = "spread-" + hex.EncodeToString(b[:]) + "-"
	})
	return s.prefix + strconv.FormatUint(s.n.Add(1), 36)
}
