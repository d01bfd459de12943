// Package bounds holds the limits on what a pool accepts (token counts, ID
// lengths, clock skew, cache lifetimes, reasons) and the check of IDs, so
// that the pool and the packages that feed it (claude, its proxy and
// transcripts) agree on them. docs/api.md lists them for users.
package bounds

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits on what Pool.Record accepts and the pool stores.
const (
	// MaxTokens is the most tokens of one kind a single Usage may carry.
	MaxTokens = 1 << 40
	// MaxIDLength is the longest client ID, usage ID or model name, in bytes.
	MaxIDLength = 256
	// MaxClockSkew is how far in the future a Usage.Time may be (another
	// process's clock may run ahead); such a usage counts in the current hour.
	MaxClockSkew = 5 * time.Minute
	// MaxCacheTTL is the longest Usage.CacheTTL: the longest time to live
	// of the API's prompt cache.
	MaxCacheTTL = time.Hour
	// MaxReasonLength is the longest reason a status or a model limit
	// carries, in bytes: a longer one is cut to it.
	MaxReasonLength = 1024
)

// CheckID says what is wrong with an ID authpool would refuse — a client's,
// or one that becomes a client's, such as a proxy caller's — naming it field
// ("id is empty"): empty, longer than MaxIDLength bytes, not valid UTF-8, or
// holding a control character. It returns nil for a usable ID.
func CheckID(field, id string) error { return CheckText(field, id, false) }

// CheckText checks an ID-like string: valid UTF-8, no control characters, at
// most MaxIDLength bytes, and not empty unless optional.
func CheckText(field, s string, optional bool) error {
	if s == "" && optional {
		return nil // inlined: the hot path's optional fields are mostly empty
	}
	return checkText(field, s, optional)
}

// checkText is CheckText past an empty optional string.
func checkText(field, s string, optional bool) error {
	if s != "" && len(s) <= MaxIDLength && printableASCII(s) {
		return nil
	}
	return textProblem(field, s, optional)
}

// printableASCII reports whether s holds only bytes 0x20 to 0x7e, looking at
// eight bytes at a time.
func printableASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	bad := func(t string) bool {
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		// A high bit in w, in w-0x20 (a byte below 0x20) or in w+1 (0x7f).
		return (w|(w-0x20*ones)|(w+ones))&highs != 0
	}
	if len(s) < 8 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 <= len(s); i += 8 {
		if bad(s[i : i+8]) {
			return false
		}
	}
	return !bad(s[len(s)-8:])
}

// textProblem says what is wrong with s for CheckText, or returns nil if
// nothing is (s is valid text beyond ASCII).
func textProblem(field, s string, optional bool) error {
	switch {
	case s == "" && !optional:
		return fmt.Errorf("%s is empty", field)
	case len(s) > MaxIDLength:
		return fmt.Errorf("%s is %d bytes long, more than %d", field, len(s), MaxIDLength)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return fmt.Errorf("%s %q is not valid UTF-8 (byte %d)", field, s, i)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("%s %q holds a control character (byte %d)", field, s, i)
		}
		i += n
	}
	return nil
}
