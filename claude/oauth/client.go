package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/authpool/authpool/claude/internal/safetext"
	"github.com/authpool/authpool/store"
)

// Client speaks Claude's OAuth: it starts logins, refreshes tokens and
// reads a subscription's usage. It keeps no tokens and is safe for
// concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	now  func() time.Time
	rand io.Reader
}

// An Option changes how a Client works.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc; nil is the
// default, an http.Client with a 30-second timeout that follows no
// redirect (a redirected token request would carry its secrets to the
// new address): a 3xx answer is an *HTTPError.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithClock gives the Client its clock, which turns expires_in into
// ExpiresAt and stamps usage reports; nil is time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRandom makes logins draw their code verifier and state from r
// instead of crypto/rand: for tests that need a fixed authorize URL, never
// for real logins.
func WithRandom(r io.Reader) Option { return func(c *Client) { c.rand = r } }

// requestTimeout bounds a request of the default http.Client.
const requestTimeout = 30 * time.Second

// New returns a Client of cfg, whose empty fields take their defaults
// (DefaultConfig). It refuses a Config that Validate refuses.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg.withDefaults()}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{
			Timeout:       requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	return c, nil
}

// Config returns the Client's configuration, defaults filled in.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	return cfg
}

// Limits on what the Client reads from an answer.
const (
	// maxBody is the most of a successful answer read: token and usage
	// answers are a few hundred bytes.
	maxBody = 1 << 20
	// maxErrorText is the most of an error answer an HTTPError keeps.
	maxErrorText = 512
)

// do sends req and returns the body of a 2xx answer. Any other answer is
// an *HTTPError whose text has the secrets taken out (and whatever looks
// like a credential). op names the operation in errors.
func (c *Client) do(req *http.Request, op string, secrets ...string) ([]byte, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", op, scrubError(err, secrets))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: reading the answer (HTTP %d): %w", op, resp.StatusCode, scrubError(err, secrets))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newHTTPError(op, resp.StatusCode, body, secrets)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("oauth: %s: the answer is larger than %d bytes", op, maxBody)
	}
	return body, nil
}

// postJSON posts v as JSON to url and returns the body of a 2xx answer.
func (c *Client) postJSON(ctx context.Context, url, op string, v any, secrets ...string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, op, secrets...)
}

// OAuthBeta is the anthropic-beta value that lets an OAuth access token
// call Anthropic's API, the usage and profile endpoints included.
const OAuthBeta = "oauth-2025-04-20"

// getBearer sends a GET to url with the access token and the OAuth beta,
// and returns the body of a 2xx answer.
func (c *Client) getBearer(ctx context.Context, url, op string, token store.Secret) ([]byte, error) {
	accessToken := token.Reveal()
	if accessToken == "" {
		return nil, fmt.Errorf("oauth: %s: the access token is empty", op)
	}
	if err := checkTokenText("the access token", accessToken); err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("anthropic-beta", OAuthBeta)
	return c.do(req, op, accessToken)
}

// scrubError returns err with the secrets taken out of its text (a
// transport error may quote what it was sending), keeping it for errors.Is
// and errors.As.
func scrubError(err error, secrets []string) error {
	r := safetext.NewRedactor(secrets...)
	if s := r.String(err.Error()); s != err.Error() {
		return &scrubbedError{text: s, err: err}
	}
	return err
}

// scrubbedError is an error whose text had secrets taken out.
type scrubbedError struct {
	text string
	err  error
}

func (e *scrubbedError) Error() string { return e.text }

// Unwrap returns the original error, for errors.Is and errors.As; its own
// text is not scrubbed.
func (e *scrubbedError) Unwrap() error { return e.err }
