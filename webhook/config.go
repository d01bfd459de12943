package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// Config configures one webhook. Zero fields take their defaults (see
// WithDefaults). In a config file it is an entry of notify.webhooks (see
// package configfile).
type Config struct {
	// URL receives the POSTs. It must be https, or http to a loopback host.
	// Redirects are not followed.
	URL string `json:"url"`
	// Secret signs each body: the X-Authpool-Signature header is
	// "sha256=" and the hex HMAC-SHA256 of the body under it. Required, at
	// least MinSecret bytes.
	Secret authpool.Credential `json:"secret,omitzero"`
	// Events are the event types sent. The default is all.
	Events []authpool.EventType `json:"events,omitempty"`
	// Timeout bounds each attempt. The default value is DefaultTimeout.
	Timeout authpool.Duration `json:"timeout,omitempty"`
	// MaxAttempts is how many times an event is tried before the webhook
	// gives up on it, 1 to 100. The default value is DefaultAttempts.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// MinBackoff and MaxBackoff bound the wait before a retry: it doubles
	// from MinBackoff up to MaxBackoff, with full jitter, or follows the
	// receiver's Retry-After. The default values are DefaultMinBackoff and
	// DefaultMaxBackoff.
	MinBackoff authpool.Duration `json:"minBackoff,omitempty"`
	MaxBackoff authpool.Duration `json:"maxBackoff,omitempty"`
}

// Default values of Config, and the shortest secret accepted.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultAttempts   = 5
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute

	// MinSecret is the shortest webhook secret accepted, in bytes.
	MinSecret = 16
)

// WithDefaults returns c with every zero field set to its default: the one
// place the defaults are applied (a config file's schema is checked
// against it).
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = authpool.Duration(DefaultTimeout)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultAttempts
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = authpool.Duration(DefaultMinBackoff)
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = authpool.Duration(DefaultMaxBackoff)
	}
	return c
}

// Validate reports every problem of c with its defaults applied, as a
// *authpool.ConfigError (matching authpool.ErrInvalidConfig) whose Source
// is "webhook" and whose problems each name a field by JSON pointer
// ("/url: missing"), or nil. New refuses what it refuses.
func (c Config) Validate() error {
	if errs := c.WithDefaults().problems(); len(errs) > 0 {
		return &authpool.ConfigError{Source: "webhook", Problems: errs}
	}
	return nil
}

// problems lists what is wrong with a webhook with defaults applied, each
// as "/field: ...".
func (c Config) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("/%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if err := checkURL(c.URL); err != nil {
		bad("url", "%v", err)
	}
	switch {
	case c.Secret == "":
		bad("secret", "missing: the webhook signs its payloads with it")
	case len(c.Secret) < MinSecret:
		bad("secret", "%d bytes long: must be at least %d", len(c.Secret), MinSecret)
	}
	if err := authpool.CheckEventTypes(c.Events); err != nil {
		bad("events", "%v", err)
	}
	if c.Timeout < 0 {
		bad("timeout", "%v: must be positive", time.Duration(c.Timeout))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		bad("maxAttempts", "%d: must be in 1..100", c.MaxAttempts)
	}
	if c.MinBackoff < 0 {
		bad("minBackoff", "%v: must be positive", time.Duration(c.MinBackoff))
	}
	if c.MaxBackoff < c.MinBackoff {
		bad("maxBackoff", "%v: must be at least minBackoff (%v)", time.Duration(c.MaxBackoff), time.Duration(c.MinBackoff))
	}
	return errs
}

// checkURL accepts an absolute https URL, or an http one whose host is
// loopback (a receiver on the same machine): events must not cross a
// network in the clear.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("missing")
	}
	// Messages name the scheme and host only: a receiver's path or query
	// may hold a token.
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	where := u.Scheme + "://" + u.Host
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Scheme+":")
	case u.User != nil:
		return fmt.Errorf("%s holds user information; the secret signs the requests instead", where)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%s is plain http: use https (http is allowed only to a loopback host)", where)
	}
	return fmt.Errorf("%s: scheme %q is not https", where, u.Scheme)
}

// isLoopback reports whether host names this machine: localhost, or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
