package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/authpool/authpool/claude/proxy"
)

// requestLog logs one line per proxied request: who sent it, where it
// went, what it used and how long it took. The proxy tells it what it
// learned (proxy.Proxy.OnDone); the status and the total time it sees
// itself. No line holds a key, a credential or a prompt: only IDs, the
// model, numbers and times.
type requestLog struct {
	log *slog.Logger
}

// entryKey finds a request's entry in its context.
type entryKey struct{}

// entry is what the proxy said of one request.
type entry struct{ done proxy.Done }

// onDone is the proxy's OnDone: it keeps d in the request's entry.
func (l *requestLog) onDone(r *http.Request, d proxy.Done) {
	if e, ok := r.Context().Value(entryKey{}).(*entry); ok {
		e.done = d
	}
}

// wrap serves next, the proxy, and logs each request it served.
func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := &entry{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), entryKey{}, e)))
		l.line(r, sw.status, e, time.Since(start))
	})
}

// line logs one request: at warn for a 5xx, info otherwise.
func (l *requestLog) line(r *http.Request, status int, e *entry, total time.Duration) {
	d := e.done
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("path", r.URL.Path),
		slog.String("caller", d.Caller),
		slog.String("session", d.Session),
		slog.String("subscription", d.Subscription),
		slog.String("model", d.Model),
		slog.Int("status", status),
		slog.Int("attempts", d.Attempts),
	}
	if u := d.Usage; u != nil {
		attrs = append(attrs,
			slog.Group("tokens", slog.Int64("input", u.Tokens.Input), slog.Int64("output", u.Tokens.Output),
				slog.Int64("cacheWrite", u.Tokens.CacheWrite), slog.Int64("cacheRead", u.Tokens.CacheRead)),
			slog.Float64("costUSD", u.CostUSD))
	} else {
		attrs = append(attrs, slog.Group("tokens", slog.Int64("input", 0), slog.Int64("output", 0),
			slog.Int64("cacheWrite", 0), slog.Int64("cacheRead", 0)), slog.Float64("costUSD", 0))
	}
	attrs = append(attrs, slog.Float64("upstreamMs", ms(d.Upstream)), slog.Float64("totalMs", ms(total)))
	l.log.LogAttrs(context.WithoutCancel(r.Context()), level, "request", attrs...)
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// statusWriter keeps the status written through it. It unwraps for
// http.ResponseController, which the proxy uses for its deadlines and
// flushes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 { // not an informational 1xx
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes the server's writer (http.ResponseController's way).
func (w *statusWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush flushes the server's writer (http.Flusher's way).
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the server's ResponseWriter.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
