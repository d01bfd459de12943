package store

import (
	"context"
	"errors"
	"time"
)

// The errors a Store returns. Implementations may wrap them with context;
// test for them with errors.Is.
var (
	// ErrNotFound: no subscription with that ID, no session for that
	// client, or no caller with that ID or key hash.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: CreateSubscription with an ID that is taken, or
	// CreateCaller with an ID or a key hash that is taken.
	ErrExists = errors.New("store: already exists")
	// ErrFull: MaxClients of the subscription's clients hold a slot (see
	// Session.HoldUntil).
	ErrFull = errors.New("store: subscription is full")
	// ErrInactive: the subscription is not in service (limited or disabled).
	ErrInactive = errors.New("store: subscription is not in service")
	// ErrConflict: the client's session is not what the conditional call
	// expected (it moved, left, arrived or became active meanwhile).
	ErrConflict = errors.New("store: session changed meanwhile")
	// ErrDuplicate: a usage with that ID was already added.
	ErrDuplicate = errors.New("store: usage already recorded")
	// ErrForgotten: a usage with an ID the store does not remember happened
	// at or before the store's horizon, so it may have been added and
	// forgotten: the store cannot tell it from one already counted. The
	// error is a *ForgottenError, which says the horizon.
	ErrForgotten = errors.New("store: usage older than the remembered usage IDs")
	// ErrUnavailable: the store's backend cannot be reached. Nothing was
	// changed, or the change was made whole: a store never half-applies an
	// operation.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrInvalid: a CallerStore was given a record or an argument it
	// refuses (an empty ID, a negative cost, ...). The error names the
	// field and its value; nothing was changed.
	ErrInvalid = errors.New("store: invalid input")
)

// Store persists an authpool's subscriptions, sessions and usage windows.
//
// A Store's methods may be called concurrently by multiple goroutines, and,
// for a shared store, by multiple processes; every method is atomic: it
// happens entirely or not at all, and no other call observes it half done.
// Every method takes a context; a call whose context has already ended
// returns an error wrapping the context's error and changes nothing. Errors other than the sentinels above are for system
// failures. A Store never chooses: it stores, checks the conditions it is
// given, and answers.
//
// Times are passed in by the caller (the pool's clock), and every rule about
// time is judged by them. A Store may read its own clock only to drop records
// that are already past their use (e.g. a TTL of twice a usage ID's
// remembrance).
//
// Capacity counts holds, not sessions. A session holds a slot of its
// subscription until its HoldUntil: a client keeps its place while it works
// (and while the prompt cache its requests wrote lives), and a one-shot
// client that never comes back stops counting once its hold ends, though
// its session stays until someone releases it. A subscription takes a
// client (Assign), or gives an idle one its place again (Touch), only while
// fewer than its MaxClients sessions hold a slot at the call's now; a store
// counts them in the same atomic step.
type Store interface {
	// CreateSubscription adds sub with no clients and no usage. It returns
	// ErrExists if the ID is taken. The store-kept fields of sub are ignored.
	CreateSubscription(ctx context.Context, sub Subscription) error

	// UpdateSubscription replaces the configuration of an existing
	// subscription (Name, Kind, Credential, CredentialExpiresAt, RefreshToken, MaxClients
	// and the budgets), keeping its status, clients, holds, usage and
	// BlockStart. Lowering MaxClients below the clients holding a slot keeps
	// them and their holds. It returns ErrNotFound if there is no
	// subscription with sub.ID.
	UpdateSubscription(ctx context.Context, sub Subscription) error

	// SetStatus sets a subscription's status. It returns ErrNotFound if
	// there is no such subscription.
	SetStatus(ctx context.Context, id string, st Status) error

	// SetModelLimit sets the limit of l.Model on a subscription, replacing
	// one of the same Model; a zero l.Until removes it. Limits whose Until
	// is not after now are dropped. It returns ErrNotFound if there is no
	// such subscription.
	SetModelLimit(ctx context.Context, id string, l ModelLimit, now time.Time) error

	// SetReported stores what the upstream reported of a subscription's
	// windows, unless a report with a later At is stored already; and when
	// blockStart is set (and the report is stored) it moves the
	// subscription's BlockStart there: the upstream's block anchors the
	// pool's. It returns ErrNotFound if there is no such subscription.
	SetReported(ctx context.Context, id string, r Reported, blockStart time.Time) error

	// DeleteSubscription removes a subscription, its usage and its sessions
	// with their holds, and returns the sessions it released. It returns ErrNotFound if there
	// is no such subscription.
	DeleteSubscription(ctx context.Context, id string) ([]Session, error)

	// Subscription returns one subscription with its store-kept fields. It
	// returns ErrNotFound if there is none with that ID.
	Subscription(ctx context.Context, id string) (Subscription, error)

	// Subscriptions returns every subscription with its store-kept fields,
	// ordered by ID.
	Subscriptions(ctx context.Context) ([]Subscription, error)

	// Touch marks the client's session active at now (LastActive never moves
	// back), extends its hold to holdUntil (a hold never moves back), and
	// returns the session's subscription with that subscription's current
	// status and the hold before and after: the sticky path of an
	// allocation, in one step. A client whose hold has ended (its HoldUntil
	// is not after now, or the store dropped it) takes its place again, with
	// a holdUntil after now, only while fewer than the subscription's
	// MaxClients clients hold a slot at now; else Touch returns the
	// subscription, its status and the hold with ErrFull, and changes
	// nothing. It returns ErrNotFound if the client has no session.
	Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (Touched, error)

	// Assign puts a.ClientID on a.SubscriptionID, if and only if the client
	// is on a.From ("" meaning it has no session) and, when a.IdleSince is
	// set, was last active at or before it (else ErrConflict); the target
	// exists (else ErrNotFound); its status is in service at a.Now (else
	// ErrInactive); and fewer than its MaxClients of its sessions hold a slot
	// at a.Now (else ErrFull). A client already on a.SubscriptionID is marked
	// active at a.Now and its hold extended to a.HoldUntil as Touch does
	// (ErrFull included); the target's status is not checked. A client that
	// moves leaves its old subscription's count and its hold there; its
	// session keeps its totals and gets Assigned a.Now and the hold
	// a.HoldUntil on the target; it and the target become LastActive at a.Now
	// unless a.IdleSince is set: moving an idle client is not activity. A new
	// session is Created, Assigned and LastActive at a.Now, with the hold
	// a.HoldUntil. Assign returns the session as it is after the call.
	Assign(ctx context.Context, a Assignment) (Session, error)

	// Release ends the client's session, and its hold, and returns it. When
	// idleSince is set, it releases only a session last active at or before
	// idleSince (else ErrConflict). It returns ErrNotFound if the client has no
	// session, so a second Release of the same client returns ErrNotFound.
	Release(ctx context.Context, clientID string, idleSince time.Time) (Session, error)

	// Sessions returns the sessions q selects, in no particular order unless
	// q.Limit is positive (see SessionQuery). An unknown q.SubscriptionID
	// selects no session; it is not an error.
	Sessions(ctx context.Context, q SessionQuery) ([]Session, error)

	// AddUsage adds u to the client's session (cost, tokens, one request,
	// Model; LastActive moves forward to u.Now, never back; its hold extends
	// to u.HoldUntil as Touch extends it, but a hold that has ended is
	// renewed only while the subscription has room, and a full one refuses
	// nothing: the usage counts either way) and to the hourly
	// bucket of u.Time (cost, tokens, one request) and, when it costs
	// something, the minute bucket of u.Time (cost) of the subscription
	// billed (u.SubscriptionID, or the
	// session's), whose LastActive also moves forward to u.Now and whose
	// BlockStart moves as u.BlockHours says. A usage whose
	// hour is WeekHours or more hours before the subscription's newest bucket
	// is not kept in a bucket, and one whose minute is BurnMinutes or more
	// minutes before its newest minute bucket not in a minute bucket; the
	// session counts it regardless. It returns
	// ErrNotFound if the client has no session or u.SubscriptionID does not
	// exist. With an empty clientID the usage counts only in the bucket of
	// u.SubscriptionID (which must be set): spending the pool did not see,
	// not anyone's activity. It returns the subscription billed, and the
	// client's subscription with its hold before and after.
	//
	// A usage with an ID is counted once, exactly. The store remembers the
	// IDs it added, each by its usage's own time (u.Time, not u.Now), within
	// a bounded memory, and keeps a horizon: a time at or before which it may
	// have forgotten an ID. Every ID it added whose usage time is after the
	// horizon is still remembered. So it answers:
	//   - u.ID remembered: ErrDuplicate, changing nothing;
	//   - u.ID not remembered and u.Time after the horizon: a new usage,
	//     counted, and its ID remembered;
	//   - u.ID not remembered and u.Time at or before the horizon:
	//     ErrForgotten (a *ForgottenError), changing nothing.
	// The horizon only moves forward: it is at least u.Now - u.Remember,
	// and at least the usage time of every ID the store has forgotten. The
	// store forgets its oldest IDs, those of the earliest usage times, a
	// few per call and never in a sweep,
	// when one more would not fit in u.RememberBytes (at the store's own
	// cost per ID; it remembers at least one) or when their usage time is at
	// or before u.Now - u.Remember; it forgets nothing otherwise, so an ID
	// remembered at or before the horizon stays a duplicate until a new ID
	// makes it go. A store that forgot nothing has no horizon but
	// u.Now - u.Remember. A store may compare times at a resolution as coarse as a
	// microsecond (a usage within the horizon's microsecond is at it).
	AddUsage(ctx context.Context, clientID string, u UsageRecord) (Added, error)

	// Claim records key until until and reports whether this call made the
	// claim: false if a claim on key made earlier is still live at now (its
	// until is after now). It is how pools sharing a store agree that only
	// one of them reports an event. A claim is judged at the now of the
	// later call; an implementation may keep it past its until.
	Claim(ctx context.Context, key string, now, until time.Time) (bool, error)
}
