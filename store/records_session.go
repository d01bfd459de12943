package store

import "time"

// This file holds a client's session and what the session methods take and
// return.

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
