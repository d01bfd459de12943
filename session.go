package authpool

import (
	"fmt"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// SessionState is a session's activity: active, idle or stale.
type SessionState uint8

// The states of a session, by the time since its last activity and its
// hold on a slot (see Pool.Allocate).
const (
	// SessionActive: active within Sessions.IdleAfter (5 minutes by
	// default), or holding its slot while the prompt cache its last request
	// wrote lives.
	SessionActive SessionState = iota
	// SessionIdle: neither; Rebalance may move it.
	SessionIdle
	// SessionStale: idle and not active within Sessions.StaleAfter (30
	// minutes by default); Rebalance releases it.
	SessionStale
)

var sessionStateNames = [...]string{SessionActive: "active", SessionIdle: "idle", SessionStale: "stale"}

// String returns "active", "idle" or "stale".
func (s SessionState) String() string {
	if int(s) < len(sessionStateNames) {
		return sessionStateNames[s]
	}
	return fmt.Sprintf("SessionState(%d)", uint8(s))
}

// MarshalText returns the state's name.
func (s SessionState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state's name.
func (s *SessionState) UnmarshalText(b []byte) error {
	i, err := parseName(sessionStateNames[:], b, "session state")
	if err == nil {
		*s = SessionState(i)
	}
	return err
}

// parseName returns the index of name b in names, or an error naming what
// was parsed and the names it may be.
func parseName(names []string, b []byte, what string) (int, error) {
	for i, name := range names {
		if name != "" && string(b) == name {
			return i, nil
		}
	}
	var valid []string
	for _, name := range names {
		if name != "" {
			valid = append(valid, name)
		}
	}
	return 0, fmt.Errorf("authpool: unknown %s %q (want one of %s)", what, b, strings.Join(valid, ", "))
}

// sessionState returns the state at now of a session last active at last
// whose hold on a slot ends at hold.
func sessionState(last, hold, now time.Time, p SessionPolicy) SessionState {
	switch idle := now.Sub(last); {
	case idle < time.Duration(p.IdleAfter) || hold.After(now):
		return SessionActive
	case idle >= time.Duration(p.StaleAfter):
		return SessionStale
	}
	return SessionIdle
}

// SessionStatus is a client's session as Snapshot and RemoveSubscription
// report it.
type SessionStatus struct {
	ClientID       string       `json:"clientId"`
	SubscriptionID string       `json:"subscriptionId"`
	State          SessionState `json:"state"`
	// Created is when the client arrived, Assigned when it joined its
	// subscription, LastActive its latest allocation or usage.
	Created    time.Time `json:"created"`
	Assigned   time.Time `json:"assigned"`
	LastActive time.Time `json:"lastActive"`
	Requests   int64     `json:"requests"`
	CostUSD    float64   `json:"costUSD"`
	Tokens     Tokens    `json:"tokens"`
	Model      string    `json:"model,omitempty"`
	// HoldUntil is when the client's hold on a slot of its subscription
	// ends (or ended): while it is after now, the client counts against the
	// subscription's MaxClients. Zero: it holds none (it was moved while
	// idle).
	HoldUntil time.Time `json:"holdUntil,omitzero"`
}

func (p *Pool) sessionStatus(s store.Session, now time.Time) SessionStatus {
	return SessionStatus{
		ClientID:       s.ClientID,
		SubscriptionID: s.SubscriptionID,
		State:          sessionState(s.LastActive, s.HoldUntil, now, p.cfg.Sessions),
		Created:        s.Created,
		Assigned:       s.Assigned,
		LastActive:     s.LastActive,
		Requests:       s.Requests,
		CostUSD:        s.Cost.USD(),
		Tokens:         s.Tokens,
		Model:          s.Model,
		HoldUntil:      s.HoldUntil,
	}
}
