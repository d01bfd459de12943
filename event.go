package authpool

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// EventType says what an Event reports.
type EventType string

// The events a pool emits.
const (
	// EventThreshold: a subscription's use crossed an alert threshold (80 %
	// and 90 % by default) of its block, weekly or, for the fallback, daily
	// budget. Once per window per threshold; see Event.Threshold.
	EventThreshold EventType = "threshold"
	// EventFailover: a client was sent to the fallback, or moved off a
	// limited subscription; see Event.Move.
	EventFailover EventType = "failover"
	// EventRotation: Rebalance moved an idle client; see Event.Move.
	EventRotation EventType = "rotation"
	// EventLimited: a subscription was taken out of service until a time;
	// see Event.Limit.
	EventLimited EventType = "limited"
	// EventRecovered: a limited subscription's limit ended; it serves
	// clients again. Reported by the first call that finds it back.
	EventRecovered EventType = "recovered"
	// EventDisabled: a subscription was taken out of service until someone
	// enables it, e.g. because the upstream refused its credential; see
	// Event.Limit.
	EventDisabled EventType = "disabled"
	// EventExhausted: a client was refused because no subscription and no
	// fallback could take it; see Event.Exhausted. At most once until the
	// first subscription is expected back, or once an hour when none is or
	// when the first back is a full one (its clients' holds, and so RetryAt,
	// move on while they work).
	EventExhausted EventType = "exhausted"
	// EventRefreshFailed: the RefreshFunc given WithRefresher failed to
	// refresh a subscription's expiring credential, or its result was
	// refused; it is tried again later. See Event.Credential.
	EventRefreshFailed EventType = "refreshFailed"
	// EventUnpricedModel: a usage was recorded at an estimated cost,
	// because its model has no price of its own (Usage.PricedAs); see
	// Event.Unpriced. Once per model: once per pool, and, among pools
	// sharing a store, once a week.
	EventUnpricedModel EventType = "unpricedModel"
)

// eventTypes lists every EventType (CheckEventTypes names them).
var eventTypes = []EventType{EventThreshold, EventFailover, EventRotation, EventLimited, EventRecovered, EventDisabled,
	EventExhausted, EventRefreshFailed, EventUnpricedModel}

// Event is something the pool reports to its notifiers. Its JSON form is
// the webhook payload's "event"; it never holds a credential.
type Event struct {
	// ID identifies the event. Events that several pools sharing a store may
	// each notice (threshold, limited, recovered, exhausted) get the same ID
	// everywhere, so a receiver can de-duplicate them.
	ID   string    `json:"id"`
	Type EventType `json:"type"`
	Time time.Time `json:"time"`
	// SubscriptionID and ClientID are what the event concerns, where that
	// applies.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	ClientID       string `json:"clientId,omitempty"`
	// Model is the model or family (e.g. "opus") an EventLimited concerns
	// when the limit covers that model only.
	Model string `json:"model,omitempty"`
	// One of the details below is set, by Type.
	Threshold *ThresholdDetail `json:"threshold,omitempty"`
	// Move is the client's move, for EventFailover and EventRotation (a
	// failover carries no block costs).
	Move *Move `json:"move,omitempty"`
	// Limit is the status set, for EventLimited (Limited until a time; for
	// Model only when Model is set) and EventDisabled; for EventRecovered,
	// the limit that ended.
	Limit *Status `json:"limit,omitempty"`
	// Exhausted is the refusal, for EventExhausted.
	Exhausted *ExhaustedError `json:"exhausted,omitempty"`
	// Credential is the failed refresh, for EventRefreshFailed; it never
	// holds the credential itself.
	Credential *CredentialRefresh `json:"credential,omitempty"`
	// Unpriced is, for EventUnpricedModel, the first usage of the model the
	// pool recorded at an estimated cost: its Model, and PricedAs what it
	// was priced as (another model, or "fallback").
	Unpriced *Usage `json:"unpriced,omitempty"`
}

// ThresholdDetail is the detail of an EventThreshold.
type ThresholdDetail struct {
	// Window is "block", "week" or "day" (the fallback's budget).
	Window string    `json:"window"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Threshold is the share of the budget crossed, e.g. 0.8.
	Threshold float64 `json:"threshold"`
	UsedUSD   float64 `json:"usedUSD"`
	BudgetUSD float64 `json:"budgetUSD"`
	// Percent is UsedUSD as a percentage of BudgetUSD.
	Percent float64 `json:"percent"`
	// BurnRateUSDPerHour is the spending of the last 60 minutes.
	BurnRateUSDPerHour float64 `json:"burnRateUSDPerHour"`
	// ExhaustsAt is when the budget runs out at the burn rate; zero if not
	// before the window ends (a block, a day) or, for the rolling week, not
	// at this rate: not before its older spending leaves it (see
	// UsageWindow.ExhaustsAt).
	ExhaustsAt time.Time `json:"exhaustsAt,omitzero"`
}

// A Notifier delivers the pool's events: to a log, a webhook, a chat.
//
// The pool calls Notify from a delivery goroutine of the notifier's own,
// never from Allocate, Record or any other call of the host's, and never
// while holding a lock. A Notifier gets one event at a time, in the order
// the pool emitted them, from its own bounded queue: a slow one holds up,
// and loses, only its own events. ctx ends when
// the pool is closed and Close's deadline passes: Notify must return soon
// after. An error means the event was not delivered: the pool counts and
// logs it and does not try again (a Notifier that retries, like the
// webhook's, does so itself within ctx). Notify must not modify e.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }

// eventID returns the ID of an event that several pools may each notice:
// derived from what makes it one event, so that it is the same everywhere.
func eventID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "evt_" + hex.EncodeToString(sum[:16])
}

// eventIDs makes the IDs of events only one pool emits: a random prefix
// drawn when the pool is made, then a count, so that IDs are unique across
// pools without a random draw per event.
type eventIDs struct {
	prefix [8]byte
	count  atomic.Uint64
}

func newEventIDs() *eventIDs {
	ids := &eventIDs{}
	_, _ = rand.Read(ids.prefix[:]) // crypto/rand.Read never fails
	return ids
}

// next returns a new ID: "evt_" and 32 hex digits, like eventID's.
func (ids *eventIDs) next() string {
	var b [16]byte
	copy(b[:8], ids.prefix[:])
	binary.BigEndian.PutUint64(b[8:], ids.count.Add(1))
	return "evt_" + hex.EncodeToString(b[:])
}

// String returns a one-line description for logs and tests.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Type, e.Time.UTC().Format(time.RFC3339))
	if e.SubscriptionID != "" {
		s += " subscription=" + e.SubscriptionID
	}
	if e.ClientID != "" {
		s += " client=" + e.ClientID
	}
	switch {
	case e.Threshold != nil:
		t := e.Threshold
		s += fmt.Sprintf(" %s %.0f%%: $%.2f of $%.2f", t.Window, 100*t.Threshold, t.UsedUSD, t.BudgetUSD)
	case e.Move != nil:
		s += fmt.Sprintf(" %s -> %s (%s)", e.Move.From, e.Move.To, e.Move.Reason)
	case e.Limit != nil:
		if e.Model != "" {
			s += " model " + e.Model
		}
		if !e.Limit.Until.IsZero() {
			s += " until " + e.Limit.Until.UTC().Format(time.RFC3339)
		}
	case e.Unpriced != nil:
		s += " model " + e.Unpriced.Model + " priced as " + e.Unpriced.PricedAs
	case e.Credential != nil:
		s += " expires " + e.Credential.ExpiresAt.UTC().Format(time.RFC3339)
		if e.Credential.Err != nil {
			s += ": " + e.Credential.Err.Error()
		}
	case e.Exhausted != nil && !e.Exhausted.RetryAt.IsZero():
		s += " retry at " + e.Exhausted.RetryAt.UTC().Format(time.RFC3339)
	}
	return s
}
