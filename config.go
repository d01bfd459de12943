package authpool

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/authpool/authpool/store"
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
	// MaxClients is the most clients holding a slot of a subscription at
	// once (see Pool.Allocate: working within Sessions.IdleAfter, or within
	// the prompt cache's time to live their last request wrote) when its own
	// MaxClients is 0. The default value is 15.
	MaxClients int `json:"maxClients,omitempty"`
	// WeeklyThreshold is the share of its weekly budget at or above which a
	// subscription takes new clients only when no subscription under it
	// can, unless its week is forecast to lapse with capacity unused (see
	// ForecastMargin); it keeps its own clients. With the default, a
	// subscription that has used 85.00 % of its week is over it. The
	// default value is 0.85.
	WeeklyThreshold float64 `json:"weeklyThreshold,omitempty"`
	// ForecastMargin is how selection reads each subscription's weekly
	// forecast: its week's use projected at its burn rate to when what is
	// left lapses (the upstream's reported week reset, else where the
	// spending leaving the rolling week outpaces the burn), as a share of
	// its weekly budget. A week forecast to leave at least this share
	// unused takes new clients over the weekly threshold all the same (the
	// threshold relaxes as the reset nears), and within a day of lapsing it
	// is spent first, the one that lapses on the earliest day first. The forecast only places new clients: a
	// subscription over the threshold keeps its own, which leave it only
	// when it cannot serve them. A negative value switches the forecast
	// off: the threshold is fixed, and a subscription over it lets each of
	// its clients go as soon as another is eligible. The default value is
	// 0.02.
	ForecastMargin float64 `json:"forecastMargin,omitempty"`
	// StrictBudgets makes block and weekly budgets caps. By default they
	// are estimates of the plans' limits, which the upstream does not
	// publish in dollars: a subscription whose block or week is spent by
	// the pool's own count, but which the upstream has neither refused
	// (MarkLimited) nor reported at its limit (Observe), keeps its clients
	// while no subscription with room left can take them, and takes new
	// clients after every subscription with room and before the fallback,
	// until the upstream refuses it. Set it when a budget is a share of a
	// plan kept for other uses.
	StrictBudgets bool `json:"strictBudgets,omitempty"`
	// FallbackFirst sends new clients to the fallback before subscriptions
	// over the weekly threshold or past a budget. By default those come
	// first: the fallback costs money, and prepaid capacity left unused
	// at a reset is lost.
	FallbackFirst bool `json:"fallbackFirst,omitempty"`
	// Block says how 5-hour blocks are laid out.
	Block BlockPolicy `json:"block,omitzero"`
	// Health weighs the terms of the health score.
	Health HealthWeights `json:"health,omitzero"`
	// Sessions says when a client is idle and when its session is stale.
	Sessions SessionPolicy `json:"sessions,omitzero"`
	// Rebalance bounds what Rebalance may do.
	Rebalance RebalancePolicy `json:"rebalance,omitzero"`
	// RememberUsageIDs is how long after its usage's own time (Usage.Time)
	// the store remembers a Usage.ID, to count a retried request, a response
	// recorded by two processes or a transcript warmed twice once. The
	// default value is the week (168 hours): Record and Charge refuse older
	// usage anyway.
	RememberUsageIDs Duration `json:"rememberUsageIds,omitempty"`
	// UsageIDMemoryMiB bounds the memory the store spends remembering usage
	// IDs, in MiB, whatever the rate of requests: when it is full the store
	// forgets the oldest, and a usage with an ID it may have forgotten is
	// refused with ErrUsageTooOld rather than counted twice (see
	// docs/stores.md for what it holds at a given rate). The default value
	// is 64.
	UsageIDMemoryMiB int `json:"usageIdMemoryMiB,omitempty"`
	// RefreshInterval is how old the pool's picture of the subscriptions
	// (their use and health, which selection reads) may grow before it is
	// read again from the store. Capacity and status are always checked by
	// the store itself. The default value is 1 second.
	RefreshInterval Duration `json:"refreshInterval,omitempty"`
	// Notify says how events wait for delivery, and whether they are also
	// logged, besides going to the notifiers given with WithNotifier (a
	// webhook.Notifier, for one). The default is nowhere.
	Notify NotifyConfig `json:"notify,omitzero"`
}

// NotifyConfig says when threshold events fire and where events go.
type NotifyConfig struct {
	// Thresholds are the shares of a budget (block, week, and the
	// fallback's day) at which an EventThreshold fires, each once per
	// window, strictly increasing in (0, 1]. The default value is
	// [0.8, 0.9].
	Thresholds []float64 `json:"thresholds,omitempty"`
	// QueueSize is how many events may wait for delivery; when the queue is
	// full an event is dropped and counted (Stats.Notifications). The
	// default value is 1024.
	QueueSize int `json:"queueSize,omitempty"`
	// Log, when set, logs every event (of Log.Events) to the pool's logger.
	Log *LogNotifyConfig `json:"log,omitempty"`
}

// LogNotifyConfig configures the log notifier.
type LogNotifyConfig struct {
	// Level is the level events are logged at. The default value is INFO.
	Level slog.Level `json:"level,omitempty"`
	// Events are the event types logged. The default is all.
	Events []EventType `json:"events,omitempty"`
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
	// Fixed lays blocks on a fixed UTC grid: 00, 05, 10, 15 and 20 for
	// 5-hour blocks (a grid restarts each UTC day, so the day's last block
	// may be shorter, 20:00 to 24:00). The default, false, anchors a block
	// at the first activity after the previous block ended, floored to the
	// hour, and ends it Hours later: what Claude itself and ccusage do.
	Fixed bool `json:"fixed,omitempty"`
	// Hours is a block's length, 1 to 24. The default value is 5.
	Hours int `json:"hours,omitempty"`
}

// SessionPolicy says when a client is idle and when it is gone.
type SessionPolicy struct {
	// IdleAfter is the time without activity after which a client is idle:
	// it no longer holds its slot on its subscription (unless the prompt
	// cache its last request wrote lives longer, see Usage.CacheTTL),
	// Rebalance may move it, and its subscription may earn the idle bonus.
	// It is the API's default prompt-cache lifetime. The default value is 5
	// minutes.
	IdleAfter Duration `json:"idleAfter,omitempty"`
	// StaleAfter is the time without activity after which Rebalance
	// releases a session that no longer holds its slot. The default value
	// is 30 minutes, or IdleAfter when that is longer (it is at least
	// IdleAfter).
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

// Default values of Config, which withDefaults applies (Config.WithDefaults
// shows them to a caller) and its field docs state.
const (
	defaultMaxClients       = 15
	defaultWeeklyThreshold  = 0.85
	defaultForecastMargin   = 0.02
	defaultBlockHours       = 5
	defaultIdleAfter        = 5 * time.Minute
	defaultStaleAfter       = 30 * time.Minute
	defaultMinGapUSD        = 5.0
	defaultMaxMoves         = 3
	defaultRememberUsageIDs = store.WeekHours * time.Hour
	defaultUsageIDMemoryMiB = 64
	defaultRefreshInterval  = time.Second
	defaultQueueSize        = 1024
)

// maxCount bounds counts in a Config (clients, moves): far above any real
// pool, and within a 32-bit int.
const maxCount = 1 << 30

// WithDefaults returns c with every zero field set to its default, as New
// applies them: the one place the defaults are written (a config file's
// schema is checked against it). A negative health weight stays.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// Validate reports every problem of c with its defaults applied, as New
// does: a *ConfigError (matching ErrInvalidConfig) whose Source is
// "config" and whose problems each name a field by JSON pointer, or nil.
// These checks are the rules of a Config; a config file's schema only
// repeats its bounds, and is checked against them.
func (c Config) Validate() error { return c.withDefaults().validate() }

// withDefaults returns c with every zero field set to its default. A
// negative health weight stays: it means the term is off (see health), and
// applying the defaults again does not switch it back on.
func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.MaxClients == 0 {
		c.MaxClients = defaultMaxClients
	}
	if c.WeeklyThreshold == 0 {
		c.WeeklyThreshold = defaultWeeklyThreshold
	}
	def(&c.ForecastMargin, defaultForecastMargin)
	if c.Block.Hours == 0 {
		c.Block.Hours = defaultBlockHours
	}
	def(&c.Health.Weekly, 50)
	def(&c.Health.Block, 30)
	def(&c.Health.PerClient, 5)
	def(&c.Health.Burn, 10)
	def(&c.Health.BurnCap, 2)
	def(&c.Health.IdleBonus, 10)
	if c.Sessions.IdleAfter == 0 {
		c.Sessions.IdleAfter = Duration(defaultIdleAfter)
	}
	if c.Sessions.StaleAfter == 0 {
		c.Sessions.StaleAfter = max(Duration(defaultStaleAfter), c.Sessions.IdleAfter)
	}
	if c.Rebalance.MinGapUSD == 0 {
		c.Rebalance.MinGapUSD = defaultMinGapUSD
	}
	if c.Rebalance.MaxMoves == 0 {
		c.Rebalance.MaxMoves = defaultMaxMoves
	}
	if c.RememberUsageIDs == 0 {
		c.RememberUsageIDs = Duration(defaultRememberUsageIDs)
	}
	if c.UsageIDMemoryMiB == 0 {
		c.UsageIDMemoryMiB = defaultUsageIDMemoryMiB
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = Duration(defaultRefreshInterval)
	}
	if len(c.Notify.Thresholds) == 0 {
		c.Notify.Thresholds = []float64{0.8, 0.9}
	}
	if c.Notify.QueueSize == 0 {
		c.Notify.QueueSize = defaultQueueSize
	}
	return c
}
