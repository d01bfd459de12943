package proxy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/internal/bounds"
)

// DefaultUpstream is the Anthropic API.
const DefaultUpstream = "https://api.anthropic.com"

// DefaultMaxBody caps a request's body: Claude's own limit on a Messages
// request is 32 MB.
const DefaultMaxBody = 32 << 20

// Proxy is an http.Handler that stands in for the Anthropic API in front of
// the pool: point Claude Code (ANTHROPIC_BASE_URL) or an Anthropic SDK at it
// and each request goes to Claude on the subscription the pool gives its
// caller, with the subscription's credential, its usage recorded, its
// failures classified and failed over (see Transport, which does the
// forwarding).
//
// A caller is known by the key it sends (x-api-key, or Authorization:
// Bearer): Identify maps it to a caller, by default through Callers; an
// unknown key gets 401 in Anthropic's error shape. Requests with the same
// X-Claude-Code-Session-Id stick together: the pool's client is the caller
// and its session. A request without a session is the caller's own client,
// unless the caller is configured Sessionless: "spread"
// (SessionlessSpread): then each such request is a client of its
// own, placed for that request alone and released when its response ends,
// once its usage is recorded. Only POST /v1/messages and
// /v1/messages/count_tokens pass; SSE streams are flushed event by event
// (each write of an answer carries what is new: its headers go with its
// first event, its last event with its end).
// The upstream's own rate-limit headers never reach the caller; a caller
// with a cap is told its own standing in the anthropic-ratelimit-unified-*
// headers, and gets 429 when its cap (billing_error, with the headers that
// make Claude Code say "You've hit your limit") or the pool
// (rate_limit_error) is spent; docs/proxy.md shows each answer and what
// Claude Code makes of it.
//
// Rate limits are per caller, not per pool client: all of a caller's
// requests, whatever their session, take from one token bucket, keyed by
// the caller's ID, whose limit is the caller's Rate when set, else
// DefaultRate. A request is counted once, when it comes in, before the pool
// is asked for a subscription (a fail-over is not counted again); one over
// the limit gets 429 rate_limit_error with retry-after and x-should-retry
// by the rule of the pool's other refusals, and the pool never hears of
// it. Buckets are kept in memory, per Proxy, on the Transport's clock, and
// dropped once full again, so memory follows the callers recently active.
//
// A body must arrive within BodyTimeout, and is read into a buffer that
// grows with what arrives, never on the word of Content-Length alone: a
// caller that declares 32 MB and sends a byte a second holds a few
// kilobytes, and gets 408 when its time is up. Each write of the answer
// must complete within WriteTimeout (a caller that stops reading is cut),
// while the answer itself may stream as long as it lasts. Both deadlines
// are set on the connection (http.ResponseController). Serve a Proxy from
// an http.Server with ReadHeaderTimeout and IdleTimeout, and without a
// WriteTimeout, which would bound the whole answer and cut long streams
// (a ReadTimeout does no harm: net/http lifts it once the body is read);
// docs/proxy.md shows one.
//
// When the pool cannot place a request for a reason of its own, the
// caller gets 503 api_error with retry-after when the pool's store is
// unavailable (store.ErrUnavailable) or the pool closed, and 500 api_error
// with x-should-retry: false when the store failed otherwise (Redis out of
// memory, say); 502 api_error is for an upstream that cannot be reached.
// Whatever an upstream's error says, the credential the request was sent
// with and the callers' keys are taken out of it (see Transport) before the
// caller, a log or the pool hear it.
//
// Every refusal is logged, at a bounded rate: the first of a kind for a
// caller at once, then at most a line per LogEvery counting the others,
// naming the kind, the status, the caller's ID (never its key) and the
// count.
//
// Shut the http.Server serving it down with Server.Shutdown: in-flight
// streams finish; then FlushRefusals logs the refusals still counted. A Proxy is safe for concurrent use; its fields must not
// change once it serves.
type Proxy struct {
	// Transport forwards the requests; its Pool is the pool. Required.
	Transport *Transport
	// Upstream is where requests go. The default is DefaultUpstream.
	Upstream *url.URL
	// Identify returns the caller a request's key belongs to. The default
	// looks the key up in Callers.
	Identify func(key string) (Caller, bool)
	// Callers are the callers the default Identify knows (New checks them
	// with ValidateCallers).
	Callers []Caller
	// Stored, when set, knows the callers kept in a store: a key that
	// Identify (or Callers) does not know is looked up there, and those
	// callers' caps are held, and their usage counted, in the store (see
	// StoreCallers).
	Stored *StoreCallers
	// DefaultRate is the rate limit of callers without a Rate of their
	// own. The default, nil, is no limit. It must pass RateLimit.Validate:
	// a request it would apply to is otherwise answered 500 api_error.
	DefaultRate *RateLimit
	// MaxBody caps a request's body (413 beyond). The default is
	// DefaultMaxBody.
	MaxBody int64
	// AllowChunked accepts requests without Content-Length (chunked); the
	// default refuses them with 411, so that the body cap is known up front.
	AllowChunked bool
	// BodyTimeout is how long a request's body may take to arrive, from
	// when the proxy starts reading it; a caller still sending then gets
	// 408 timeout_error and its connection is closed. The default is
	// DefaultBodyTimeout; a negative value sets no deadline (the server's
	// ReadTimeout then bounds the body, if it has one).
	BodyTimeout time.Duration
	// WriteTimeout is how long one write of an answer may block — a
	// caller that stops reading — before the answer is cut: from half of
	// it to all of it. It bounds each write, not the answer: a stream
	// lasts as long as it lasts. The default is DefaultWriteTimeout; a
	// negative value sets none.
	WriteTimeout time.Duration
	// Logger logs refused requests (at a bounded rate: see LogEvery),
	// upstream and store errors, and ReverseProxy's own errors. The
	// default discards.
	Logger *slog.Logger
	// LogEvery is how often, at most, the refusals of one kind for one
	// caller are logged after the first: one line per interval counts
	// them. The default is DefaultLogEvery.
	LogEvery time.Duration
	// OnDone, when set, is called once for every request the proxy serves,
	// when it is done with it (its usage recorded), with the request and
	// what the proxy learned of it (see Done): for a request log. It runs
	// on the request's goroutine, before ServeHTTP returns.
	OnDone func(r *http.Request, d Done)

	once         sync.Once
	maxBody      int64
	bodyTimeout  time.Duration
	writeTimeout time.Duration
	log          *slog.Logger
	refusals     *refusalLog
	redact       safetext.Redactor // every caller's key
	caps         *capLedger
	rates        *rateLimiter
	known        map[[32]byte]Caller
	proxy        *httputil.ReverseProxy
	buffers      copyBuffers
	spread       spreadIDs
}

// New returns a proxy for the pool's transport t that serves the callers
// (a config file's: configfile.File.Callers), to the upstream
// (DefaultUpstream when empty). Callers that ValidateCallers refuses are
// refused with every problem at once, as a *authpool.ConfigError from
// "claude: proxy".
func New(t *Transport, callers []Caller, upstream string) (*Proxy, error) {
	if upstream == "" {
		upstream = DefaultUpstream
	}
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("claude: proxy: upstream %q is not an absolute URL", upstream)
	}
	if t == nil || t.Pool == nil {
		return nil, errors.New("claude: proxy: a Transport with a Pool is required")
	}
	if errs := callerProblems(callers); len(errs) > 0 {
		return nil, &authpool.ConfigError{Source: "claude: proxy", Problems: errs}
	}
	return &Proxy{Transport: t, Upstream: u, Callers: callers}, nil
}

// Format prints the proxy as a summary for every fmt verb: its upstream and
// the number of callers. fmt would otherwise print the callers' keys, which
// it reaches through unexported fields where their redacting Format is not
// called.
func (p *Proxy) Format(f fmt.State, _ rune) {
	if p == nil {
		_, _ = io.WriteString(f, "proxy.Proxy(nil)")
		return
	}
	upstream := ""
	if p.Upstream != nil {
		upstream = p.Upstream.Redacted()
	}
	_, _ = fmt.Fprintf(f, "proxy.Proxy{upstream: %q, callers: %d}", upstream, len(p.Callers))
}

// init builds what the proxy needs from its fields, once.
func (p *Proxy) init() {
	p.maxBody = cmp.Or(p.MaxBody, DefaultMaxBody)
	p.bodyTimeout = cmp.Or(p.BodyTimeout, DefaultBodyTimeout)
	p.writeTimeout = cmp.Or(p.WriteTimeout, DefaultWriteTimeout)
	p.log = p.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.refusals = newRefusalLog(p.log, p.Transport.now, cmp.Or(p.LogEvery, DefaultLogEvery))
	p.known = make(map[[32]byte]Caller, len(p.Callers))
	keys := make([]string, 0, len(p.Callers))
	for _, c := range p.Callers {
		p.known[sha256.Sum256([]byte(c.Key.Reveal()))] = c
		keys = append(keys, c.Key.Reveal())
	}
	p.redact = safetext.NewRedactor(keys...)
	p.caps = newCapLedger()
	p.rates = newRateLimiter()
	target := p.Upstream
	if target == nil {
		target, _ = url.Parse(DefaultUpstream)
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			r.Out.Header.Del("X-Api-Key") // the caller's key goes no further
			r.Out.Header.Del("Authorization")
		},
		// SSE, and any response of unknown length, is flushed as it comes
		// (ReverseProxy's rule; answerWriter skips the flushes that would
		// send nothing new); a JSON answer of known length is written once,
		// whole.
		FlushInterval: 0,
		BufferPool:    &p.buffers,
		// What ReverseProxy logs itself (a body copy that failed) goes to
		// the proxy's log, not the standard logger.
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.once.Do(p.init)
	server := w
	aw := &answerWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: p.writeTimeout}
	w = aw
	who := p.identifyAny(r)
	caller, key, ok := who.caller, who.key, who.ok
	done := p.starting(caller.ID)
	defer p.finish(r, done)
	path := r.URL.Path
	if path != "/v1/messages" && path != "/v1/messages/count_tokens" {
		p.refuse(w, r, refuseNotFound, caller.ID, fmt.Sprintf(
			"authpool proxy: %s is not served here: only POST /v1/messages and /v1/messages/count_tokens", safetext.Clip(path, 200)))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		p.refuse(w, r, refuseMethod, caller.ID, fmt.Sprintf("authpool proxy: %s %s: use POST", safetext.Clip(r.Method, 20), path))
		return
	}
	if who.err != nil {
		p.callerStoreError(w, r, "", who.err)
		return
	}
	if !ok {
		w.Header().Set("X-Should-Retry", "false")
		p.refuse(w, r, refuseUnknownKey, "",
			"authpool proxy: unknown key: send the key this proxy gave you as x-api-key or a bearer token")
		return
	}
	switch {
	case r.ContentLength < 0 && !p.AllowChunked:
		p.refuse(w, r, refuseNoLength, caller.ID, "authpool proxy: a request needs a Content-Length")
		return
	case r.ContentLength > p.maxBody:
		p.refuse(w, r, refuseTooLarge, caller.ID,
			fmt.Sprintf("authpool proxy: the body is %d bytes, more than %d", r.ContentLength, p.maxBody))
		return
	}
	body, err := p.readBody(server, r) // MaxBytesReader tells the server's own writer to close the connection
	if err != nil {
		p.bodyError(w, r, caller.ID, err)
		return
	}
	adm, ok := p.admit(w, r, who)
	if !ok {
		return
	}
	defer adm.release()
	if p.overRate(w, r, caller, p.Transport.now()) {
		return
	}
	rt := &route{client: caller.ID, model: modelField(body), caller: caller, key: key, redact: p.redact, adm: adm, done: done}
	aw.ended = &rt.ended
	session := usableSession(r.Header.Get("X-Claude-Code-Session-Id"))
	switch {
	case session != "":
		rt.client += "/" + session
	case caller.Sessionless == SessionlessSpread:
		// A client for this request alone, gone once its response is: by
		// then (ReverseProxy closes the body before it returns) the
		// response's usage is recorded.
		rt.client += "/" + p.spread.next()
		defer p.release(r.Context(), rt.client)
	}
	done.routed(rt, session)
	rt.spent = done.noting(adm.spent())
	out := r.WithContext(r.Context()) // a shallow copy, with the body read
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	p.serve(w, out, rt)
}

// usableSession returns the request's session s when the pool takes it
// after the caller's ID in a client ID (at most 128 bytes of printable
// text; a caller's ID is at most 64), else "": the request is then served
// as one that names no session, rather than refused by the pool.
func usableSession(s string) string {
	if len(s) > 128 || bounds.CheckText("session", s, true) != nil {
		return ""
	}
	return s
}

// identify returns the caller of a request, and the key it is known by.
func (p *Proxy) identify(r *http.Request) (Caller, string, bool) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = bearerToken(r.Header)
	}
	if key == "" {
		return Caller{}, "", false
	}
	if p.Identify != nil {
		c, ok := p.Identify(key)
		return c, key, ok
	}
	c, ok := p.known[sha256.Sum256([]byte(key))] // compared by hash: no key's bytes are looked at twice
	return c, key, ok
}

// modifyResponse strips the upstream's rate-limit headers and adds the
// caller's own standing.
func (p *Proxy) modifyResponse(resp *http.Response, rt *route) error {
	rt.heard()
	if rt.owned {
		// The Transport's own 429: its headers are the pool's.
		p.refusals.add(resp.Request.Context(), rt.own.refusal, rt.caller.ID, rt.own.msg)
		return nil
	}
	for k := range resp.Header {
		if len(k) >= len(ratelimitPrefix) && strings.EqualFold(k[:len(ratelimitPrefix)], ratelimitPrefix) {
			delete(resp.Header, k)
		}
	}
	if st, ok := rt.adm.standing(p.Transport.now()); ok {
		st.headers(resp.Header)
	}
	return nil
}

// dollars formats an amount of US dollars with cents, more digits only when
// it has them: 40.00, 0.085.
func dollars(usd float64) string {
	if cents := usd * 100; cents == math.Trunc(cents) {
		return strconv.FormatFloat(usd, 'f', 2, 64)
	}
	return strconv.FormatFloat(usd, 'f', -1, 64)
}

// copyBuffers lends ReverseProxy the buffers it copies responses with,
// which would otherwise be 32 KiB of garbage a request.
type copyBuffers struct{ pool sync.Pool }

type copyBuffer = [32 << 10]byte

func (c *copyBuffers) Get() []byte {
	if b, ok := c.pool.Get().(*copyBuffer); ok {
		return b[:]
	}
	return new(copyBuffer)[:]
}

func (c *copyBuffers) Put(b []byte) {
	if len(b) == len(copyBuffer{}) {
		c.pool.Put((*copyBuffer)(b))
	}
}
