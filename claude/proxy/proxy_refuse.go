package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/store"
)

// StoreRetryAfter is the retry-after of a Proxy's 503 when the pool's
// store is unavailable: a few seconds, in which Redis may be back, and
// which Claude Code waits before it sends the request again (it retries a
// 5xx up to 10 times, the longer of retry-after and its own backoff).
const StoreRetryAfter = 5 * time.Second

// refuse answers a request with an error of r's status and type saying
// msg, in Anthropic's shape, and logs it (at a bounded rate); callerID is
// the caller's ID, "" when not known; detail says more in the log.
func (p *Proxy) refuse(w http.ResponseWriter, req *http.Request, r refusal, callerID, msg string, detail ...slog.Attr) {
	writeError(w, r.status, r.typ, msg)
	p.refusals.add(req.Context(), r, callerID, msg, detail...)
}

// writeError writes an Anthropic error response.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	body := errorBody(typ, msg)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// upstreamError answers a request the Transport returned an error for: the
// pool's, when it could not place the request (its store unavailable or
// failing, the pool closed), else the upstream's, which could not be
// reached.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, callerID string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller went away
	}
	why := slog.String("error", safetext.Clip(p.redact.String(err.Error()), 1024))
	var pool *poolError
	switch {
	case errors.Is(err, store.ErrUnavailable):
		retryHeaders(w.Header(), StoreRetryAfter, StoreRetryAfter)
		p.refuse(w, r, refuseStoreDown, callerID, fmt.Sprintf(
			"authpool proxy: the pool's store is unavailable, so no subscription could be chosen: retry in %s", humanWait(waitSeconds(StoreRetryAfter))), why)
	case errors.Is(err, authpool.ErrClosed):
		retryHeaders(w.Header(), StoreRetryAfter, StoreRetryAfter)
		p.refuse(w, r, refusePoolClosed, callerID, fmt.Sprintf(
			"authpool proxy: the pool is shutting down: retry in %s", humanWait(waitSeconds(StoreRetryAfter))), why)
	case errors.As(err, &pool):
		// Not a passing outage (Redis out of memory, a bug): retrying
		// would fail alike until the pool's operator acts.
		w.Header().Set("X-Should-Retry", "false")
		p.refuse(w, r, refuseStoreFailed, callerID,
			"authpool proxy: the pool's store refused the request, which was not sent: the pool's operator must look into it", why)
	default:
		p.refuse(w, r, refuseUnreachable, callerID, "authpool proxy: the upstream could not be reached", why)
	}
}

// capped answers a caller whose cap is spent: 429 billing_error, with the
// caller's standing, unified status and overage status rejected and the
// representative claim overage — an OAuth-mode Claude Code then prints
// "You've hit your limit · resets <when it frees>" — and retry-after and
// x-should-retry by the rule of the pool's other refusals.
func (p *Proxy) capped(w http.ResponseWriter, r *http.Request, c Caller, st standing, now time.Time) {
	h := w.Header()
	st.headers(h)
	h.Set("Anthropic-Ratelimit-Unified-Status", "rejected")
	h.Set("Anthropic-Ratelimit-Unified-Overage-Status", "rejected")
	h.Set("Anthropic-Ratelimit-Unified-Representative-Claim", "overage")
	secs := retryHeaders(h, st.reset.Sub(now), p.Transport.retryWithin())
	p.refuse(w, r, refuseCapped, c.ID, fmt.Sprintf(
		"authpool: you have used your $%s cap for %s; it frees up at %s (in %s): wait, or ask the pool's operator for a larger cap",
		dollars(c.CapUSD), humanWait(int64(st.window/time.Second)), clockUTC(st.reset, now), humanWait(secs)))
}
