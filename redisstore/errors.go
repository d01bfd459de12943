package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/store"
)

// fail translates the error of a call of op under ctx that Redis was sent
// (see run for a context that ended before):
//
//   - ctx's deadline passed: context.DeadlineExceeded and
//     store.ErrUnavailable, since Redis did not answer in time; the script
//     ran whole or not at all, and may still run. The deadline is judged by
//     the clock, not only by ctx.Err: a client that bounds its I/O by the
//     deadline (ContextTimeoutEnabled) sets the connection's deadline to
//     ctx's, and that timer may fire, failing the read with a plain
//     "i/o timeout", before the context's own timer has set ctx.Err.
//   - ctx was canceled: the context's error.
//   - the network, the connection pool or a closed client failed, or the
//     server answered that it cannot serve now (loading, busy, failing
//     over): store.ErrUnavailable.
//   - any other reply error (a script's bug, out of memory, ...): a system
//     error, as it is.
func fail(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	switch {
	case errors.Is(cerr, context.DeadlineExceeded):
		return fmt.Errorf("redisstore: %s: no reply before the deadline: %w: %w", op, cerr, store.ErrUnavailable)
	case cerr != nil:
		return fmt.Errorf("redisstore: %s: %w", op, cerr)
	case unavailable(err):
		return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrUnavailable, err)
	default:
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
}

// busyPrefixes are the error replies of a server that is up but cannot serve
// now; go-redis retries most of them before giving up.
var busyPrefixes = []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "NOREPLICAS"}

// unavailable reports whether err says that Redis could not be reached or
// cannot serve now, rather than that it answered with an error.
func unavailable(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true // a network, pool or closed-client error: no reply at all
	}
	msg := reply.Error()
	for _, p := range busyPrefixes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// errReply is the error of a reply the store cannot read: a bug, or keys
// under the store's prefix written by something else.
func errReply(op string, reply any) error {
	return fmt.Errorf("redisstore: %s: unexpected reply %v", op, reply)
}
