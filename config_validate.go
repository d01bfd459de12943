package authpool

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/internal/bounds"
)

// problemList collects what is wrong with a Config, each problem naming
// its field by JSON pointer.
type problemList []error

// bad adds a problem with field, and its message.
func (l *problemList) bad(field, format string, args ...any) {
	*l = append(*l, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// under adds errs, each naming a field under the pointer at.
func (l *problemList) under(at string, errs []error) {
	for _, err := range errs {
		*l = append(*l, fmt.Errorf("%s%w", at, err))
	}
}

// validate reports every problem of a Config with defaults applied, each
// naming its field by JSON pointer, joined into one error. These checks are
// the rules of a Config: a config file's schema repeats its bounds, and
// package configfile's tests hold it to them.
func (c Config) validate() error {
	var l problemList
	c.checkPolicy(&l)
	c.checkSubscriptions(&l)
	c.checkAlerts(&l)
	checkFallback(&l, c.Fallback)
	if len(l) == 0 {
		return nil
	}
	return &ConfigError{Source: "config", Problems: l}
}

// checkPolicy checks the Config's numbers and durations.
func (c Config) checkPolicy(l *problemList) {
	if c.MaxClients < 1 || c.MaxClients > maxCount {
		l.bad("/maxClients", "%d: must be in 1..%d", c.MaxClients, maxCount)
	}
	if !(c.WeeklyThreshold > 0 && c.WeeklyThreshold <= 1) {
		l.bad("/weeklyThreshold", "%v: must be in (0, 1]", c.WeeklyThreshold)
	}
	if !(c.ForecastMargin <= 1) || math.IsInf(c.ForecastMargin, -1) {
		l.bad("/forecastMargin", "%v: must be a share at most 1 (negative: the forecast is off)", c.ForecastMargin)
	}
	if c.Block.Hours < 1 || c.Block.Hours > 24 {
		l.bad("/block/hours", "%d: must be in 1..24", c.Block.Hours)
	}
	for _, w := range []struct {
		field string
		v     float64
	}{
		{"weekly", c.Health.Weekly}, {"block", c.Health.Block}, {"perClient", c.Health.PerClient},
		{"burn", c.Health.Burn}, {"burnCap", c.Health.BurnCap}, {"idleBonus", c.Health.IdleBonus},
	} {
		if math.IsNaN(w.v) || math.IsInf(w.v, 0) || w.v > 1000 {
			l.bad("/health/"+w.field, "%v: must be a number <= 1000", w.v)
		}
	}
	if c.Sessions.IdleAfter < 0 {
		l.bad("/sessions/idleAfter", "%v: must be positive", time.Duration(c.Sessions.IdleAfter))
	}
	if c.Sessions.StaleAfter < c.Sessions.IdleAfter {
		l.bad("/sessions/staleAfter", "%v: must be at least idleAfter (%v)", time.Duration(c.Sessions.StaleAfter), time.Duration(c.Sessions.IdleAfter))
	}
	if !(c.Rebalance.MinGapUSD > 0 && c.Rebalance.MinGapUSD <= 1e6) {
		l.bad("/rebalance/minGapUSD", "%v: must be in (0, 1000000]", c.Rebalance.MinGapUSD)
	}
	if c.Rebalance.MaxMoves < 1 || c.Rebalance.MaxMoves > maxCount {
		l.bad("/rebalance/maxMoves", "%d: must be in 1..%d", c.Rebalance.MaxMoves, maxCount)
	}
	if c.RememberUsageIDs < 0 {
		l.bad("/rememberUsageIds", "%v: must be positive", time.Duration(c.RememberUsageIDs))
	}
	if c.UsageIDMemoryMiB < 1 || c.UsageIDMemoryMiB > maxCount {
		l.bad("/usageIdMemoryMiB", "%d: must be in 1..%d", c.UsageIDMemoryMiB, maxCount)
	}
	if c.RefreshInterval < 0 {
		l.bad("/refreshInterval", "%v: must be positive", time.Duration(c.RefreshInterval))
	}
}

// checkSubscriptions checks each subscription, and that no two share an ID.
func (c Config) checkSubscriptions(l *problemList) {
	seen := make(map[string]int, len(c.Subscriptions))
	for i, s := range c.Subscriptions {
		at := fmt.Sprintf("/subscriptions/%d", i)
		l.under(at, s.problems())
		if j, dup := seen[s.ID]; dup && s.ID != "" {
			l.bad(at+"/id", "%q: already used by /subscriptions/%d", s.ID, j)
		}
		seen[s.ID] = i
	}
}

// checkAlerts checks the alert thresholds and the notification queue and
// log.
func (c Config) checkAlerts(l *problemList) {
	for i, t := range c.Notify.Thresholds {
		switch {
		case !(t > 0 && t <= 1):
			l.bad(fmt.Sprintf("/notify/thresholds/%d", i), "%v: must be in (0, 1]", t)
		case i > 0 && t <= c.Notify.Thresholds[i-1]:
			l.bad(fmt.Sprintf("/notify/thresholds/%d", i), "%v: thresholds must increase (after %v)", t, c.Notify.Thresholds[i-1])
		}
	}
	if c.Notify.QueueSize < 1 || c.Notify.QueueSize > 1<<20 {
		l.bad("/notify/queueSize", "%d: must be in 1..%d", c.Notify.QueueSize, 1<<20)
	}
	if lg := c.Notify.Log; lg != nil {
		if err := CheckEventTypes(lg.Events); err != nil {
			l.bad("/notify/log/events", "%v", err)
		}
	}
}

// checkFallback checks the fallback, if any.
func checkFallback(l *problemList, f *Fallback) {
	if f == nil {
		return
	}
	if p := credentialProblem(f.Credential); p != "" {
		l.bad("/fallback/credential", "%s", p)
	}
	if !(f.DailyBudgetUSD > 0 && f.DailyBudgetUSD <= 1e6) {
		l.bad("/fallback/dailyBudgetUSD", "%v: must be in (0, 1000000]", f.DailyBudgetUSD)
	}
	if err := bounds.CheckText("name", f.Name, true); err != nil {
		l.bad("/fallback/name", "%v", err)
	}
}

// CheckEventTypes says what is wrong with a list of event types a notifier
// is to receive (a log notifier's, a webhook's): a type that is not among
// the event types, or one listed twice. It returns nil for a usable list.
func CheckEventTypes(types []EventType) error {
	seen := make(map[EventType]bool, len(types))
	for _, t := range types {
		if !slices.Contains(eventTypes, t) {
			return fmt.Errorf("%q is not an event type (want one of %v)", t, eventTypes)
		}
		if seen[t] {
			return fmt.Errorf("%q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// ConfigError lists every problem of a Config or a Subscription. It matches
// ErrInvalidConfig with errors.Is.
type ConfigError struct {
	// Source names what was checked: a file's name, "config" for a Config
	// given to New, or a subscription.
	Source string
	// Problems each name a field by JSON pointer and say what is wrong with
	// it, e.g. "/subscriptions/1/maxClients: -1: must be >= 0".
	Problems []error
}

// Error lists the problems, a line each, each line starting with the
// source: "pool.json: /subscriptions/1/maxClients: must be >= 0".
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Source)
		b.WriteString(": ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
