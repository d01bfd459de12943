package authpool

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config is a pool's policy and its subscriptions. Every field has a
// documented default, and zero (or absent, in JSON) means that default, so
// Config{} is a working policy. Things that cannot be serialized (the store,
// the clock, the logger) are Options of New.
type Config struct {
	// Subscriptions are added to the store by New, or updated if the store
	// already has them (a restart), keeping their status, clients and usage.
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	// Fallback is the credential used when no subscription can take a
	// client. The default is none: such a client gets ErrExhausted.
	Fallback *Fallback `json:"fallback,omitempty"`
	// MaxClients is the most clients a subscription holds at once when its
	// own MaxClients is 0. The default value is 15.
	MaxClients int `json:"maxClients,omitempty"`
	// WeeklyThreshold is the share of its weekly budget above which a
	// subscription takes no new clients (its own keep it while nothing else
	// is eligible). The default value is 0.85.
	WeeklyThreshold float64 `json:"weeklyThreshold,omitempty"`
	// Block says how 5-hour blocks are laid out.
	Block BlockPolicy `json:"block,omitzero"`
	// Health weighs the terms of the health score.
	Health HealthWeights `json:"health,omitzero"`
	// Sessions says when a client is idle and when its session is stale.
	Sessions SessionPolicy `json:"sessions,omitzero"`
	// Rebalance bounds what Rebalance may do.
	Rebalance RebalancePolicy `json:"rebalance,omitzero"`
	// RememberUsageIDs is how long Record remembers a Usage.ID to count a
	// retried request once. The default value is 24 hours.
	RememberUsageIDs Duration `json:"rememberUsageIds,omitempty"`
	// RefreshInterval is how old the pool's picture of the subscriptions
	// (their use and health, which selection reads) may grow before it is
	// read again from the store. Capacity and status are always checked by
	// the store itself. The default value is 1 second.
	RefreshInterval Duration `json:"refreshInterval,omitempty"`
}

// Fallback is a plain API key that serves clients when no subscription can:
// it costs real money, so it has its own spending cap per UTC day.
type Fallback struct {
	// Name is for people. The default value is "fallback".
	Name string `json:"name,omitempty"`
	// Credential is the API key. Required.
	Credential Credential `json:"credential,omitzero"`
	// DailyBudgetUSD caps what the fallback may spend per UTC day. Required
	// (a fallback without a cap could spend without bound).
	DailyBudgetUSD float64 `json:"dailyBudgetUSD"`
}

// String returns the fallback's fields with its credential redacted. Without
// it, fmt would print a *Fallback found inside a Config under a verb such as
// %s or %q without calling the credential's redacting methods.
func (f Fallback) String() string {
	return fmt.Sprintf("{Name:%s Credential:%v DailyBudgetUSD:%v}", f.Name, f.Credential, f.DailyBudgetUSD)
}

// BlockPolicy lays out the 5-hour blocks.
type BlockPolicy struct {
	// Mode is where blocks start. The default value is BlockAnchored.
	Mode BlockMode `json:"mode,omitempty"`
	// Hours is a block's length, 1 to 24. The default value is 5.
	Hours int `json:"hours,omitempty"`
}

// SessionPolicy says when a client is idle and when it is gone.
type SessionPolicy struct {
	// IdleAfter is the time without activity after which a client is idle:
	// Rebalance may move it, and its subscription may earn the idle bonus.
	// The default value is 5 minutes.
	IdleAfter Duration `json:"idleAfter,omitempty"`
	// StaleAfter is the time without activity after which Rebalance
	// releases a session. The default value is 30 minutes.
	StaleAfter Duration `json:"staleAfter,omitempty"`
}

// RebalancePolicy bounds Rebalance.
type RebalancePolicy struct {
	// MinGapUSD is the smallest gap between two subscriptions' block costs
	// that makes Rebalance move an idle client from the dearer to the
	// cheaper. The default value is 5.00.
	MinGapUSD float64 `json:"minGapUSD,omitempty"`
	// MaxMoves is the most clients one Rebalance moves. The default value is
	// 3.
	MaxMoves int `json:"maxMoves,omitempty"`
}

// Duration is a time.Duration written in JSON as a string such as "5m" or
// "1h30m".
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a duration as time.ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("authpool: duration %q: want a number with a unit, such as 90s, 5m or 1h", b)
	}
	*d = Duration(v)
	return nil
}

// Default values of Config.
const (
	DefaultMaxClients       = 15
	DefaultWeeklyThreshold  = 0.85
	DefaultBlockHours       = 5
	DefaultIdleAfter        = 5 * time.Minute
	DefaultStaleAfter       = 30 * time.Minute
	DefaultMinGapUSD        = 5.0
	DefaultMaxMoves         = 3
	DefaultRememberUsageIDs = 24 * time.Hour
	DefaultRefreshInterval  = time.Second
)

// withDefaults returns c with every zero field set to its default and every
// negative health weight set to zero.
func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.WeeklyThreshold == 0 {
		c.WeeklyThreshold = DefaultWeeklyThreshold
	}
	if c.Block.Hours == 0 {
		c.Block.Hours = DefaultBlockHours
	}
	def(&c.Health.Weekly, 50)
	def(&c.Health.Block, 30)
	def(&c.Health.PerClient, 5)
	def(&c.Health.Burn, 10)
	def(&c.Health.BurnCap, 2)
	def(&c.Health.IdleBonus, 10)
	if c.Sessions.IdleAfter == 0 {
		c.Sessions.IdleAfter = Duration(DefaultIdleAfter)
	}
	if c.Sessions.StaleAfter == 0 {
		c.Sessions.StaleAfter = Duration(DefaultStaleAfter)
	}
	if c.Rebalance.MinGapUSD == 0 {
		c.Rebalance.MinGapUSD = DefaultMinGapUSD
	}
	if c.Rebalance.MaxMoves == 0 {
		c.Rebalance.MaxMoves = DefaultMaxMoves
	}
	if c.RememberUsageIDs == 0 {
		c.RememberUsageIDs = Duration(DefaultRememberUsageIDs)
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = Duration(DefaultRefreshInterval)
	}
	return c
}

// validate reports every problem of a Config with defaults applied, each
// naming its field by JSON pointer, joined into one error.
func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.MaxClients < 1 {
		bad("/maxClients", "%d: must be >= 1", c.MaxClients)
	}
	if !(c.WeeklyThreshold > 0 && c.WeeklyThreshold <= 1) {
		bad("/weeklyThreshold", "%v: must be in (0, 1]", c.WeeklyThreshold)
	}
	if c.Block.Mode != BlockAnchored && c.Block.Mode != BlockFixed {
		bad("/block/mode", "%v: must be anchored or fixed", c.Block.Mode)
	}
	if c.Block.Hours < 1 || c.Block.Hours > 24 {
		bad("/block/hours", "%d: must be in 1..24", c.Block.Hours)
	}
	for _, w := range []struct {
		field string
		v     float64
	}{
		{"weekly", c.Health.Weekly}, {"block", c.Health.Block}, {"perClient", c.Health.PerClient},
		{"burn", c.Health.Burn}, {"burnCap", c.Health.BurnCap}, {"idleBonus", c.Health.IdleBonus},
	} {
		if math.IsNaN(w.v) || math.IsInf(w.v, 0) || w.v > 1000 {
			bad("/health/"+w.field, "%v: must be a number <= 1000", w.v)
		}
	}
	if c.Sessions.IdleAfter < 0 {
		bad("/sessions/idleAfter", "%v: must be positive", time.Duration(c.Sessions.IdleAfter))
	}
	if c.Sessions.StaleAfter < c.Sessions.IdleAfter {
		bad("/sessions/staleAfter", "%v: must be at least idleAfter (%v)", time.Duration(c.Sessions.StaleAfter), time.Duration(c.Sessions.IdleAfter))
	}
	if !(c.Rebalance.MinGapUSD > 0 && c.Rebalance.MinGapUSD <= 1e6) {
		bad("/rebalance/minGapUSD", "%v: must be in (0, 1000000]", c.Rebalance.MinGapUSD)
	}
	if c.Rebalance.MaxMoves < 1 {
		bad("/rebalance/maxMoves", "%d: must be >= 1", c.Rebalance.MaxMoves)
	}
	if c.RememberUsageIDs < 0 {
		bad("/rememberUsageIds", "%v: must be positive", time.Duration(c.RememberUsageIDs))
	}
	if c.RefreshInterval < 0 {
		bad("/refreshInterval", "%v: must be positive", time.Duration(c.RefreshInterval))
	}
	seen := make(map[string]int, len(c.Subscriptions))
	for i, s := range c.Subscriptions {
		at := fmt.Sprintf("/subscriptions/%d", i)
		for _, err := range s.problems() {
			errs = append(errs, fmt.Errorf("%s%w", at, err))
		}
		if j, dup := seen[s.ID]; dup && s.ID != "" {
			bad(at+"/id", "%q: already used by /subscriptions/%d", s.ID, j)
		}
		seen[s.ID] = i
	}
	if f := c.Fallback; f != nil {
		if f.Credential == "" {
			bad("/fallback/credential", "missing: the fallback needs an API key")
		}
		if !(f.DailyBudgetUSD > 0 && f.DailyBudgetUSD <= 1e6) {
			bad("/fallback/dailyBudgetUSD", "%v: must be in (0, 1000000]", f.DailyBudgetUSD)
		}
		if err := checkText("name", f.Name, true); err != nil {
			bad("/fallback/name", "%v", err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Source: "config", Problems: errs}
}

// ConfigError lists every problem of a Config or a Subscription. It matches
// ErrInvalidConfig with errors.Is.
type ConfigError struct {
	// Source names what was checked: "config", or a subscription.
	Source string
	// Problems each name a field by JSON pointer and say what is wrong with
	// it, e.g. "/subscriptions/1/maxClients: -1: must be >= 0".
	Problems []error
}

// Error lists the problems, one a line when there are several.
func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("authpool: invalid %s: %v", e.Source, e.Problems[0])
	}
	return fmt.Sprintf("authpool: invalid %s (%d problems):\n%v", e.Source, len(e.Problems), errors.Join(e.Problems...))
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
