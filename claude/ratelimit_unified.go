package claude

import (
	"strings"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// This file parses the anthropic-ratelimit-unified-* headers of a
// subscription's responses (docs/formats.md §2.5) into UnifiedLimits.

// set parses one unified header, named without its prefix.
func (u *UnifiedLimits) set(rest, v string) (known bool, err error) {
	if known, err = u.setField(rest, v); known {
		return true, err
	}
	return u.setWindow(rest, v)
}

// setField parses one unified header that is not a window's, named without
// its prefix; known is false for any other name.
func (u *UnifiedLimits) setField(rest, v string) (known bool, err error) {
	switch rest {
	case "status":
		u.StatusMissing = false
		u.Status, err = parseStatus(v)
		return true, err
	case "reset":
		u.Reset, err = parseReset(v)
		return true, err
	case "representative-claim":
		c := strings.ToLower(strings.TrimSpace(v))
		switch c {
		case "":
			return true, errEmpty
		case "5h":
			c = string(ClaimFiveHour)
		case "7d":
			c = string(ClaimSevenDay)
		}
		u.RepresentativeClaim = UnifiedClaim(safetext.Clip(c, 64))
		return true, nil
	case "fallback":
		u.Fallback = safetext.Clip(strings.TrimSpace(v), 64)
		return true, nil
	case "fallback-percentage":
		f, err := parseNumber(v)
		if err == nil {
			u.FallbackPercentage = &f
		}
		return true, err
	case "overage-disabled-reason":
		reason := strings.ToLower(strings.TrimSpace(v))
		if reason == "" {
			return true, errEmpty
		}
		u.Overage.DisabledReason = OverageDisabledReason(safetext.Clip(reason, 64))
		return true, nil
	case "overage-in-use":
		b, err := parseBool(v)
		if err == nil {
			u.Overage.InUse = &b
		}
		return true, err
	case "overage-period-monthly-utilization", "overage-period-channel-utilization":
		f, err := parseNumber(v)
		if err == nil {
			if rest == "overage-period-monthly-utilization" {
				u.Overage.PeriodMonthlyUtilization = &f
			} else {
				u.Overage.PeriodChannelUtilization = &f
			}
		}
		return true, err
	case "upgrade-paths":
		u.UpgradePaths = nil
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" && len(u.UpgradePaths) < 16 {
				u.UpgradePaths = append(u.UpgradePaths, safetext.Clip(p, 64))
			}
		}
		return true, nil
	}
	return false, nil
}

// setWindow parses one header of a window (<window>-status, -utilization,
// -reset or -surpassed-threshold), named without the unified prefix; known
// is false for any other name.
func (u *UnifiedLimits) setWindow(rest, v string) (known bool, err error) {
	for _, field := range [...]string{"-status", "-utilization", "-reset", "-surpassed-threshold"} {
		window, ok := strings.CutSuffix(rest, field)
		if !ok || window == "" {
			continue
		}
		window = safetext.Clip(window, 64)
		var w UnifiedWindow
		if window == WindowOverage {
			w = u.Overage.UnifiedWindow
		} else {
			w = u.Windows[window]
		}
		switch field {
		case "-status":
			w.Status, err = parseStatus(v)
		case "-utilization", "-surpassed-threshold":
			var f float64
			if f, err = parseNumber(v); err == nil {
				if field == "-utilization" {
					w.Utilization = &f
				} else {
					w.SurpassedThreshold = &f
				}
			}
		case "-reset":
			w.Reset, err = parseReset(v)
		}
		// A window with only malformed headers is still listed: it was
		// reported.
		if window == WindowOverage {
			u.Overage.UnifiedWindow = w
		} else {
			if u.Windows == nil {
				u.Windows = make(map[string]UnifiedWindow)
			}
			u.Windows[window] = w
		}
		return true, err
	}
	return false, nil
}
