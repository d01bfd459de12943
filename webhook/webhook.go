// Package webhook delivers a pool's events as signed JSON POSTs (New makes
// an authpool.Notifier) and checks their signatures on the receiving end
// (Verify). docs/notifications.md describes the payload and the retries.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// Notifier is an authpool.Notifier that POSTs each event, as a signed
// Payload, to a URL. Build one with New and give it to a pool with
// authpool.WithNotifier (package configfile does so for each webhook a
// config file names); the pool calls Notify from its delivery goroutine. It
// is safe for concurrent use by multiple goroutines. The
// zero value is not usable.
//
// Notify tries an event up to MaxAttempts times: again after a network
// error, a timed-out attempt, or a 408, 429 or 5xx response, waiting before
// each retry a random time up to MinBackoff doubled per retry and capped at
// MaxBackoff (full jitter), or, after a 429 or 503, what the receiver's
// Retry-After says (capped at MaxBackoff). Any 2xx response is success; any
// other response fails at once. Redirects are not followed: a redirect could
// send events elsewhere or in the clear.
type Notifier struct {
	// request makes the POST of a body to the URL: a func, which fmt
	// prints as an address, so a printed Notifier value shows no
	// token its URL holds (as sign hides the secret).
	request func(ctx context.Context, body []byte) (*http.Request, error)
	target  string // the URL's scheme and host, for errors and logs
	client  *http.Client
	sign    func(body []byte) string    // the signature header's value; holds the secret
	secret  authpool.Credential         // for Secrets only
	events  map[authpool.EventType]bool // nil means every type
	cfg     Config                      // with defaults applied, URL and Secret cleared

	// Replaced by tests.
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(bound time.Duration) time.Duration // a random duration in [0, bound]
	now    func() time.Time                        // reads Retry-After dates
}

var _ authpool.Notifier = (*Notifier)(nil)

// New returns a notifier that sends events as cfg says, after applying
// cfg's defaults. It returns a *authpool.ConfigError (matching
// authpool.ErrInvalidConfig) whose Source is "webhook" when cfg is not
// valid (see Config.Validate): no
// secret, a URL that is not https (or http to a loopback host), a bad
// number. client sends the requests (its Transport, Jar and Timeout are
// used; its CheckRedirect is not, redirects are never followed); nil means
// a new http.Client with the default transport.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil { // problems has parsed it already
		return nil, &authpool.ConfigError{Source: "webhook", Problems: []error{errors.New("/url: not a URL")}}
	}

	c := new(http.Client)
	if client != nil {
		*c = *client // a copy: the caller's client keeps its own CheckRedirect
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	secret := cfg.Secret
	key := []byte(secret.Reveal())
	cfg.Secret, cfg.URL = "", ""
	w := &Notifier{
		request: func(ctx context.Context, body []byte) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		},
		target: (&url.URL{Scheme: u.Scheme, Host: u.Host}).String(),
		client: c,
		sign:   func(body []byte) string { return signature(key, body) },
		secret: secret,
		cfg:    cfg,
		sleep:  sleepContext,
		jitter: randomJitter,
		now:    time.Now,
	}
	if len(cfg.Events) > 0 {
		w.events = make(map[authpool.EventType]bool, len(cfg.Events))
		for _, t := range cfg.Events {
			w.events[t] = true
		}
	}
	return w, nil
}

// String names the webhook by its URL's scheme and host, e.g. "webhook
// https://hooks.example.com", for logs. The path and query are left out:
// some receivers put a token in them.
func (w Notifier) String() string { return "webhook " + w.target }

// Format prints what String says, for every fmt verb, given a
// *Notifier or the value it points to: fmt would otherwise walk the
// notifier's fields, its HTTP client's live state among them.
func (w Notifier) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// Secrets returns the webhook's secret, so that a pool given the notifier
// (authpool.WithNotifier) scrubs it from the reasons it keeps, logs and
// reports, as it does its credentials. A Credential prints redacted.
func (w *Notifier) Secrets() []authpool.Credential { return []authpool.Credential{w.secret} }

// Notify sends e, unless the webhook's Events leave its type out (then it
// returns nil at once). It returns nil once the receiver answers 2xx, and an
// error when it answers another 4xx or 3xx (naming the status), when
// MaxAttempts attempts have failed (saying how many were made and how the
// last one failed), or when ctx ends first (wrapping ctx's error).
func (w *Notifier) Notify(ctx context.Context, e authpool.Event) error {
	if w.events != nil && !w.events[e.Type] {
		return nil
	}
	body, err := json.Marshal(Payload{Version: PayloadVersion, Event: eventInUTC(e)})
	if err != nil {
		return fmt.Errorf("authpool: %s: event %s: %w", w, e.ID, err)
	}
	sig := w.sign(body)
	for attempt := 1; ; attempt++ {
		res := w.attempt(ctx, e, body, sig)
		if res.err == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			if errors.Is(res.err, err) {
				return fmt.Errorf("authpool: %s: event %s: stopped during %s: %w", w, e.ID, ordinalAttempt(attempt), err)
			}
			return fmt.Errorf("authpool: %s: event %s: stopped after %s (last: %v): %w", w, e.ID, countAttempts(attempt), res.err, err)
		}
		if !res.retry {
			if attempt > 1 {
				return fmt.Errorf("authpool: %s: event %s not delivered: %s: %w", w, e.ID, ordinalAttempt(attempt), res.err)
			}
			return fmt.Errorf("authpool: %s: event %s not delivered: %w", w, e.ID, res.err)
		}
		if attempt >= w.cfg.MaxAttempts {
			return fmt.Errorf("authpool: %s: event %s not delivered: gave up after %s; last: %w", w, e.ID, countAttempts(attempt), res.err)
		}
		wait := res.retryAfter
		if wait < 0 {
			wait = w.jitter(backoffBound(attempt, time.Duration(w.cfg.MinBackoff), time.Duration(w.cfg.MaxBackoff)))
		}
		if err := w.sleep(ctx, wait); err != nil {
			return fmt.Errorf("authpool: %s: event %s: stopped waiting to retry after %s (last: %v): %w", w, e.ID, countAttempts(attempt), res.err, err)
		}
	}
}

// countAttempts returns "1 attempt" or "n attempts".
func countAttempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// ordinalAttempt returns "attempt n".
func ordinalAttempt(n int) string { return "attempt " + strconv.Itoa(n) }

// attemptResult is how one POST went.
type attemptResult struct {
	err   error // nil on success
	retry bool  // the failure is worth another attempt
	// retryAfter is the wait the receiver asked for with Retry-After,
	// capped at MaxBackoff; negative when it asked for none.
	retryAfter time.Duration
}

// attempt POSTs body once, within its own timeout under ctx.
func (w *Notifier) attempt(ctx context.Context, e authpool.Event, body []byte, sig string) attemptResult {
	timeout := time.Duration(w.cfg.Timeout)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := w.request(actx, body)
	if err != nil {
		return attemptResult{err: err, retryAfter: -1}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	req.Header.Set(webhookEventHeader, string(e.Type))
	req.Header.Set(webhookDeliveryHeader, e.ID)
	req.Header.Set(webhookSignatureHeader, sig)

	resp, err := w.client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, path and query and all, which may
		// hold a token; Notify's message names the host instead.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("attempt timed out after %v", timeout)
		}
		return attemptResult{err: err, retry: true, retryAfter: -1}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookDrainLimit))
	_ = resp.Body.Close()

	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return attemptResult{}
	}
	res := attemptResult{err: fmt.Errorf("status %s", resp.Status), retryAfter: -1}
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		res.retry = true
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), w.now()); ok {
				res.retryAfter = min(d, time.Duration(w.cfg.MaxBackoff))
			}
		}
	case code >= 300 && code <= 399:
		res.err = fmt.Errorf("status %s (redirects are not followed)", resp.Status)
	}
	return res
}

// backoffBound returns the longest wait before retry n (n >= 1, the retry
// after attempt n): min(maxB, minB * 2^(n-1)).
func backoffBound(n int, minB, maxB time.Duration) time.Duration {
	d := minB
	for i := 1; i < n && d < maxB; i++ {
		if d > maxB/2 {
			return maxB
		}
		d *= 2
	}
	return min(d, maxB)
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleepContext waits d, or until ctx ends (returning its error).
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// randomJitter returns a random duration in [0, bound].
func randomJitter(bound time.Duration) time.Duration {
	switch {
	case bound <= 0:
		return 0
	case bound == math.MaxInt64:
		return time.Duration(rand.Int64())
	}
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

// signature returns the X-Authpool-Signature of body under secret:
// "sha256=" and the lowercase hex HMAC-SHA256.
func signature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return webhookSignaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header, the value of a request's
// X-Authpool-Signature header, is the signature of body under secret:
// "sha256=" followed by the hex HMAC-SHA256 of body keyed by secret. It
// compares in constant time. body must be the request's exact bytes, read
// before any parsing. An empty secret verifies nothing.
func Verify(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexSum, ok := strings.CutPrefix(header, webhookSignaturePrefix)
	if !ok || len(hexSum) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), got)
}
