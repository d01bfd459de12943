package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/store"
)

// OAuthBeta is the anthropic-beta value a request authenticated with a
// subscription's OAuth token must carry (docs/formats.md §0).
const OAuthBeta = "oauth-2025-04-20"

// Transport is an http.RoundTripper that sends each request to Claude on
// the subscription the pool gives its client:
//
//   - the client is the one WithClient put in the request's context, else the
//     value of the ClientHeader request header (removed before forwarding);
//   - it Allocates (ForModel the request's model when the body names one) and
//     sets the subscription's credential, replacing whatever the caller sent:
//     x-api-key for an API key, Authorization: Bearer and the OAuth beta for a
//     subscription's token;
//   - it records the response's usage with its message id as the usage ID,
//     read on the way through (an SSE stream is never buffered), when the
//     caller has read the body to its end or closed it;
//   - it classifies a failed response (claude.Classify) and tells the pool (claude.Apply);
//     when its kind fails over (claude.VerdictKind.FailsOver: a quota 429, the
//     subscription's or a model's, a throttle, a 529, a refused credential
//     or billing, which take the subscription out of service, and a 429
//     that names no limit, which does not) it sends the request again where
//     Allocate now puts the client, never on a subscription it already
//     tried (authpool.Elsewhere), up to MaxAttempts subscriptions in all,
//     while the request's body can be sent again (GetBody). It stops when
//     Allocate fails or gives a subscription already tried; the caller then
//     gets the last upstream answer, and the bodies of the answers left
//     behind are drained and closed. Other client errors and server errors
//     are not sent again;
//   - when the pool has no place for the client it answers 429 itself, in
//     Anthropic's error shape, saying which subscriptions refuse and why,
//     and when the first is expected back: retry-after (whole seconds)
//     whenever that is known, x-should-retry: true when it is within
//     RetryWithin, false beyond or when nothing comes back by itself (see
//     docs/proxy.md);
//   - an upstream's error reaches the caller, the pool (claude.Apply: a status
//     reason, an event) and the log with the credential the request was
//     sent with and the caller's key (the one a Proxy identified it by, and
//     every caller's it knows; else the x-api-key or bearer token the
//     caller sent) taken out, and whatever is shaped like a credential
//     (sk-ant-…, a bearer token, key=…): its body keeps its status,
//     headers and shape; one longer than 64 KiB, or encoded, is replaced by
//     an error of the same type saying so;
//   - when the pool cannot place the request for a reason of its own (its
//     store unavailable or failing, the pool closed) it returns the pool's
//     error (errors.Is(err, store.ErrUnavailable) holds for an outage); a
//     Proxy answers it 503 or 500.
//
// It never logs or returns a credential or a prompt. A Transport is safe for
// concurrent use; its fields must not change once it is in use.
type Transport struct {
	// Pool gives each request its subscription. Required.
	Pool *authpool.Pool
	// Base sends the requests. The default is a net/http Transport made by
	// NewBaseTransport: HTTP/2 to a TLS upstream, up to
	// DefaultMaxIdleConnsPerHost idle connections to a host, an HTTP proxy
	// from the environment.
	Base http.RoundTripper
	// ClientHeader names the request header that carries the client's ID
	// when the context does not. The default is none.
	ClientHeader string
	// Prices prices responses. The default is claude.DefaultPrices().
	Prices *claude.Prices
	// Rule is the long-context rule of Prices.Cost. The default is claude.PerRequest.
	Rule claude.TierRule
	// Clock reads the time of responses, and the time the pool's own 429s
	// count their retry-after from. The default is the pool's (Pool.Now).
	Clock func() time.Time
	// Logger logs what the pool could not be told. The default discards.
	Logger *slog.Logger
	// MaxAttempts caps the subscriptions one request is sent to: the first
	// and those it fails over to. The default is DefaultMaxAttempts; 1
	// never fails over.
	MaxAttempts int
	// RetryWithin is the longest wait the Transport's own 429s ask a client
	// to retry after with x-should-retry: true; a longer one says false
	// (with its retry-after). The default is DefaultRetryWithin, the
	// longest retry-after Claude Code waits for.
	RetryWithin time.Duration

	once    sync.Once
	pricing *claude.Prices    // Prices, or the default table
	sender  http.RoundTripper // Base, or the default
	heads   sync.Pool         // *[]byte: the head of a body while its model is looked for
}

type clientKey struct{}

// WithClient returns a context that makes Transport (and Proxy) send the
// request for the pool's client clientID.
func WithClient(ctx context.Context, clientID string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientID)
}

// ClientFrom returns the client ID WithClient put in ctx.
func ClientFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(clientKey{}).(string)
	return id, ok && id != ""
}

// DefaultMaxAttempts is how many subscriptions a request is sent to at
// most, by default: the first and two others.
const DefaultMaxAttempts = 3

// DefaultRetryWithin is the longest wait the pool's own 429s ask a client to
// retry after, by default: Claude Code 2.1.332 waits for a retry-after of
// 60 seconds and gives up at once beyond (docs/claude-code.md), so a longer
// wait is refused with x-should-retry: false rather than left to a client
// that would not wait anyway.
const DefaultRetryWithin = 60 * time.Second

// DefaultMaxIdleConnsPerHost is how many idle connections to one upstream
// NewBaseTransport keeps: enough for a proxy serving some hundred callers at
// once over HTTP/1.1 (an HTTP/2 upstream needs a few, each carrying many
// requests), where net/http's default of 2 would close and open a
// connection for nearly every request.
const DefaultMaxIdleConnsPerHost = 256

// NewBaseTransport returns the net/http Transport a Transport sends with
// when its Base is nil: HTTP/2 to a TLS upstream (ALPN, as
// http.DefaultTransport), HTTP/1.1 otherwise, up to
// DefaultMaxIdleConnsPerHost idle connections to a host, each kept 90 s,
// the HTTP proxy of the environment (HTTPS_PROXY, NO_PROXY), dials bounded
// by 30 s and TLS handshakes by 10 s, and an HTTP/2 connection that goes
// quiet for 30 s pinged and closed when it does not answer in 15 s. It sets
// no bound on the wait for a response's header: a message that is not
// streamed comes only when it is complete, minutes later for a long one;
// the request's context bounds it. Each call returns a new Transport: tune
// one and set it as Base.
func NewBaseTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   DefaultMaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
	}
}

// maxErrorBody is how much of a failed response's body is read to classify
// and redact it; a longer one is not passed on (see fail).
const maxErrorBody = 64 << 10

// maxCapture is the largest JSON response whose usage is read; larger ones
// pass through unrecorded (and logged).
const maxCapture = 4 << 20

// RoundTrip implements http.RoundTripper: the request's client is the one
// WithClient put in its context, else its ClientHeader; its model is the
// one its body names.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req, nil)
}

// roundTrip sends req for the client of rt, a Proxy's route, or, with a nil
// rt, for the client RoundTrip finds in the request itself.
func (t *Transport) roundTrip(req *http.Request, rt *route) (*http.Response, error) {
	ctx := req.Context()
	var clientID, model string
	fromProxy := rt != nil
	if fromProxy {
		clientID, model = rt.client, rt.model
	} else {
		var ok bool
		if clientID, ok = ClientFrom(ctx); !ok && t.ClientHeader != "" {
			clientID = req.Header.Get(t.ClientHeader)
		}
		if clientID == "" {
			return nil, errors.New("claude: transport: no client: use WithClient, or set Transport.ClientHeader")
		}
		model = t.requestModel(req)
	}
	var opts []authpool.AllocateOption
	if model != "" {
		opts = append(opts, authpool.ForModel(model))
	}
	var tried []string // the subscriptions the request failed on
	var last *http.Response
	for attempt := 0; ; attempt++ {
		allocOpts := opts
		if attempt > 0 {
			// Once more, elsewhere.
			allocOpts = append(opts[:len(opts):len(opts)], authpool.Elsewhere(tried...))
		}
		a, err := t.Pool.Allocate(ctx, clientID, allocOpts...)
		if attempt > 0 {
			if err != nil || slices.Contains(tried, a.SubscriptionID) {
				return last, nil // nowhere else: the upstream's answer stands
			}
			drain(last)
		}
		var ex *authpool.ExhaustedError
		switch {
		case errors.As(err, &ex):
			resp, own := exhaustedResponse(req, ex, t.now(), t.retryWithin())
			rt.answered(own)
			return resp, nil
		case err != nil:
			return nil, &poolError{fmt.Errorf("claude: transport: %w", err)}
		}
		// A Proxy's request is its own copy (ReverseProxy's): the first
		// attempt edits it in place rather than copy it again.
		out, err := outgoing(req, a, t.ClientHeader, attempt, fromProxy && attempt == 0)
		if err != nil {
			return nil, err
		}
		resp, err := t.base().RoundTrip(out)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 400 {
			t.observe(ctx, a.SubscriptionID, resp, model)
			resp.Body = t.capture(ctx, req, resp, clientID, a, rt)
			return resp, nil
		}
		v := t.fail(ctx, requestRedactor(req, rt, a.Credential.Reveal()), a.SubscriptionID, resp, model)
		if !v.RetryElsewhere || req.GetBody == nil || attempt+1 >= t.maxAttempts() {
			return resp, nil
		}
		tried = append(tried, a.SubscriptionID)
		last = resp
	}
}

func (t *Transport) maxAttempts() int {
	if t.MaxAttempts > 0 {
		return t.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (t *Transport) retryWithin() time.Duration {
	if t.RetryWithin > 0 {
		return t.RetryWithin
	}
	return DefaultRetryWithin
}

// init makes the defaults of unset fields, once.
func (t *Transport) init() {
	t.pricing, t.sender = t.Prices, t.Base
	if t.pricing == nil {
		t.pricing = claude.DefaultPrices()
	}
	if t.sender == nil {
		t.sender = NewBaseTransport()
	}
}

func (t *Transport) base() http.RoundTripper {
	t.once.Do(t.init)
	return t.sender
}

func (t *Transport) now() time.Time {
	if t.Clock != nil {
		return t.Clock()
	}
	return t.Pool.Now()
}

func (t *Transport) log() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (t *Transport) prices() *claude.Prices {
	t.once.Do(t.init)
	return t.pricing
}

// outgoing returns the request as sent on a's subscription: a copy (or, in
// place, req itself) with the subscription's credential in place of the
// caller's. A retry gets a fresh body from GetBody.
func outgoing(req *http.Request, a authpool.Allocation, clientHeader string, attempt int, inPlace bool) (*http.Request, error) {
	out := req
	if !inPlace {
		out = req.Clone(req.Context())
	}
	if attempt > 0 {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("claude: transport: the body to send again: %w", err)
		}
		out.Body = body
	}
	if clientHeader != "" {
		out.Header.Del(clientHeader)
	}
	// The usage is read on the way through: let the base transport ask for
	// gzip itself, so that it hands over the body decoded.
	out.Header.Del("Accept-Encoding")
	cred := a.Credential.Reveal()
	betas := out.Header.Values("Anthropic-Beta")
	if a.Kind == authpool.KindAPI {
		out.Header.Del("Authorization")
		out.Header.Set("X-Api-Key", cred)
		if slices.ContainsFunc(betas, func(v string) bool { return strings.Contains(v, OAuthBeta) }) {
			// A caller logged in to a subscription asks for the OAuth beta;
			// an API key must not.
			if rest := withoutBeta(betas, OAuthBeta); rest != "" {
				out.Header.Set("Anthropic-Beta", rest)
			} else {
				out.Header.Del("Anthropic-Beta")
			}
		}
		return out, nil
	}
	out.Header.Del("X-Api-Key")
	out.Header.Set("Authorization", "Bearer "+cred)
	if rest := withoutBeta(betas, OAuthBeta); rest != "" {
		out.Header.Set("Anthropic-Beta", rest+","+OAuthBeta)
	} else {
		out.Header.Set("Anthropic-Beta", OAuthBeta)
	}
	return out, nil
}

// withoutBeta returns the anthropic-beta values joined, without beta.
func withoutBeta(values []string, beta string) string {
	var all []string
	for _, v := range values {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" && b != beta {
				all = append(all, b)
			}
		}
	}
	return strings.Join(all, ",")
}

// requestModel returns the model a request is for: the "model" of its JSON
// body, read from a copy of the body (GetBody) so that the request is
// untouched; "" when it does not say.
func (t *Transport) requestModel(req *http.Request) string {
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	buf, _ := t.heads.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 16<<10)
		buf = &b
	}
	defer t.heads.Put(buf)
	n, _ := io.ReadFull(body, *buf)
	return modelField((*buf)[:n])
}

// modelField finds the "model" member's string in a JSON object's text
// (the SDKs and Claude Code write it before the messages). An escaped
// "model" inside a string is not a member.
func modelField(b []byte) string {
	const key = `"model"`
	for from := 0; ; {
		i := bytes.Index(b[from:], []byte(key))
		if i < 0 {
			return ""
		}
		i += from
		from = i + len(key)
		if i > 0 && b[i-1] == '\\' {
			continue
		}
		rest := bytes.TrimLeft(b[from:], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '"' {
			continue
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 || end > 256 {
			return ""
		}
		return string(rest[1 : 1+end])
	}
}

// observe passes a successful response's reported windows to the pool.
func (t *Transport) observe(ctx context.Context, subscriptionID string, resp *http.Response, model string) {
	if !hasUnified(resp.Header) {
		return
	}
	now := t.now()
	v := claude.Classify(resp.StatusCode, resp.Header, nil, now)
	if err := claude.Apply(ctx, t.Pool, subscriptionID, v, model, now); err != nil {
		t.log().LogAttrs(ctx, slog.LevelWarn, "claude: telling the pool a response's limits failed",
			slog.String("subscription", subscriptionID), slog.String("error", err.Error()))
	}
}

// hasUnified reports whether a response carries the subscription's rate
// limit headers.
func hasUnified(h http.Header) bool {
	for k := range h {
		if len(k) > len(unifiedPrefix) && strings.EqualFold(k[:len(unifiedPrefix)], unifiedPrefix) { // canonical or not
			return true
		}
	}
	return false
}

// capture returns the response's body wrapped to read its usage on the way
// through, and to record it once when the body is read to its end or closed.
func (t *Transport) capture(ctx context.Context, req *http.Request, resp *http.Response, clientID string, a authpool.Allocation, rt *route) io.ReadCloser {
	c := &captured{t: t, rt: rt, ctx: context.WithoutCancel(ctx), req: req, cred: a.Credential.Reveal(),
		clientID: clientID, subscriptionID: a.SubscriptionID, body: resp.Body}
	if resp.Request != nil {
		c.oneShot = claude.OneShotRun(resp.Request.Header.Get("User-Agent"))
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.stream = claude.NewStreamReader(resp.Body)
	} else if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp.Body // nothing to record
	} else if n := resp.ContentLength; n > 0 && n <= maxCapture {
		c.json = make([]byte, 0, n) // the body's size is known: one buffer holds it
	}
	return c
}

// captured is a response body whose usage is recorded once.
type captured struct {
	t                        *Transport
	rt                       *route // the Proxy's, or nil
	ctx                      context.Context
	req                      *http.Request // as the caller sent it
	cred                     string        // the credential it was sent with
	clientID, subscriptionID string
	body                     io.ReadCloser
	stream                   *claude.StreamReader // SSE; nil for JSON
	json                     []byte               // JSON read so far, up to maxCapture
	tooBig                   bool
	oneShot                  bool // from a run that is over when it stops sending (claude.OneShotRun)
	once                     sync.Once
}

func (c *captured) Read(b []byte) (int, error) {
	var n int
	var err error
	if c.stream != nil {
		n, err = c.stream.Read(b)
	} else {
		n, err = c.body.Read(b)
		if !c.tooBig {
			if len(c.json)+n > maxCapture {
				c.tooBig, c.json = true, nil
			} else {
				c.json = append(c.json, b[:n]...)
			}
		}
	}
	if err == io.EOF {
		c.once.Do(func() { c.record(true) })
	}
	return n, err
}

func (c *captured) Close() error {
	c.once.Do(func() { c.record(false) })
	return c.body.Close()
}

// record records what the response used; complete says whether the body
// was read to its end.
func (c *captured) record(complete bool) {
	var mu claude.MessageUsage
	switch {
	case c.stream != nil:
		mu = c.stream.Usage()
		if err := c.stream.Err(); err != nil {
			var apiErr *claude.APIError
			if errors.As(err, &apiErr) {
				c.midStream(apiErr)
			}
		}
	case c.tooBig:
		c.t.log().LogAttrs(c.ctx, slog.LevelWarn, "claude: a response too large to read its usage passed unrecorded",
			slog.String("client", c.clientID), slog.String("subscription", c.subscriptionID))
		return
	case !complete:
		return // a JSON body not read to its end has no usage to read
	default:
		var err error
		if mu, err = claude.ParseMessage(c.json); err != nil {
			return // not a message (count_tokens), or an error body
		}
	}
	if mu.ID == "" || mu.Counts.Total() == 0 && mu.Counts.WebSearches == 0 {
		return
	}
	u, err := mu.Usage(c.t.prices(), c.t.Rule, c.t.now())
	if err != nil {
		c.t.log().LogAttrs(c.ctx, slog.LevelWarn, "claude: pricing a response failed; recording its tokens at no cost",
			slog.String("model", mu.Model), slog.String("error", err.Error()))
	}
	u.SubscriptionID = c.subscriptionID
	if c.oneShot {
		u.CacheTTL = 0 // its cache, even an hour's, outlives the run: no slot for it
	}
	if err := c.t.Pool.Record(c.ctx, c.clientID, u); err != nil {
		msg := "claude: recording a response's usage failed"
		if errors.Is(err, store.ErrUnavailable) {
			msg = "claude: the pool's store is unavailable: a response's usage was not recorded"
		}
		c.t.log().LogAttrs(c.ctx, slog.LevelWarn, msg,
			slog.String("client", c.clientID), slog.String("subscription", c.subscriptionID), slog.String("error", err.Error()))
	}
	if c.rt != nil && c.rt.spent != nil {
		c.rt.spent(u)
	}
}

// midStream tells the pool of an error event that ended a stream after its
// 200 (an overloaded upstream, say).
func (c *captured) midStream(apiErr *claude.APIError) {
	now := c.t.now()
	red := requestRedactor(c.req, c.rt, c.cred)
	body := errorBody(apiErr.Type, apiErr.Message)
	v := claude.Classify(http.StatusOK, nil, body, now).Redacted(red.String)
	if err := claude.Apply(c.ctx, c.t.Pool, c.subscriptionID, v, "", now); err != nil {
		c.t.log().LogAttrs(c.ctx, slog.LevelWarn, "claude: telling the pool of a stream's error failed",
			slog.String("subscription", c.subscriptionID), slog.String("error", safetext.Clip(red.String(err.Error()), 1024)))
	}
}
