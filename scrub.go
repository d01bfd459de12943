package authpool

import (
	"strings"
	"unicode/utf8"

	"github.com/authpool/authpool/internal/bounds"
)

// scrubWindow is the shortest run of a secret's bytes a scrubber finds
// anywhere in a text: an upstream that echoes part of a key (cut by its own
// limit, or by the pool's) reveals that part.
const scrubWindow = 12

// minSecret is the shortest secret a scrubber replaces where it appears
// whole: shorter ones are no credential, and would blot common words.
const minSecret = 4

// scrubber removes a pool's secrets from text that came from outside, such
// as an upstream's error message that a reason quotes. It is built once
// per view and is safe for concurrent use.
type scrubber struct {
	windows map[string]struct{} // every scrubWindow-byte run of every secret that long
	short   []string            // secrets shorter than scrubWindow, found whole
}

// newScrubber returns a scrubber of secrets (duplicates and empty ones are
// fine).
func newScrubber(secrets []string) *scrubber {
	s := &scrubber{windows: make(map[string]struct{})}
	for _, sec := range secrets {
		switch {
		case len(sec) >= scrubWindow:
			for i := 0; i+scrubWindow <= len(sec); i++ {
				s.windows[sec[i:i+scrubWindow]] = struct{}{}
			}
		case len(sec) >= minSecret:
			s.short = append(s.short, sec)
		}
	}
	return s
}

// scrub returns text with every secret, and every run of scrubWindow bytes
// or more of one, replaced by [REDACTED].
func (s *scrubber) scrub(text string) string {
	var secret []bool // which bytes of text belong to a secret; nil: none found yet
	mark := func(from, to int) {
		if secret == nil {
			secret = make([]bool, len(text))
		}
		for i := from; i < to; i++ {
			secret[i] = true
		}
	}
	if len(s.windows) > 0 {
		for i := 0; i+scrubWindow <= len(text); i++ {
			if _, ok := s.windows[text[i:i+scrubWindow]]; ok {
				mark(i, i+scrubWindow)
			}
		}
	}
	for _, sec := range s.short {
		for from := 0; ; {
			i := strings.Index(text[from:], sec)
			if i < 0 {
				break
			}
			mark(from+i, from+i+len(sec))
			from += i + 1
		}
	}
	if secret == nil {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !secret[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString("[REDACTED]")
		for i < len(text) && secret[i] {
			i++
		}
	}
	return b.String()
}

// pooledSecrets are the secrets a pool knows: its Config's credentials and
// refresh tokens, the secrets of its notifiers (see WithNotifier), and the
// credentials and refresh tokens its view holds (a refreshed token, a
// subscription another process added).
func (p *Pool) pooledSecrets(v *view) []string {
	var out []string
	for _, s := range p.cfg.Subscriptions {
		out = append(out, s.Credential.Reveal(), s.RefreshToken.Reveal())
	}
	if f := p.cfg.Fallback; f != nil {
		out = append(out, f.Credential.Reveal())
	}
	for _, n := range p.notifiers {
		if k, ok := n.(interface{ Secrets() []Credential }); ok {
			for _, c := range k.Secrets() {
				out = append(out, c.Reveal())
			}
		}
	}
	for _, sv := range v.byID {
		out = append(out, sv.rec.Credential.Reveal(), sv.rec.RefreshToken.Reveal())
	}
	return out
}

// scrubberOf returns the scrubber of the pool's secrets as the view v knows
// them, building it on first use.
func (p *Pool) scrubberOf(v *view) *scrubber {
	if s := v.scrub.Load(); s != nil {
		return s
	}
	s := newScrubber(p.pooledSecrets(v))
	if !v.scrub.CompareAndSwap(nil, s) {
		return v.scrub.Load()
	}
	return s
}

// cleanReason returns a reason given to the pool (MarkLimited, Disable,
// Throttled, MarkModelLimited), which may quote an upstream's error
// message, as the pool keeps, logs, reports and shows it: every pooled
// secret, and any part of one scrubWindow bytes long, replaced by
// [REDACTED]; invalid UTF-8 replaced; and cut to 1,024 bytes (bounds.MaxReasonLength), an
// ellipsis marking the cut.
func (p *Pool) cleanReason(reason string) string {
	if reason == "" {
		return ""
	}
	// Scrub a bounded prefix: what lies past it is cut anyway, and a secret
	// that straddles its end leaves at most scrubWindow-1 bytes, which the
	// cut below drops with the rest.
	const scanned = 4 * bounds.MaxReasonLength
	cut := len(reason) > scanned
	if cut {
		reason = reason[:scanned]
	}
	reason = p.scrubberOf(p.current()).scrub(strings.ToValidUTF8(reason, "\uFFFD"))
	if cut {
		reason = reason[:runeStart(reason, len(reason)-(scrubWindow-1))]
	}
	return clipReason(reason, cut)
}

// clipReason cuts a reason to bounds.MaxReasonLength bytes at a character's
// boundary, ending it with an ellipsis when it is cut (or was already).
func clipReason(reason string, cut bool) string {
	const ellipsis = "…"
	if len(reason) <= bounds.MaxReasonLength && !cut {
		return reason
	}
	return reason[:runeStart(reason, bounds.MaxReasonLength-len(ellipsis))] + ellipsis
}

// runeStart returns the largest index of s at most n (and at least 0) at
// which a character starts, or len(s) when n is past it.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
