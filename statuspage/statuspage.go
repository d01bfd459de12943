package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
)

// Source is what the page shows: a Snapshot of the pool. *authpool.Pool is
// one; tests give fixed snapshots. The Handler calls Snapshot once per
// request, concurrently when requests are, with a context that ends at the
// timeout.
type Source interface {
	Snapshot(ctx context.Context, opts ...authpool.SnapshotOption) (authpool.Snapshot, error)
	// Stats gives the pool's counters; the page shows its duplicate
	// usages and what became of its notifications.
	Stats() authpool.Stats
}

var _ Source = (*authpool.Pool)(nil)

// Defaults of the options.
const (
	// DefaultRefresh is how often the page reloads itself.
	DefaultRefresh = 15 * time.Second
	// DefaultTimeout bounds the snapshot one request reads.
	DefaultTimeout = 5 * time.Second
)

// Handler serves a Source's snapshot: as JSON when the query has
// format=json, or without a format query when the Accept header prefers
// application/json to text/html; as the HTML page otherwise (format=html
// asks for it explicitly). It answers GET and HEAD only (405 with Allow
// otherwise), 400 to an unknown format, and 503 with a plain message when
// the snapshot fails or takes longer than the timeout. Every answer carries
// Cache-Control: no-store and a Content-Security-Policy that allows the
// page's own style sheet and nothing else.
//
// Handler is safe for concurrent use by multiple goroutines. Mount it at any
// path: it serves the same answer at every path it is given.
type Handler struct {
	src     Source
	refresh time.Duration
	timeout time.Duration
	log     *slog.Logger
	csp     string
	callers CallerSource // nil without WithCallers
}

// Option configures a Handler.
type Option func(*Handler)

// WithRefresh sets how often the HTML page reloads itself; d <= 0 turns
// reloading off. The default value is DefaultRefresh. It is rounded up to
// whole seconds.
func WithRefresh(d time.Duration) Option { return func(h *Handler) { h.refresh = d } }

// WithTimeout bounds the time one request may spend reading the snapshot;
// past it the answer is 503. d <= 0 means the default, DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.timeout = d
		}
	}
}

// WithLogger sets the logger that records failed snapshots (at Warn, with
// the error). The default discards.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// New returns a Handler serving src's snapshots.
func New(src Source, opts ...Option) *Handler {
	h := &Handler{src: src, refresh: DefaultRefresh, timeout: DefaultTimeout}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256([]byte(pageCSS))
	h.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return h
}

// The formats the handler serves.
const (
	formatHTML = "html"
	formatJSON = "json"
)

// ServeHTTP answers a request for the status (see Handler).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Vary", "Accept")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		plain(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("statuspage: method %s not allowed: use GET or HEAD", r.Method))
		return
	}
	format, err := negotiate(r)
	if err != nil {
		plain(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	snap, err := h.src.Snapshot(ctx)
	if err != nil {
		h.log.WarnContext(r.Context(), "statuspage: snapshot failed", "error", err)
		plain(w, r, http.StatusServiceUnavailable, "statuspage: the pool's status is unavailable right now; try again shortly")
		return
	}
	var reports []callerreport.Report
	var callersErr error
	if h.callers != nil {
		if reports, callersErr = h.callers.Reports(ctx); callersErr != nil {
			h.log.WarnContext(r.Context(), "statuspage: reading the callers failed", "error", callersErr)
		}
	}
	var body bytes.Buffer
	switch format {
	case formatJSON:
		// Compact: a pool of 10,000 sessions writes 3 MB rather than 4.6, in
		// half the time (BenchmarkRender); jq indents it for people.
		var v any = snap
		if h.callers != nil {
			wc := withCallers{Snapshot: snap, Callers: reports}
			if callersErr != nil {
				wc.CallersError = callersUnavailable
			}
			v = wc
		}
		err = json.NewEncoder(&body).Encode(v)
		hdr.Set("Content-Type", "application/json")
	default:
		p := newPage(snap, h.src.Stats(), h.refresh)
		if h.callers != nil {
			p.addCallers(reports, callersErr, snap.Time)
		}
		err = pageTemplate.Execute(&body, p)
		hdr.Set("Content-Type", "text/html; charset=utf-8")
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "statuspage: rendering failed", "format", format, "error", err)
		hdr.Del("Content-Type")
		plain(w, r, http.StatusInternalServerError, "statuspage: the status could not be rendered")
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
}

// plain writes a one-line text answer (headers only for HEAD).
func plain(w http.ResponseWriter, r *http.Request, status int, msg string) {
	msg += "\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(msg))
	}
}

// negotiate returns the format a request asks for: its format query when
// it has one, else what its Accept header prefers.
func negotiate(r *http.Request) (string, error) {
	q := r.URL.Query()
	if q.Has("format") {
		switch f := q.Get("format"); f {
		case formatHTML, formatJSON:
			return f, nil
		default:
			return "", fmt.Errorf("statuspage: unknown format %q: use html or json", f)
		}
	}
	if preferJSON(r.Header.Values("Accept")) {
		return formatJSON, nil
	}
	return formatHTML, nil
}

// preferJSON reports whether Accept headers rank application/json above
// text/html. A wildcard counts for HTML (browsers send one), and so does a
// tie.
func preferJSON(accept []string) bool {
	var html, js float64
	for _, line := range accept {
		for item := range strings.SplitSeq(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			switch mt {
			case "application/json":
				js = max(js, q)
			case "text/html", "text/*", "*/*":
				html = max(html, q)
			}
		}
	}
	return js > html
}
