package store

import (
	"context"
	"time"
)

// CallerStore keeps a proxy's callers and counts what each spends, beside
// the subscriptions, so that proxies sharing a store know the same callers
// and hold each caller's cap together. A Store may implement it (memstore
// and redisstore do; seal.Store passes it through); find out with a type
// assertion:
//
//	cs, ok := st.(store.CallerStore)
//
// Its methods keep the Store's rules: each is atomic, safe for concurrent
// use by goroutines and, for a shared store, by processes; a call whose
// context has ended changes nothing; times are the caller's, and a store
// reads its own clock only to drop what is past its use. Bad input is
// refused with an error wrapping ErrInvalid that names the field and its
// value (the Check functions of this package say what is refused), and
// changes nothing.
//
// # Spending
//
// A caller's spending is kept as a subscription's is: hourly totals (a
// request count, tokens, cost) for the WeekHours hours up to its newest,
// and at most MaxCallerSessions sessions' totals, those charged within
// that week; a store forgets older ones (a session charged again after
// it was forgotten starts anew). Charges are de-duplicated by
// usage ID exactly as AddUsage de-duplicates usages, in a set of IDs of
// their own.
//
// # Caps
//
// AdmitCaller and ReleaseCaller hold a caller's cap across the processes
// sharing the store. A request is admitted, and holds a lease until it is
// released or the lease's time is up, only while
//
//	used < budget  and  used + inFlight × estimate < budget
//
// where used is what the caller spent in the window, inFlight the leases
// live at now and estimate its LargestCharge; while no charge has been
// counted (estimate 0), requests are admitted one at a time. So when no
// request costs more than the largest before it, the window's spending
// ends below budget + estimate: the cap is overshot by less than one
// request's cost, however many processes admit at once. A request that
// costs more than any before it overshoots by up to its own cost: in all,
// by less than the estimate plus, over the requests in flight, what each
// cost beyond the estimate. Near the cap that is rarely more than one
// request, since few are then in flight. A lease ends by itself after its
// length: a crashed process blocks a caller near its cap no longer than
// that, and a request that outlives its lease stops counting as in flight.
// Spending charged without an admission is not bounded.
type CallerStore interface {
	// CreateCaller adds c (its store-kept LargestCharge ignored) with no
	// spending. It returns ErrExists if c.ID or c.KeyHash is taken, and
	// ErrInvalid if c.Check refuses it.
	CreateCaller(ctx context.Context, c Caller) error

	// UpdateCaller changes the settings of caller id that u gives, in one
	// step, keeping the others, its key hash, Created, spending and
	// leases. It returns ErrNotFound if there is no such caller, and
	// ErrInvalid if u.Check refuses it.
	UpdateCaller(ctx context.Context, id string, u CallerUpdate) error

	// DeleteCaller removes a caller with its key hash, spending, sessions
	// and leases. It returns ErrNotFound if there is no such caller.
	DeleteCaller(ctx context.Context, id string) error

	// Caller returns one caller. It returns ErrNotFound if there is none
	// with that ID.
	Caller(ctx context.Context, id string) (Caller, error)

	// Callers returns every caller, ordered by ID.
	Callers(ctx context.Context) ([]Caller, error)

	// CallerByKey returns the caller whose KeyHash is keyHash, or
	// ErrNotFound.
	CallerByKey(ctx context.Context, keyHash [32]byte) (Caller, error)

	// ChargeCaller counts c for caller id: one request, its tokens and cost
	// in the hourly total of c.At's hour (unless that hour is WeekHours or
	// more before the caller's newest, as AddUsage keeps buckets) and in
	// the totals of c.Session, and raises the caller's LargestCharge to
	// c.Cost. It reports whether c was counted: false, changing nothing,
	// when c.UsageID is remembered. Usage IDs are remembered as AddUsage
	// remembers them (c.Now, c.Remember, c.RememberBytes): an ID not
	// remembered whose c.At is at or before the horizon is refused with a
	// *ForgottenError (ErrForgotten), changing nothing. It returns
	// ErrNotFound, remembering nothing, if there is no such caller.
	ChargeCaller(ctx context.Context, id string, c Charge) (bool, error)

	// CallerUsage returns the caller's non-empty hourly totals whose Hour
	// is in [fromHour, toHour] (see HourOf), oldest first: those of the
	// WeekHours hours up to its newest that it keeps.
	CallerUsage(ctx context.Context, id string, fromHour, toHour int64) ([]Bucket, error)

	// CallerSessions returns the sessions of the caller charged in
	// [fromHour, toHour] — the hour of First at or before toHour, the hour
	// of Last at or after fromHour — with their totals, the most recently
	// charged first (ties by Session). At most MaxCallerSessions.
	CallerSessions(ctx context.Context, id string, fromHour, toHour int64) ([]CallerSession, error)

	// AdmitCaller decides whether a request of caller id may go under a
	// cap of budget over the windowHours hours up to now's (see the rule
	// above), and if so gives it a lease that ends at now + lease. The
	// Admission says why, with what was used and when that falls. It
	// returns ErrNotFound if there is no such caller.
	AdmitCaller(ctx context.Context, id string, now time.Time, budget Nanodollars, windowHours int, lease time.Duration) (Admission, error)

	// ReleaseCaller ends a lease AdmitCaller gave. A lease that has ended
	// already, or is unknown, is not an error. It returns ErrNotFound if
	// there is no such caller.
	ReleaseCaller(ctx context.Context, id, leaseID string) error
}
