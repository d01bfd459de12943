package store

import (
	"fmt"
	"time"
)

// This file holds a request's usage as a store adds it, and what adding it
// came to.

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
