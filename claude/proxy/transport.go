package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
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
		rt.sending(a.SubscriptionID)
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
