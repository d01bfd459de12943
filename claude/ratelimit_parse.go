package claude

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file parses the rate-limit headers into a RateLimit, refusing a
// malformed value of a known header with a HeaderError; the unified ones go
// on to ratelimit_unified.go.

// HeaderError reports a malformed value of a known rate-limit header;
// [ParseRateLimit] joins one per such header (test with errors.As).
type HeaderError struct {
	Header string // lower-case header name
	Value  string // the value, clipped to 100 bytes
	Err    error
}

// Error names the header and its value.
func (e *HeaderError) Error() string {
	return fmt.Sprintf("claude: header %s: bad value %q: %v", e.Header, e.Value, e.Err)
}

// Unwrap returns the underlying error.
func (e *HeaderError) Unwrap() error { return e.Err }

var (
	errOutOfRange = errors.New("out of range")
	errEmpty      = errors.New("empty")
)

// Bounds on parsed values: resets after 1970 and up to the end of year 9999
// (beyond which times do not marshal as JSON), pauses up to a year.
const (
	maxUnixSeconds = 253402300799 // 9999-12-31T23:59:59Z
	msThreshold    = 1e11         // a unix reset above this is milliseconds
	maxRetryAfter  = 366 * 24 * time.Hour
)

// ParseRateLimit reads the rate-limit headers of a response (docs/formats.md
// §2.3–§2.5) into a RateLimit. Header names are matched case-insensitively;
// of a repeated header the first value counts. Headers it does not know are
// ignored (anthropic-ratelimit-* ones kept in Other); a malformed value of a
// known header leaves its field unset and is reported as a *HeaderError
// naming the header and the value, all such errors joined, while the rest is
// still parsed and returned. now is needed only for a retry-after given as an
// HTTP date.
func ParseRateLimit(h http.Header, now time.Time) (RateLimit, error) {
	var (
		r    RateLimit
		errs []error
	)
	r.Unified.Status = UnifiedAllowed
	r.Unified.StatusMissing = true
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if len(h[k]) == 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(k))
		if seen[name] {
			continue
		}
		seen[name] = true
		if err := r.set(name, h[k][0], now); err != nil {
			errs = append(errs, &HeaderError{Header: name, Value: safetext.Clip(h[k][0], 100), Err: err})
		}
	}
	return r, errors.Join(errs...)
}

// set parses one header into r.
func (r *RateLimit) set(name, v string, now time.Time) error {
	switch name {
	case headerRetryAfter:
		d, err := parseRetryAfter(v, now)
		if err == nil {
			r.RetryAfter = &d
		}
		return err
	case headerPreciseRetryAfter:
		ms, err := parseNumber(v)
		if err == nil && ms*float64(time.Millisecond) > float64(maxRetryAfter) {
			err = errOutOfRange
		}
		if err == nil {
			d := time.Duration(ms * float64(time.Millisecond))
			r.PreciseRetryAfter = &d
		}
		return err
	case headerShouldRetry:
		b, err := parseBool(v)
		if err == nil {
			r.ShouldRetry = &b
		}
		return err
	case headerRequestID:
		r.RequestID = safetext.Clip(strings.TrimSpace(v), 128)
		return nil
	}
	if rest, ok := strings.CutPrefix(name, unifiedPrefix); ok {
		r.Unified.Present = true
		known, err := r.Unified.set(rest, v)
		if !known {
			r.keepOther(name, v)
		}
		return err
	}
	if rest, ok := strings.CutPrefix(name, ratelimitPrefix); ok {
		if known, err := r.setBucket(rest, v); known {
			return err
		}
		r.keepOther(name, v)
	}
	return nil
}

func (r *RateLimit) keepOther(name, v string) {
	if r.Other == nil {
		r.Other = make(map[string]string)
	}
	r.Other[safetext.Clip(name, 256)] = safetext.Clip(v, 256)
}

// setBucket parses <bucket>-{limit,remaining,reset} (§2.4).
func (r *RateLimit) setBucket(rest, v string) (known bool, err error) {
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return false, nil
	}
	var b *RateLimitBucket
	switch rest[:i] {
	case "requests":
		b = &r.Requests
	case "tokens":
		b = &r.Tokens
	case "input-tokens":
		b = &r.InputTokens
	case "output-tokens":
		b = &r.OutputTokens
	default:
		return false, nil
	}
	switch rest[i+1:] {
	case "limit", "remaining":
		b.Present = true
		n, err := parseCount(v)
		if err != nil {
			return true, err
		}
		if rest[i+1:] == "limit" {
			b.Limit = &n
		} else {
			b.Remaining = &n
		}
		return true, nil
	case "reset":
		b.Present = true
		t, err := parseReset(v)
		if err == nil {
			b.Reset = t
		}
		return true, err
	}
	return false, nil
}

// parseStatus reads allowed, allowed_warning or rejected; another value is
// kept (clipped) and reported.
func parseStatus(v string) (UnifiedStatus, error) {
	s := UnifiedStatus(strings.ToLower(strings.TrimSpace(v)))
	switch s {
	case UnifiedAllowed, UnifiedAllowedWarning, UnifiedRejected:
		return s, nil
	case "":
		return "", errEmpty
	}
	return UnifiedStatus(safetext.Clip(string(s), 64)), errors.New("not allowed, allowed_warning or rejected")
}

// isDecimal reports whether s is digits with at most one '.', at least one
// digit: the only numbers these headers carry (no signs, exponents, hex or
// NaN).
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// parseNumber reads a non-negative decimal number.
func parseNumber(v string) (float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, errEmpty
	}
	if !isDecimal(v) {
		return 0, errors.New("not a non-negative number")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, errOutOfRange
	}
	return f, nil
}

// parseCount reads a non-negative integer.
func parseCount(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, errEmpty
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errOutOfRange
		}
		return 0, errors.New("not an integer")
	}
	if n < 0 {
		return 0, errOutOfRange
	}
	return n, nil
}

// parseBool reads true or false (any case), as x-should-retry is written.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "":
		return false, errEmpty
	}
	return false, errors.New("not true or false")
}

// parseReset reads a reset time: unix seconds (fractions allowed; a value
// over 1e11 is milliseconds) or RFC 3339. The result is UTC, after 1970 and
// no later than year 9999, never zero.
func parseReset(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, errEmpty
	}
	if isDecimal(v) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) {
			return time.Time{}, errOutOfRange
		}
		if f > msThreshold {
			f /= 1000
		}
		if f < 1 || f > maxUnixSeconds {
			return time.Time{}, errOutOfRange
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New("neither unix seconds nor RFC 3339")
	}
	if t.Unix() <= 0 || t.Unix() > maxUnixSeconds {
		return time.Time{}, errOutOfRange
	}
	return t.UTC(), nil
}

// parseRetryAfter reads retry-after: seconds (the SDK parses a float) or an
// HTTP date, which gives the time from now to it (0 if past).
func parseRetryAfter(v string, now time.Time) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, errEmpty
	}
	if isDecimal(v) {
		s, err := parseNumber(v)
		if err != nil {
			return 0, err
		}
		if s*float64(time.Second) > float64(maxRetryAfter) {
			return 0, errOutOfRange
		}
		return time.Duration(s * float64(time.Second)), nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, errors.New("neither seconds nor an HTTP date")
	}
	d := t.Sub(now)
	if d > maxRetryAfter {
		return 0, errOutOfRange
	}
	return max(d, 0), nil
}
