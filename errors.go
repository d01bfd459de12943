package authpool

import (
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool/store"
)

// The errors of package authpool. Errors returned by a Pool wrap them with
// what was wrong and where; test for them with errors.Is.
var (
	// ErrExhausted: no subscription can take the client and there is no
	// fallback, or the fallback's daily budget is spent. The error is an
	// *ExhaustedError, which says when a subscription comes back.
	ErrExhausted = errors.New("authpool: pool exhausted")
	// ErrUnknownClient: the client has no session (it was never allocated,
	// or it was released).
	ErrUnknownClient = errors.New("authpool: unknown client")
	// ErrNotFound: no subscription with that ID.
	ErrNotFound = errors.New("authpool: subscription not found")
	// ErrExists: a subscription with that ID already exists.
	ErrExists = errors.New("authpool: subscription already exists")
	// ErrUsageTooOld: Record or Charge was given a usage with an ID the
	// store does not remember whose time is at or before the store's horizon
	// of usage IDs: it may have been counted already and its ID forgotten
	// to keep within Config.UsageIDMemoryMiB (or it is older than
	// Config.RememberUsageIDs), so counting it could count it twice. Nothing
	// was recorded; raise Config.UsageIDMemoryMiB if it happens for usage
	// that is not a re-import.
	ErrUsageTooOld = errors.New("authpool: usage older than the remembered usage IDs")
	// ErrInvalidConfig: a Config or Subscription is not valid. Nothing was
	// changed.
	ErrInvalidConfig = errors.New("authpool: invalid config")
	// ErrInvalidArgument: a client ID, subscription ID, time or reason is not
	// valid, or Record or Charge was given a usage it cannot count (negative,
	// NaN or infinite numbers, no time, a time outside the week). Nothing was
	// changed.
	ErrInvalidArgument = errors.New("authpool: invalid argument")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("authpool: pool closed")
)

// ExhaustedError is the error of an Allocate that found no subscription and
// no fallback. It matches ErrExhausted with errors.Is.
type ExhaustedError struct {
	// ClientID is the client that was refused.
	ClientID string `json:"clientId"`
	// RetryAt is the earliest time a subscription is expected to take a
	// client again (a limit's end, a block's end, the week's budget freeing
	// up, the fallback's new day, or, for a full one, the end of enough of
	// its clients' holds on their slots, if they do not work on). Zero when
	// nothing is expected back by itself (every subscription disabled).
	RetryAt time.Time `json:"retryAt,omitzero"`
	// Reasons counts, per reason, the subscriptions that could not take the
	// client.
	Reasons map[Reason]int `json:"reasons"`
	// Fallback says why the fallback could not take the client; "" when the
	// pool has no fallback.
	Fallback Reason `json:"fallback,omitempty"`
}

// Error says who was refused, why each subscription refused, and when the
// first is expected back.
func (e *ExhaustedError) Error() string {
	msg := fmt.Sprintf("authpool: no subscription can take client %q", e.ClientID)
	if len(e.Reasons) > 0 {
		msg += " ("
		first := true
		for _, r := range reasonOrder {
			if n := e.Reasons[r]; n > 0 {
				if !first {
					msg += ", "
				}
				msg += fmt.Sprintf("%d %s", n, r)
				first = false
			}
		}
		msg += ")"
	}
	if e.Fallback != "" {
		msg += "; fallback: " + string(e.Fallback)
	}
	if e.RetryAt.IsZero() {
		return msg + "; none is expected back by itself"
	}
	return msg + "; the first is expected back at " + e.RetryAt.UTC().Format(time.RFC3339)
}

// Is reports whether target is ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// storeError translates a store's not-found and exists errors into this
// package's, keeping the store's message.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w (%w)", ErrExists, err)
	}
	return err
}
