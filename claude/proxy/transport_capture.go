package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/store"
)

// This file reads what a successful response says on its way to the
// caller: the windows its headers report, and the usage its body carries,
// recorded once when the body ends or is closed.

// maxCapture is the largest JSON response whose usage is read; larger ones
// pass through unrecorded (and logged).
const maxCapture = 4 << 20

// observe passes a successful response's reported windows to the pool.
func (t *Transport) observe(ctx context.Context, subscriptionID string, resp *http.Response, model string) {
	if !hasUnified(resp.Header) {
		return
	}
	now := t.now()
	v := claude.Classify(resp.StatusCode, resp.Header, nil, now)
	actx, cancel := afterCaller(ctx)
	defer cancel()
	if err := claude.Apply(actx, t.Pool, subscriptionID, v, model, now); err != nil {
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
		if c.rt != nil {
			c.rt.ended.Store(true)
		}
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
