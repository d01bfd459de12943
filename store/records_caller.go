package store

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// This file holds the records of a CallerStore: a caller, a charge of its
// usage, its sessions' totals and an admission under its cap, and the checks
// that refuse bad ones.

// Bounds on what a CallerStore accepts and keeps.
const (
	// MaxCallerID is the longest caller ID, in bytes (as a subscription's).
	MaxCallerID = 64
	// MaxCallerText is the longest usage ID, session name or lease ID a
	// CallerStore accepts, in bytes.
	MaxCallerText = 256
	// MaxCallerSessions is how many sessions a CallerStore keeps per
	// caller: the most recently charged; a new one makes the least recent
	// go.
	MaxCallerSessions = 1000
	// MaxChargeTokens bounds each kind of a Charge's tokens, as the pool
	// bounds a usage's: totals of many such charges stay far from
	// overflowing.
	MaxChargeTokens = 1 << 40
	// MaxRatePerSecond bounds Caller.RatePerSecond (as the pool's rate
	// limits).
	MaxRatePerSecond = 1e6
	// MaxRateBurst bounds Caller.RateBurst.
	MaxRateBurst = 1 << 30
)

// The values of Caller.Sessionless.
const (
	SessionlessSticky = "sticky"
	SessionlessSpread = "spread"
)

// Caller is a proxy's caller kept in a CallerStore: who it is, the hash of
// the key it presents, and what it may spend. The key itself is never
// stored: a proxy hashes the key a request presents and looks the hash up
// (CallerByKey).
type Caller struct {
	// ID names the caller: 1 to MaxCallerID letters, digits, '.', '_' or
	// '-', as a subscription's ID.
	ID string `json:"id"`
	// KeyHash is the SHA-256 of the caller's key. It is not secret, but is
	// never logged. It must not be all zeros.
	KeyHash [32]byte `json:"-"`
	// Cap caps what the caller may spend in CapWindowHours; 0 means no cap.
	Cap Nanodollars `json:"cap"`
	// CapWindowHours is the cap's rolling window, 0 to WeekHours hours; 0
	// leaves it to the user of the record (a proxy's default is 5).
	CapWindowHours int `json:"capWindowHours,omitempty"`
	// RatePerSecond and RateBurst are the caller's own rate limit (a token
	// bucket); both 0 leave it to the user of the record (a proxy applies
	// its DefaultRate). RateBurst is at least 1 when RatePerSecond
	// is set, and 0 when it is not.
	RatePerSecond float64 `json:"ratePerSecond,omitempty"`
	RateBurst     int     `json:"rateBurst,omitempty"`
	// Sessionless is how a proxy places the caller's requests that name no
	// session: "", SessionlessSticky or SessionlessSpread.
	Sessionless string `json:"sessionless,omitempty"`
	// Created is when the caller was made.
	Created time.Time `json:"created"`

	// LargestCharge is kept by the store (CreateCaller and UpdateCaller
	// ignore it): the largest Cost of a charge counted for the caller,
	// which AdmitCaller takes as a request's cost when it counts the
	// requests in flight.
	LargestCharge Nanodollars `json:"largestCharge,omitempty"`
}

// Charge is what one request of a caller used, as ChargeCaller counts it.
type Charge struct {
	// UsageID identifies the request (the API's message id); a charge whose
	// UsageID the store remembers is not counted again. "" means the
	// charge is never de-duplicated.
	UsageID string
	// At is when the request happened: it lands in the hourly total of its
	// hour.
	At     time.Time
	Cost   Nanodollars
	Tokens Tokens
	// Session names the caller's session the request belongs to (Claude
	// Code's session id); "" for a request without one, which counts in
	// the session "".
	Session string
	// Now, Remember and RememberBytes say how long and in how much memory
	// the store remembers usage IDs, as UsageRecord's fields of the same
	// names do for AddUsage (the callers' IDs are remembered apart from the
	// subscriptions'). They must be set when UsageID is.
	Now           time.Time
	Remember      time.Duration
	RememberBytes int64
}

// CallerSession is what one session of a caller used: its totals since its
// first charge the store still keeps.
type CallerSession struct {
	Session string `json:"session"`
	// First and Last are the times (Charge.At) of its first and latest
	// charges.
	First    time.Time   `json:"first"`
	Last     time.Time   `json:"last"`
	Requests int64       `json:"requests"`
	Cost     Nanodollars `json:"cost"`
	Tokens   Tokens      `json:"tokens"`
}

// Admission is what AdmitCaller decided of one request of a capped caller.
type Admission struct {
	// Admitted says whether the request may go; LeaseID names the lease it
	// holds while in flight ("" when not admitted), which ReleaseCaller
	// ends.
	Admitted bool
	LeaseID  string
	// Used is what the caller spent in the cap's window at now, InFlight
	// the leases live at now before this one, and Estimate the cost each
	// is counted at (the caller's LargestCharge).
	Used     Nanodollars
	InFlight int
	Estimate Nanodollars
	// Reset is when Used next falls: when Used is at or over the budget,
	// the start of the hour at which enough of the window's spending has
	// left it for Used to be below the budget (if nothing more is spent);
	// otherwise when the oldest spending in the window leaves it. Zero when
	// nothing was spent in the window.
	Reset time.Time
}

// Check reports the first problem of c as a record for CreateCaller (the
// store-kept LargestCharge aside), naming the field and its value, as an
// error wrapping ErrInvalid; nil if c is fine.
func (c Caller) Check() error {
	if c.KeyHash == ([32]byte{}) {
		return fmt.Errorf("%w: caller %q: keyHash is all zeros: set the SHA-256 of the caller's key", ErrInvalid, c.ID)
	}
	return c.checkSettings()
}

// checkSettings checks the settings (what UpdateCaller may change), and
// the ID.
func (c Caller) checkSettings() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: caller %q: %s", ErrInvalid, c.ID, fmt.Sprintf(format, args...))
	}
	if err := CheckCallerID(c.ID); err != nil {
		return err
	}
	switch {
	case c.Cap < 0 || c.Cap > MaxUSD*1e9:
		return bad("cap %d nanodollars: must be in 0..%d", c.Cap, int64(MaxUSD*1e9))
	case c.CapWindowHours < 0 || c.CapWindowHours > WeekHours:
		return bad("capWindowHours %d: must be in 0..%d", c.CapWindowHours, WeekHours)
	case math.IsNaN(c.RatePerSecond) || c.RatePerSecond < 0 || c.RatePerSecond > MaxRatePerSecond:
		return bad("ratePerSecond %v: must be in 0..%v", c.RatePerSecond, float64(MaxRatePerSecond))
	case c.RateBurst < 0 || c.RateBurst > MaxRateBurst:
		return bad("rateBurst %d: must be in 0..%d", c.RateBurst, MaxRateBurst)
	case c.RatePerSecond > 0 && c.RateBurst < 1:
		return bad("rateBurst %d: must be at least 1 when ratePerSecond is set", c.RateBurst)
	case c.RatePerSecond == 0 && c.RateBurst > 0:
		return bad("rateBurst %d: set ratePerSecond too, or neither", c.RateBurst)
	}
	switch c.Sessionless {
	case "", SessionlessSticky, SessionlessSpread:
		return nil
	}
	return bad("sessionless %q: must be %q, %q or empty", c.Sessionless, SessionlessSticky, SessionlessSpread)
}

// CallerUpdate changes some of a caller's settings: each field given
// (non-nil) replaces the caller's, and the others stay as they are, so
// that two updates of different settings made at the same time both land.
type CallerUpdate struct {
	Cap            *Nanodollars
	CapWindowHours *int
	// Rate replaces RatePerSecond and RateBurst together.
	Rate        *CallerRate
	Sessionless *string
}

// CallerRate is a caller's own rate limit: Caller.RatePerSecond and
// Caller.RateBurst.
type CallerRate struct {
	PerSecond float64
	Burst     int
}

// Apply changes c as u says.
func (u CallerUpdate) Apply(c *Caller) {
	if u.Cap != nil {
		c.Cap = *u.Cap
	}
	if u.CapWindowHours != nil {
		c.CapWindowHours = *u.CapWindowHours
	}
	if u.Rate != nil {
		c.RatePerSecond, c.RateBurst = u.Rate.PerSecond, u.Rate.Burst
	}
	if u.Sessionless != nil {
		c.Sessionless = *u.Sessionless
	}
}

// Check reports the first problem of u as an update of caller id, naming
// the field and its value, as an error wrapping ErrInvalid; nil if it is
// fine. The settings' rules are each of one field (the rate's two go
// together), so an update that passes leaves any valid caller valid.
func (u CallerUpdate) Check(id string) error {
	if u == (CallerUpdate{}) {
		return fmt.Errorf("%w: caller %q: the update changes nothing", ErrInvalid, id)
	}
	c := Caller{ID: id}
	u.Apply(&c)
	return c.checkSettings()
}

// CheckCallerID reports what is wrong with a caller ID, as an error
// wrapping ErrInvalid; nil if it is fine.
func CheckCallerID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: caller id is empty", ErrInvalid)
	case len(id) > MaxCallerID:
		return fmt.Errorf("%w: caller id %q is %d bytes long: at most %d", ErrInvalid, id, len(id), MaxCallerID)
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: caller id %q: byte %d (%q) is not a letter, digit, '.', '_' or '-'", ErrInvalid, id, i, c)
		}
	}
	return nil
}

// Check reports the first problem of c, naming the field and its value, as
// an error wrapping ErrInvalid; nil if c is fine.
func (c Charge) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: charge %q: %s", ErrInvalid, clip(c.UsageID), fmt.Sprintf(format, args...))
	}
	t := c.Tokens
	switch {
	case c.At.IsZero():
		return bad("at is zero: say when the request happened")
	case c.Cost < 0 || c.Cost > MaxUSD*1e9:
		return bad("cost %d nanodollars: must be in 0..%d", c.Cost, int64(MaxUSD*1e9))
	case t.Input < 0 || t.Output < 0 || t.CacheWrite < 0 || t.CacheRead < 0:
		return bad("tokens %+v: none may be negative", t)
	case t.Input > MaxChargeTokens || t.Output > MaxChargeTokens || t.CacheWrite > MaxChargeTokens || t.CacheRead > MaxChargeTokens:
		return bad("tokens %+v: none may be above %d", t, int64(MaxChargeTokens))
	}
	if err := checkText("usageId", c.UsageID); err != nil {
		return bad("%v", err)
	}
	if err := checkText("session", c.Session); err != nil {
		return bad("%v", err)
	}
	if c.UsageID == "" {
		return nil
	}
	switch {
	case c.Now.IsZero():
		return bad("now is zero: a charge with a usage ID needs the time it is recorded")
	case c.Remember <= 0:
		return bad("remember %v: must be positive with a usage ID", c.Remember)
	case c.RememberBytes <= 0:
		return bad("rememberBytes %d: must be positive with a usage ID", c.RememberBytes)
	}
	return nil
}

// CheckAdmission reports the first problem of AdmitCaller's arguments as
// an error wrapping ErrInvalid; nil if they are fine.
func CheckAdmission(id string, now time.Time, budget Nanodollars, windowHours int, lease time.Duration) error {
	if err := CheckCallerID(id); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: admitting caller %q: %s", ErrInvalid, id, fmt.Sprintf(format, args...))
	}
	switch {
	case now.IsZero():
		return bad("now is zero")
	case budget <= 0 || budget > MaxUSD*1e9:
		return bad("budget %d nanodollars: must be in 1..%d", budget, int64(MaxUSD*1e9))
	case windowHours < 1 || windowHours > WeekHours:
		return bad("windowHours %d: must be in 1..%d", windowHours, WeekHours)
	case lease <= 0:
		return bad("lease %v: must be positive", lease)
	}
	return nil
}

// CheckHours reports the first problem of an hour range [from, to] as an
// error wrapping ErrInvalid; nil if from <= to.
func CheckHours(from, to int64) error {
	if from > to {
		return fmt.Errorf("%w: hours %d..%d: from is after to", ErrInvalid, from, to)
	}
	return nil
}

// CheckLeaseID reports what is wrong with a lease ID given to
// ReleaseCaller, as an error wrapping ErrInvalid; nil if it is fine.
func CheckLeaseID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: lease id is empty", ErrInvalid)
	}
	if err := checkText("lease id", id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// checkText reports what is wrong with an optional ID-like string: more
// than MaxCallerText bytes, not UTF-8, or holding a control character.
func checkText(field, s string) error {
	if len(s) > MaxCallerText {
		return fmt.Errorf("%s is %d bytes long: at most %d", field, len(s), MaxCallerText)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", field, s)
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%s %q holds a control character (byte %d)", field, s, i)
		}
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}

// WindowReset returns when the spending of a cap's window falls, as
// Admission.Reset says: spent are the window's hourly totals, oldest first
// (empty ones may be left out), used their sum, and windowHours the
// window's length. Stores compute Admission.Reset with it.
func WindowReset(spent []Bucket, used, budget Nanodollars, windowHours int) time.Time {
	left := used
	for _, b := range spent {
		if b.Cost == 0 {
			continue
		}
		left -= b.Cost
		if used < budget || left < budget {
			return HourStart(b.Hour + int64(windowHours))
		}
	}
	return time.Time{}
}
