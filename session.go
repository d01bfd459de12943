package authpool

import (
	"fmt"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

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

// sessionIdle reports, at now, whether a session last active at last whose
// hold on a slot ends at hold is idle (quiet past p.IdleAfter and holding
// no slot) and whether it is stale (quiet past p.StaleAfter as well).
func sessionIdle(last, hold, now time.Time, p SessionPolicy) (idle, stale bool) {
	quiet := now.Sub(last)
	if quiet < time.Duration(p.IdleAfter) || hold.After(now) {
		return false, false
	}
	return true, quiet >= time.Duration(p.StaleAfter)
}

// SessionStatus is a client's session as Snapshot and RemoveSubscription
// report it.
type SessionStatus struct {
	ClientID       string `json:"clientId"`
	SubscriptionID string `json:"subscriptionId"`
	// Idle is true when the client has not been active within
	// Sessions.IdleAfter (5 minutes by default) and holds no slot (the
	// prompt cache its last request wrote has expired): Rebalance may move
	// it. Stale is true when it is idle past Sessions.StaleAfter as well (30
	// minutes by default): Rebalance releases it.
	Idle  bool `json:"idle,omitempty"`
	Stale bool `json:"stale,omitempty"`
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
	idle, stale := sessionIdle(s.LastActive, s.HoldUntil, now, p.cfg.Sessions)
	return SessionStatus{
		ClientID:       s.ClientID,
		SubscriptionID: s.SubscriptionID,
		Idle:           idle,
		Stale:          stale,
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
