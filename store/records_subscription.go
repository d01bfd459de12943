package store

import (
	"fmt"
	"time"
)

// This file holds a subscription's records: its configuration, its status
// and what the upstream reported of its limits.

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
	// RefreshToken renews Credential (an OAuth login's refresh token);
	// empty when it cannot be renewed. It travels with Credential too, so
	// that a refresh writes the new access and refresh tokens in one step.
	RefreshToken Secret `json:"refreshToken,omitzero"`
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
