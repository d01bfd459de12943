package claude

import (
	"slices"
	"strings"
	"time"
)

// This file reads which windows of the unified headers a response rejects,
// for Classify.

// isScopedWindow reports whether a window limits one model family: its name
// has an underscore (7d_oi, 7d_opus, 7d_sonnet, ...).
func isScopedWindow(name string) bool { return strings.Contains(name, "_") }

// windowFamily returns the model family of a model-scoped window: what
// follows its first underscore; "" for any other window.
func windowFamily(name string) string {
	_, family, _ := strings.Cut(name, "_")
	return family
}

// rejectedWindows lists the windows with status rejected, sorted.
func rejectedWindows(u UnifiedLimits) []string {
	var names []string
	for name, w := range u.Windows {
		if w.Rejected() {
			names = append(names, name)
		}
	}
	if u.Overage.Rejected() {
		names = append(names, WindowOverage)
	}
	slices.Sort(names)
	return names
}

// modelLimits lists the rejected model-scoped windows (not overage, which is
// rejected whenever extra usage is off).
func modelLimits(u UnifiedLimits, now time.Time) []ModelLimit {
	var ls []ModelLimit
	for name, w := range u.Windows {
		if w.Rejected() && isScopedWindow(name) {
			ls = append(ls, ModelLimit{Window: name, Family: windowFamily(name), Until: deadline(now, w.Reset)})
		}
	}
	slices.SortFunc(ls, func(a, b ModelLimit) int { return strings.Compare(a.Window, b.Window) })
	return ls
}

// deadline returns the latest of ts that is after now, or now +
// MinQuotaPause if none is.
func deadline(now time.Time, ts ...time.Time) time.Time {
	var d time.Time
	for _, t := range ts {
		if t.After(now) && t.After(d) {
			d = t
		}
	}
	if d.IsZero() {
		return now.Add(MinQuotaPause)
	}
	return d
}

// quotaRejection reports whether a 429's headers reject the subscription
// (or a model family) rather than throttle it.
func quotaRejection(u UnifiedLimits, rejected []string) bool {
	if u.Status == UnifiedRejected {
		return true
	}
	for _, name := range rejected {
		if name != WindowOverage {
			return true
		}
	}
	// Claude Code: a 429 carrying overage-disabled-reason is a plan-limit
	// 429 (§2.3). Only when the status is missing: an explicit allowed
	// wins, since allowed responses carry the reason too (§2.5 example).
	return u.StatusMissing && u.Overage.DisabledReason != ""
}
