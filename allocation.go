package authpool

import "fmt"

// Outcome says how Allocate placed a client.
type Outcome uint8

// The outcomes of Allocate.
const (
	// OutcomeSticky: the client stays on its subscription.
	OutcomeSticky Outcome = iota + 1
	// OutcomeNew: a client without a session got a subscription.
	OutcomeNew
	// OutcomeMoved: the client left its subscription (see Allocation.Reason)
	// for another, or came back from the fallback. A client that comes back
	// after its hold on a slot ended, to a subscription that filled up
	// meanwhile, moves with ReasonPlaceTaken.
	OutcomeMoved
	// OutcomeFallback: no subscription could take the client; it got the
	// fallback credential.
	OutcomeFallback
)

var outcomeNames = [...]string{OutcomeSticky: "sticky", OutcomeNew: "new", OutcomeMoved: "moved", OutcomeFallback: "fallback"}

// String returns "sticky", "new", "moved" or "fallback".
func (o Outcome) String() string {
	if o > 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// MarshalText returns the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	i, err := parseName(outcomeNames[:], b, "outcome")
	if err == nil {
		*o = Outcome(i)
	}
	return err
}

// Reason says why a client was placed where it was, why a subscription
// takes no new clients, or why Rebalance acted.
type Reason string

// The reasons.
const (
	ReasonLimited         Reason = "limited"
	ReasonDisabled        Reason = "disabled"
	ReasonGone            Reason = "removed"
	ReasonBlockSpent      Reason = "block budget spent"
	ReasonWeekSpent       Reason = "weekly budget spent"
	ReasonDaySpent        Reason = "daily budget spent"
	ReasonWeeklyThreshold Reason = "over weekly threshold"
	ReasonModelLimited    Reason = "limited for the model"
	ReasonFull            Reason = "full"
	ReasonPlaceTaken      Reason = "place taken while idle"
	ReasonFromFallback    Reason = "back from fallback"
	ReasonNoneEligible    Reason = "no subscription can take the client"
	ReasonBlockGap        Reason = "block room gap"
)

// reasonOrder lists the reasons a subscription takes no new client, in the
// order an ExhaustedError reports them.
var reasonOrder = []Reason{ReasonLimited, ReasonDisabled, ReasonGone, ReasonBlockSpent, ReasonWeekSpent,
	ReasonDaySpent, ReasonWeeklyThreshold, ReasonModelLimited, ReasonFull, ReasonTried}

// Allocation is where Allocate placed a client: the subscription and its
// credential, and how it got there.
type Allocation struct {
	ClientID       string `json:"clientId"`
	SubscriptionID string `json:"subscriptionId"` // FallbackID for the fallback
	Kind           Kind   `json:"kind"`
	// Credential authenticates the client's requests; send it upstream.
	Credential Credential `json:"credential,omitzero"`
	Outcome    Outcome    `json:"outcome"`
	// From is the subscription the client left: set for OutcomeMoved, and
	// for OutcomeFallback when the client has just left a subscription.
	From string `json:"from,omitempty"`
	// Reason says why the client is not sticky: why it left From
	// (ReasonLimited, ReasonBlockSpent, ReasonFromFallback,
	// ReasonPlaceTaken, ...), or, for a client that stays on the fallback,
	// ReasonNoneEligible. A client without a session sent to the fallback
	// gets why no subscription took it: the reason most of them refused it
	// for (ReasonFull, ReasonWeekSpent, ReasonLimited, ...; a tie goes to
	// the reason an ExhaustedError lists first). Empty when sticky, and for
	// a new client placed on a subscription (OutcomeNew says it all).
	Reason Reason `json:"reason,omitempty"`
	// OverThreshold is set when the subscription took the client though
	// it is at or over the weekly threshold, and its week is not forecast
	// to lapse with capacity unused, or past a budget by the pool's own
	// count: no subscription below could take it (with
	// Config.FallbackFirst, not even the fallback).
	OverThreshold bool `json:"overThreshold,omitempty"`
}
