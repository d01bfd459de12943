package proxy

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// Caller is one caller of a Proxy: who it is, the key it presents, and what
// it may spend. A config file lists them as "callers" (package configfile).
type Caller struct {
	// ID names the caller; its requests are the pool's client ID (with the
	// Claude Code session, when the request names one). Required.
	ID string `json:"id"`
	// Key is what the caller sends as its x-api-key or bearer token to the
	// proxy (not a subscription's credential). Required, at least
	// MinCallerKey bytes.
	Key authpool.Credential `json:"key,omitzero"`
	// CapUSD caps what the caller may spend in a rolling CapWindow; 0 means
	// no cap.
	CapUSD float64 `json:"capUSD,omitempty"`
	// CapWindow is the cap's rolling window, in whole hours up to a week.
	// The default value is 5 hours.
	CapWindow authpool.Duration `json:"capWindow,omitempty"`
	// Rate, when set, is the caller's own rate limit, counted over all its
	// requests whatever their session, in place of the Proxy's
	// DefaultRate; a Rate of zero exempts the caller. Nil is DefaultRate,
	// and no limit when that is nil too.
	Rate *RateLimit `json:"rate,omitempty"`
	// Sessionless says how the proxy places the caller's requests that
	// name no session (no X-Claude-Code-Session-Id): SessionlessSticky, the
	// default, makes them one client; SessionlessSpread places each on its
	// own, for a service that sends unrelated requests (an SDK).
	Sessionless Sessionless `json:"sessionless,omitempty"`
}

// MinCallerKey is the shortest caller key accepted, in bytes.
const MinCallerKey = 16

// Sessionless is how a Proxy places a caller's requests that name no
// session.
type Sessionless string

// The ways of placing requests without a session. The empty value is
// SessionlessSticky.
const (
	// SessionlessSticky: the requests are one client, the caller, which
	// stays on its subscription (its prompt cache stays warm) as a Claude
	// Code session does.
	SessionlessSticky Sessionless = "sticky"
	// SessionlessSpread: each request is a client of its own, placed on the
	// best subscription for it and released when its response ends (its
	// usage recorded), so that a busy service spreads over the pool and
	// holds no place between requests. Suits requests that share no
	// prompt cache.
	SessionlessSpread Sessionless = "spread"
)

// Check returns an error naming the value unless it is "", "sticky" or
// "spread".
func (s Sessionless) Check() error {
	switch s {
	case "", SessionlessSticky, SessionlessSpread:
		return nil
	}
	return fmt.Errorf("%q: must be %q or %q", string(s), SessionlessSticky, SessionlessSpread)
}

// ValidateCallers reports every problem of callers at once, and that no
// two share an ID or a key, as a *authpool.ConfigError (matching
// authpool.ErrInvalidConfig) from "callers" whose problems name each field
// by JSON pointer as a config file's "callers" does:
// "/callers/1/key: the same key as /callers/0". New checks its callers so.
func ValidateCallers(callers []Caller) error {
	if errs := callerProblems(callers); len(errs) > 0 {
		return &authpool.ConfigError{Source: "callers", Problems: errs}
	}
	return nil
}

// ValidateCallerSettings reports every problem of one caller's ID and
// settings — what ValidateCallers checks of a caller but its key — at
// once, as a *authpool.ConfigError from "caller" whose problems name each
// field by JSON pointer from the caller ("/capUSD: -1: must be in
// 0..1e+06"), in ValidateCallers' words. It checks a caller kept in a
// store, whose key the server makes (NewCallerKey) rather than a person.
func ValidateCallerSettings(c Caller) error {
	var errs []error
	if err := callerIDProblem(c.ID); err != nil {
		errs = append(errs, fmt.Errorf("/id: %w", err))
	}
	if errs = append(errs, settingProblems("", c)...); len(errs) > 0 {
		return &authpool.ConfigError{Source: "caller", Problems: errs}
	}
	return nil
}

// callerIDProblem says what is wrong with a caller's ID, or returns nil:
// bounds.CheckID's rules, and at most store.MaxCallerID bytes (as a stored
// caller's), which leaves room in the pool's client ID for the caller's
// session or a spread client's name after it.
func callerIDProblem(id string) error {
	if err := bounds.CheckID("id", id); err != nil {
		return err
	}
	if len(id) > store.MaxCallerID {
		return fmt.Errorf("id is %d bytes long, more than %d", len(id), store.MaxCallerID)
	}
	return nil
}

// callerProblems lists the problems of callers, each naming its field by
// JSON pointer.
func callerProblems(callers []Caller) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	ids, keys := map[string]int{}, map[authpool.Credential]int{}
	for i, k := range callers {
		at := fmt.Sprintf("/callers/%d", i)
		if err := callerIDProblem(k.ID); err != nil {
			bad(at+"/id", "%v", err)
		} else if j, dup := ids[k.ID]; dup {
			bad(at+"/id", "%q: already used by /callers/%d", k.ID, j)
		}
		ids[k.ID] = i
		switch j, dup := keys[k.Key]; {
		case len(k.Key) < MinCallerKey:
			bad(at+"/key", "%d bytes long: must be at least %d", len(k.Key), MinCallerKey)
		case strings.ContainsFunc(k.Key.Reveal(), unicode.IsControl):
			bad(at+"/key", "holds a control character or a line break")
		case dup:
			bad(at+"/key", "the same key as /callers/%d", j)
		}
		keys[k.Key] = i
		errs = append(errs, settingProblems(at, k)...)
	}
	return errs
}

// settingProblems lists the problems of a caller's cap, window, rate and
// sessionless, each named by JSON pointer under at.
func settingProblems(at string, k Caller) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if math.IsNaN(k.CapUSD) || k.CapUSD < 0 || k.CapUSD > store.MaxUSD {
		bad(at+"/capUSD", "%v: must be in 0..%v", k.CapUSD, float64(store.MaxUSD))
	}
	if w := time.Duration(k.CapWindow); w < 0 || w%time.Hour != 0 || w > store.WeekHours*time.Hour {
		bad(at+"/capWindow", "%v: must be whole hours, up to a week", w)
	}
	if err := k.Sessionless.Check(); err != nil {
		bad(at+"/sessionless", "%v", err)
	}
	if k.Rate != nil {
		for _, p := range k.Rate.problems() {
			errs = append(errs, fmt.Errorf("%s/rate%w", at, p))
		}
	}
	return errs
}
