package store

import (
	"fmt"
	"log/slog"
	"math"
	"time"
)

// WeekHours is how many hourly usage buckets a store keeps per subscription:
// the rolling week the pool budgets against.
const WeekHours = 168

// Secret is a credential: an API key or an OAuth token. Its String, GoString,
// JSON, text and slog forms are redacted, so a Secret that reaches a log line,
// an error or a JSON document shows as [REDACTED]. Reveal returns the value
// for the one place that needs it: the request sent upstream.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]" (or "" when the secret is empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form, so %#v does not show the secret.
func (s Secret) GoString() string { return fmt.Sprintf("store.Secret(%q)", s.String()) }

// Format writes the redacted form for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalText returns the redacted form; it is also what encoding/json writes.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue makes log/slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Nanodollars is an amount of money in billionths of a US dollar. Costs are
// kept as integers so that sums are exact and a window's total is the same
// whichever order its usages arrived in.
type Nanodollars int64

// MaxUSD is the largest amount FromUSD accepts: a million dollars, far above
// any single request and far below where int64 nanodollars overflow.
const MaxUSD = 1e6

// FromUSD converts dollars to Nanodollars, rounding to the nearest
// nanodollar. It refuses NaN, infinities, negative amounts and amounts above
// MaxUSD.
func FromUSD(usd float64) (Nanodollars, error) {
	switch {
	case math.IsNaN(usd):
		return 0, fmt.Errorf("amount is NaN")
	case math.IsInf(usd, 0):
		return 0, fmt.Errorf("amount %v is infinite", usd)
	case usd < 0:
		return 0, fmt.Errorf("amount %v is negative", usd)
	case usd > MaxUSD:
		return 0, fmt.Errorf("amount %v is above the maximum of %v", usd, float64(MaxUSD))
	}
	return Nanodollars(math.Round(usd * 1e9)), nil
}

// USD returns the amount in dollars.
func (n Nanodollars) USD() float64 { return float64(n) / 1e9 }

// Tokens counts the tokens of one request or of many added together.
type Tokens struct {
	Input      int64 `json:"input"`
	Output     int64 `json:"output"`
	CacheWrite int64 `json:"cacheWrite"`
	CacheRead  int64 `json:"cacheRead"`
}

// Add adds u to t.
func (t *Tokens) Add(u Tokens) {
	t.Input += u.Input
	t.Output += u.Output
	t.CacheWrite += u.CacheWrite
	t.CacheRead += u.CacheRead
}

// Total is the sum of all four kinds.
func (t Tokens) Total() int64 { return t.Input + t.Output + t.CacheWrite + t.CacheRead }

// State is whether a subscription serves clients.
type State uint8

// The states of a subscription. The zero State is Active.
const (
	// Active serves clients.
	Active State = iota
	// Limited is out of service until its Status.Until, then back by itself.
	Limited
	// Disabled is out of service until someone enables it.
	Disabled
)

var stateNames = [...]string{Active: "active", Limited: "limited", Disabled: "disabled"}

// String returns "active", "limited" or "disabled".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText returns the state's name.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("store: unknown state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText parses a state's name.
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("store: unknown state %q (want active, limited or disabled)", b)
}

// Status is a subscription's state with the time it ends and why it was set.
type Status struct {
	State State `json:"state"`
	// Until is when a Limited subscription returns to service.
	Until time.Time `json:"until,omitzero"`
	// Reason says why the state was set, e.g. the upstream's error.
	Reason string `json:"reason,omitempty"`
}

// InService reports whether the subscription serves clients at now: it is
// Active, or Limited and its Until has passed.
func (s Status) InService(now time.Time) bool {
	switch s.State {
	case Active:
		return true
	case Limited:
		return !now.Before(s.Until)
	default:
		return false
	}
}

// BurnMinutes is how many minute buckets a store keeps per subscription:
// the last hour, whose spending is the subscription's burn rate.
const BurnMinutes = 60

// Bucket is a subscription's usage in one UTC hour.
type Bucket struct {
	// Hour is the bucket's hour: whole hours since the Unix epoch (see HourOf).
	Hour     int64       `json:"hour"`
	Cost     Nanodollars `json:"cost"`
	Requests int64       `json:"requests"`
	// Tokens are the tokens of the hour's requests, by kind.
	Tokens Tokens `json:"tokens,omitzero"`
}

// Minute is a subscription's spending in one minute: what its burn rate,
// the spending of the last BurnMinutes minutes, adds up.
type Minute struct {
	// Minute is the bucket's minute: whole minutes since the Unix epoch
	// (see MinuteOf).
	Minute int64       `json:"minute"`
	Cost   Nanodollars `json:"cost"`
}

// MinuteOf returns t's minute as whole minutes since the Unix epoch,
// rounded down.
func MinuteOf(t time.Time) int64 {
	s := t.Unix()
	m := s / 60
	if s%60 < 0 {
		m--
	}
	return m
}

// HourOf returns t's hour as whole hours since the Unix epoch, rounded down.
func HourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

// HourStart returns the start of hour h (see HourOf) in UTC.
func HourStart(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// Subscription is one account the pool shares: its configuration, its
// status, and what the store keeps for it.
type Subscription struct {
	// ID names the subscription; it is the key of every record about it.
	ID string `json:"id"`
	// Name is for people.
	Name string `json:"name,omitempty"`
	// Kind is the plan: "pro", "max5x", "max20x" or "api" (opaque to stores).
	Kind string `json:"kind,omitempty"`
	// Credential authenticates requests made on the subscription.
	Credential Secret `json:"credential,omitzero"`
	// CredentialExpiresAt is when Credential expires (an OAuth token's
	// expiry); zero means it does not, or is not known to. It travels with
	// Credential: CreateSubscription and UpdateSubscription write both.
	CredentialExpiresAt time.Time `json:"credentialExpiresAt,omitzero"`
	// MaxClients caps the clients holding a slot at once (see
	// Session.HoldUntil); 0 means no cap.
	MaxClients int `json:"maxClients"`
	// WeeklyBudget, BlockBudget and DailyBudget are spending budgets over the
	// rolling week, the 5-hour block and the UTC day; 0 means none.
	WeeklyBudget Nanodollars `json:"weeklyBudget"`
	BlockBudget  Nanodollars `json:"blockBudget"`
	DailyBudget  Nanodollars `json:"dailyBudget"`
	// Status says whether it serves clients.
	Status Status `json:"status"`
	// ModelLimits take the subscription out of service for some models only
	// (e.g. a weekly limit of one model family), each until its Until.
	ModelLimits []ModelLimit `json:"modelLimits,omitempty"`
	// Reported is what the upstream last reported of its windows.
	Reported Reported `json:"reported,omitzero"`

	// The fields below, and ModelLimits and Reported, are kept by the store;
	// CreateSubscription and UpdateSubscription ignore them.

	// Clients is the number of sessions assigned to the subscription,
	// holding a slot or not.
	Clients int `json:"clients"`
	// Holds are the ends of its sessions' holds on a slot (see
	// Session.HoldUntil), ascending: every hold that had not ended at the
	// now of the latest call that wrote a hold of the subscription, and
	// perhaps some that had (a store drops a hold once a write's now has
	// passed it, so the list stays about as long as the clients holding
	// slots however many sessions are idle). The clients holding a slot at
	// a time t, what MaxClients caps, are the holds after t.
	Holds []time.Time `json:"holds,omitempty"`
	// BlockStart anchors the subscription's blocks: the start of the hour of
	// the first usage at or after the previous block's end (see
	// UsageRecord.BlockHours); zero before any such usage.
	BlockStart time.Time `json:"blockStart,omitzero"`
	// LastActive is the latest activity of any client while on it.
	LastActive time.Time `json:"lastActive,omitzero"`
	// Usage holds the non-empty hourly buckets of the last WeekHours hours
	// (counted back from the newest bucket), oldest first.
	Usage []Bucket `json:"usage,omitempty"`
	// Minutes holds the minute buckets that cost something among the last
	// BurnMinutes minutes (counted back from the newest such bucket),
	// oldest first: a usage's cost lands in the minute of its Time as in
	// the bucket of its hour. Pools sharing the store read the same burn
	// rate from them, exact to the minute.
	Minutes []Minute `json:"minutes,omitempty"`
}

// ModelLimit takes a subscription out of service for one model or model
// family until a time.
type ModelLimit struct {
	// Model names the model or family (e.g. "opus"): a request's model
	// matches when it contains Model at a '-', '/', ':' boundary.
	Model  string    `json:"model"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
}

// Reported is what the upstream reported of a subscription's 5-hour and
// 7-day windows: the share used (0 to 1) and when each resets. A zero Reset
// means that window was not reported.
type Reported struct {
	At         time.Time `json:"at"`
	BlockShare float64   `json:"blockShare"`
	BlockReset time.Time `json:"blockReset,omitzero"`
	WeekShare  float64   `json:"weekShare"`
	WeekReset  time.Time `json:"weekReset,omitzero"`
}

// Session is a client's stay in the pool: the subscription it is assigned to
// and what it has used since it arrived.
type Session struct {
	ClientID       string `json:"clientId"`
	SubscriptionID string `json:"subscriptionId"`
	// Created is when the client was first assigned; Assigned is when it
	// joined its current subscription; LastActive is its latest Touch,
	// Assign or usage.
	Created    time.Time   `json:"created"`
	Assigned   time.Time   `json:"assigned"`
	LastActive time.Time   `json:"lastActive"`
	Requests   int64       `json:"requests"`
	Cost       Nanodollars `json:"cost"`
	Tokens     Tokens      `json:"tokens"`
	// Model is the model of the latest usage.
	Model string `json:"model,omitempty"`
	// HoldUntil is when the client's hold on a slot of its subscription
	// ends: while it is after now, the client counts against the
	// subscription's MaxClients. Touch, Assign and AddUsage extend it, never
	// back; a move gives the session the hold of its Assignment on its new
	// subscription. A hold the store has dropped (see Subscription.Holds)
	// has ended, whatever a later call's now. Zero means no hold: a client
	// moved while idle, or a session written before holds were kept.
	HoldUntil time.Time `json:"holdUntil,omitzero"`
}

// Touched is what Touch found of a client's session and did to its hold.
type Touched struct {
	// SubscriptionID is the session's subscription, Status that
	// subscription's current status.
	SubscriptionID string
	Status         Status
	// Held is the session's hold before the call, HoldUntil after it (Held
	// when the call did not change it).
	Held, HoldUntil time.Time
}

// Added is what AddUsage counted where.
type Added struct {
	// Billed is the subscription billed.
	Billed string
	// SubscriptionID is the client's subscription ("" for a usage without
	// a client); Held is its session's hold before the call, HoldUntil
	// after it.
	SubscriptionID  string
	Held, HoldUntil time.Time
}

// Assignment asks a store to put a client on a subscription, on condition
// that the client is where the caller believes it is.
type Assignment struct {
	ClientID       string
	SubscriptionID string
	// From is the subscription the client must be on now; "" means the client
	// must have no session.
	From string
	// IdleSince, when set, also requires the client's LastActive to be at or
	// before it (Rebalance moves idle clients only).
	IdleSince time.Time
	// Now is the time of the assignment: the session's Assigned time and the
	// instant at which the subscription's status and capacity are judged.
	Now time.Time
	// HoldUntil is the client's hold on the target after the assignment:
	// until then (when it is after Now) the client counts against the
	// target's MaxClients. Zero gives no hold, as for an idle client that
	// Rebalance moves: its prompt cache is not on the target.
	HoldUntil time.Time
}

// UsageRecord is one request's usage, as a store adds it.
type UsageRecord struct {
	// ID identifies the request (the API's message or request id). A usage
	// whose ID the store remembers is refused with ErrDuplicate, and one
	// whose ID it cannot tell from a forgotten one with ErrForgotten (see
	// Store.AddUsage). "" means the usage has no ID and is never
	// de-duplicated.
	ID string
	// SubscriptionID is the subscription billed; "" means the client's
	// current one. Set it when the request was made before the client moved.
	SubscriptionID string
	// Time is when the usage happened; it lands in the bucket of its hour.
	Time   time.Time
	Cost   Nanodollars
	Tokens Tokens
	Model  string
	// Now is the time of recording: the session's activity time, and the
	// time against which Remember is judged.
	Now time.Time
	// Remember is how long after its usage's Time an ID is remembered: at
	// Now, IDs of usages at or before Now - Remember are forgotten. It must
	// be positive when ID is set.
	Remember time.Duration
	// RememberBytes is the memory the store may spend remembering IDs, in
	// bytes: it remembers as many IDs as fit at its own cost per ID (at
	// least one), and forgets the oldest to make room. It must be positive
	// when ID is set.
	RememberBytes int64
	// BlockHours, when positive, is the length of the billed subscription's
	// anchored blocks: a usage whose hour is at or after its BlockStart plus
	// BlockHours (or its first usage) starts a new block, and BlockStart
	// moves to the start of the usage's hour. Zero leaves BlockStart alone.
	BlockHours int
	// HoldUntil extends the client's hold on its subscription (see
	// Store.AddUsage): the pool sets the later of Now plus the time after
	// which a client is idle and Now plus the prompt cache's time to live
	// that the request wrote. Zero leaves the hold alone.
	HoldUntil time.Time
}

// SessionQuery selects sessions.
type SessionQuery struct {
	// SubscriptionID, when set, selects the sessions on that subscription.
	SubscriptionID string
	// ActiveBefore, when set, selects sessions last active before it.
	ActiveBefore time.Time
	// HoldEndedBy, when set, selects sessions whose HoldUntil is at or
	// before it (or unset): those that no longer hold a slot then. Rebalance
	// sets it to now so that a page is not filled with sessions it cannot
	// move.
	HoldEndedBy time.Time
	// Limit, when positive, returns at most Limit sessions: those with the
	// oldest LastActive, oldest first (ties by ClientID, byte-wise).
	//
	// Stores keep an index of sessions by LastActive, so a query with
	// ActiveBefore or Limit costs about the sessions it returns (plus those
	// it skips for HoldEndedBy, at most the clients holding a slot), not
	// every session; and a store answers any query in bounded steps, none of
	// which holds it for long.
	Limit int
}

// ForgottenError is the error of an AddUsage refused because the usage's ID
// is not remembered and its time is at or before the store's horizon: it
// may have been added and forgotten. It matches ErrForgotten with errors.Is.
type ForgottenError struct {
	// ID is the usage's ID, Time its time.
	ID   string
	Time time.Time
	// Horizon is the store's horizon at the call: the usages of IDs it
	// remembers no more happened at or before it.
	Horizon time.Time
}

// Error says the usage's time and the horizon.
func (e *ForgottenError) Error() string {
	return fmt.Sprintf("store: usage %q at %v is at or before %v, the horizon of the remembered usage IDs",
		e.ID, e.Time.UTC().Format(time.RFC3339Nano), e.Horizon.UTC().Format(time.RFC3339Nano))
}

// Unwrap returns ErrForgotten.
func (e *ForgottenError) Unwrap() error { return ErrForgotten }
