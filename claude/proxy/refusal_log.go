package proxy

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file logs the requests a Proxy refuses, at a bounded rate: an
// exhausted pool or an attacker with a wrong key refuses thousands of
// requests a second, and a line for each would write megabytes.

// DefaultLogEvery is how often, at most, a Proxy logs the refusals of one
// kind for one caller by default: the first at once, then a line per
// interval that counts them.
const DefaultLogEvery = 10 * time.Second

// refusal is a kind of request the proxy refuses, and how it says so.
type refusal struct {
	kind   string     // in logs: unknown-key, exhausted, ...
	what   string     // the log line's message, after "authpool proxy: "
	status int        // the HTTP status
	typ    string     // the Anthropic error type
	level  slog.Level // the log level
}

// The proxy's refusals. A caller's mistakes log at info, refusals that say
// something about the pool or an attack at warn, failures of what the
// proxy depends on at error.
var (
	refuseUnknownKey  = refusal{"unknown-key", "unknown key", 401, "authentication_error", slog.LevelWarn}
	refuseNotFound    = refusal{"not-found", "path not served", 404, "not_found_error", slog.LevelInfo}
	refuseMethod      = refusal{"method", "method not allowed", 405, "invalid_request_error", slog.LevelInfo}
	refuseBodyTimeout = refusal{"body-timeout", "body not received in time", 408, "timeout_error", slog.LevelInfo}
	refuseNoLength    = refusal{"no-length", "no Content-Length", 411, "invalid_request_error", slog.LevelInfo}
	refuseTooLarge    = refusal{"too-large", "body too large", 413, "request_too_large", slog.LevelInfo}
	refuseBadBody     = refusal{"bad-body", "body could not be read", 400, "invalid_request_error", slog.LevelInfo}
	refuseCapped      = refusal{"capped", "caller's cap spent", 429, "billing_error", slog.LevelInfo}
	refuseRateLimited = refusal{"rate-limited", "caller over its rate limit", 429, "rate_limit_error", slog.LevelInfo}
	refuseExhausted   = refusal{"exhausted", "pool exhausted", 429, "rate_limit_error", slog.LevelWarn}
	refuseStoreDown   = refusal{"store-unavailable", "the pool's store is unavailable", 503, "api_error", slog.LevelError}
	refuseStoreFailed = refusal{"store-failed", "the pool's store failed", 500, "api_error", slog.LevelError}
	refuseBadRate     = refusal{"bad-rate", "caller's rate limit not valid", 500, "api_error", slog.LevelError}
	refusePoolClosed  = refusal{"pool-closed", "the pool is closed", 503, "api_error", slog.LevelWarn}
	refuseUnreachable = refusal{"upstream-unreachable", "upstream unreachable", 502, "api_error", slog.LevelWarn}
)

// refusalLog logs refusals: the first of a kind for a caller at once, with
// what the caller was told and why; later ones of that kind and caller are
// counted, and a line says how many there were since the last line, at
// most one per interval — when the next comes after the interval, or when
// a timer fires an interval after the first one counted. A line names the
// kind, the status, the caller's ID (never its key) and the count.
type refusalLog struct {
	log   *slog.Logger
	now   func() time.Time
	every time.Duration

	mu    sync.Mutex
	seen  map[refusalKey]*refusalCount
	armed bool // a flush is due
	// totals counts every refusal by kind and caller since the log began
	// (Proxy.CallerRefusals), for at most maxRefusalTotals pairs.
	totals map[refusalKey]int64
}

// maxRefusalTotals bounds the kinds and callers whose refusals a Proxy
// counts: some 3,800 callers refused for every reason. A pair beyond it is
// logged, not counted.
const maxRefusalTotals = 1 << 16

type refusalKey struct{ kind, caller string }

// refusalCount is what is known of a kind and caller since its last line.
type refusalCount struct {
	r     refusal
	since time.Time // the last line's time
	n     int64     // the refusals counted since, not yet logged
}

func newRefusalLog(log *slog.Logger, now func() time.Time, every time.Duration) *refusalLog {
	return &refusalLog{log: log, now: now, every: every, seen: make(map[refusalKey]*refusalCount),
		totals: make(map[refusalKey]int64)}
}

// add logs (or counts) a refusal of r for caller ("" when the caller is not
// known): msg is what the caller was told, detail more of why; neither may
// hold a key or a prompt.
func (l *refusalLog) add(ctx context.Context, r refusal, caller, msg string, detail ...slog.Attr) {
	now := l.now()
	key := refusalKey{r.kind, caller}
	l.mu.Lock()
	if n, ok := l.totals[key]; ok || len(l.totals) < maxRefusalTotals {
		l.totals[key] = n + 1
	}
	c := l.seen[key]
	switch {
	case c == nil:
		l.seen[key] = &refusalCount{r: r, since: now}
		l.mu.Unlock()
		attrs := append([]slog.Attr{slog.String("message", safetext.Clip(msg, 300))}, detail...)
		l.line(ctx, r, caller, 1, time.Time{}, attrs...)
	case now.Sub(c.since) >= l.every:
		n, since := c.n+1, c.since
		c.n, c.since = 0, now
		l.mu.Unlock()
		l.line(ctx, r, caller, n, since)
	default:
		c.n++
		arm := !l.armed
		l.armed = true
		l.mu.Unlock()
		if arm {
			time.AfterFunc(l.every, l.flush)
		}
	}
}

// flush logs the refusals counted and not yet logged, and forgets the
// kinds and callers with nothing to log.
func (l *refusalLog) flush() {
	type due struct {
		key   refusalKey
		c     refusalCount
		since time.Time
	}
	now := l.now()
	var lines []due
	l.mu.Lock()
	l.armed = false
	for k, c := range l.seen {
		switch {
		case c.n > 0:
			lines = append(lines, due{k, *c, c.since})
			c.n, c.since = 0, now
		case now.Sub(c.since) >= l.every:
			delete(l.seen, k) // the next one is a first again
		}
	}
	l.mu.Unlock()
	for _, d := range lines {
		l.line(context.Background(), d.c.r, d.key.caller, d.c.n, d.since)
	}
}

// line writes a line: count refusals of r for caller since since (zero for
// the first).
func (l *refusalLog) line(ctx context.Context, r refusal, caller string, count int64, since time.Time, more ...slog.Attr) {
	attrs := make([]slog.Attr, 0, 6+len(more))
	attrs = append(attrs, slog.String("kind", r.kind), slog.Int("status", r.status))
	if caller != "" {
		attrs = append(attrs, slog.String("caller", caller))
	}
	attrs = append(attrs, slog.Int64("count", count))
	if !since.IsZero() {
		attrs = append(attrs, slog.Time("since", since))
	}
	l.log.LogAttrs(ctx, r.level, "authpool proxy: "+r.what, append(attrs, more...)...)
}

// FlushRefusals logs the refusals the Proxy counted and has not logged
// yet, as its timer does a LogEvery after the first it counted: call it
// once the http.Server serving the Proxy has shut down, so that the last
// ones are logged before the host stops rather than by a timer after.
func (p *Proxy) FlushRefusals() {
	p.once.Do(p.init)
	p.refusals.flush()
}

// CallerRefusals returns how many requests of each known caller the Proxy
// refused since it started, by reason: the kind its log names, with '_' in
// place of '-' (capped, cap_busy, rate_limited, exhausted, too_large, ...).
// Refusals of no known caller (an unknown key) are not among them. The
// counts are this Proxy's: proxies sharing a store each count their own.
// Ordered by caller, then reason. Give it to a callerreport.Source
// (Refusals) for the metrics and the admin API. Safe for concurrent use.
func (p *Proxy) CallerRefusals() []callerreport.Refusal {
	p.once.Do(p.init)
	l := p.refusals
	l.mu.Lock()
	out := make([]callerreport.Refusal, 0, len(l.totals))
	for k, n := range l.totals {
		if k.caller != "" {
			out = append(out, callerreport.Refusal{Caller: k.caller, Reason: k.kind, Count: n})
		}
	}
	l.mu.Unlock()
	for i := range out {
		out[i].Reason = strings.ReplaceAll(out[i].Reason, "-", "_")
	}
	slices.SortFunc(out, func(a, b callerreport.Refusal) int {
		return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}
