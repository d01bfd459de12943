package authpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// Pool shares subscriptions among clients. It is safe for concurrent use by
// multiple goroutines, and several Pools (in one process or many) may share
// one Store. A Pool keeps no timer: the host calls Rebalance on its own
// schedule; its only goroutines deliver notifications to the notifiers
// (WithNotifier) and end with Close. Use it through the *Pool New returns.
type Pool struct {
	// *pool holds the pool's state: a Pool value (a copy of *p) shares it,
	// holds no lock of its own to copy, and prints, with any fmt verb, as
	// Format says, never its credentials.
	*pool
}

// pool is a Pool's state.
type pool struct {
	// cfg is the Config with defaults applied, behind a pointer: fmt prints
	// a pointer it reaches through a field as an address (with %v, which
	// it also uses for the fields of a value a bad verb makes it print).
	cfg    *Config
	store  store.Store
	sealer *seal.Keyring // from WithSealer; nil: credentials stored plain
	// stored is store without its sealing: records with their credentials
	// as stored (sealed or not), for writeCredential to replace one that
	// does not open. Without a sealer, it is store.
	stored store.Store
	// hot is the store itself, neither sealed nor counting, for the calls
	// of the hot path (Touch, AddUsage), which carry no credential: one
	// interface call rather than three, their failures counted by counted.
	hot store.Store

	refresher     RefreshFunc   // from WithRefresher; nil: credentials are not refreshed
	refreshBefore time.Duration // how long before its expiry a credential is refreshed
	now           func() time.Time
	log           *slog.Logger

	closed   atomic.Bool
	counters counters // what Stats reports

	notes        *notifications // nil without notifiers
	eventIDs     *eventIDs
	notifiers    []Notifier            // from WithNotifier
	alerts       map[string]*alertMark // what was reported, by subscription; under mu
	exhaustedKey string                // the last exhaustion reported; under mu
	throttles    map[string]throttle   // the last throttle pause, by subscription; under mu
	unpriced     unpricedModels        // the models reported as having no price of their own

	refreshMu sync.Mutex   // one refresh at a time
	builtAt   atomic.Int64 // when the view was read, Unix nanoseconds; 0: read it before use
	mu        sync.Mutex   // guards the changing parts of the view's subscriptions, and publishing a view
	// statusSeq counts the times the view took subscriptions' statuses
	// from elsewhere than a Touch (setStatus, load, reload), under mu: a
	// Touch sent before the last of them may carry an older status.
	statusSeq atomic.Uint64
	view      atomic.Pointer[view]
	// order is the order the tiers are tried in (see tiers), set by New.
	order []tier
}

// Option configures what a Config cannot hold.
type Option func(*Pool)

// WithStore makes the pool keep its state in s. The default is a new
// memstore.Store: one process, nothing kept across restarts.
func WithStore(s store.Store) Option { return func(p *Pool) { p.store = s } }

// WithClock makes the pool read the time from now: tests and simulations
// step through weeks in microseconds. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(p *Pool) { p.now = now } }

// WithLogger makes the pool log to l. The default discards logs.
func WithLogger(l *slog.Logger) Option { return func(p *Pool) { p.log = l } }

// WithNotifier adds n to the notifiers that receive the pool's events,
// besides the log of Config.Notify: a webhook.Notifier, for one. A notifier
// that holds secrets of its own says so with a method Secrets()
// []Credential (a webhook.Notifier's signing secret): the pool scrubs them,
// as it does its credentials, from the reasons it keeps, logs and reports.
func WithNotifier(n Notifier) Option { return func(p *Pool) { p.notifiers = append(p.notifiers, n) } }

// New returns a Pool with cfg's policy. It validates cfg, reporting every
// problem at once in an error matching ErrInvalidConfig, and writes cfg's
// subscriptions and fallback to the store: a subscription the store already
// has (after a restart, or from another process) keeps its status, clients
// and usage, and takes cfg's name, kind, credential, capacity and budgets.
func New(ctx context.Context, cfg Config, opts ...Option) (*Pool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{&pool{cfg: &cfg, now: time.Now, order: tiers(cfg.FallbackFirst, cfg.StrictBudgets)}}
	for _, opt := range opts {
		opt(p)
	}
	if p.refresher != nil && p.refreshBefore <= 0 {
		return nil, fmt.Errorf("authpool: WithRefresher: before is %v: it must be positive: %w", p.refreshBefore, ErrInvalidArgument)
	}
	base := p.store
	if base == nil {
		base = memstore.New()
	}
	p.hot = base
	p.stored = countingStore{Store: base, errs: &p.counters.storeErrors}
	p.store = p.stored
	if p.sealer != nil {
		p.store = countingStore{Store: seal.NewStore(base, p.sealer), errs: &p.counters.storeErrors}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	notifiers := p.configNotifiers()
	p.alerts = make(map[string]*alertMark)
	p.throttles = make(map[string]throttle)
	p.eventIDs = newEventIDs()
	for _, rec := range p.configRecords() {
		err := p.store.CreateSubscription(ctx, rec)
		if errors.Is(err, store.ErrExists) {
			if rec, err = p.keepRefreshed(ctx, rec); err == nil {
				err = p.store.UpdateSubscription(ctx, rec)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("authpool: write subscription %q to the store: %w", rec.ID, err)
		}
	}
	p.notes = newNotifications(notifiers, cfg.Notify.QueueSize, p.store, p.log)
	if err := p.refresh(ctx, p.now(), true); err != nil {
		_ = p.notes.close(ctx)
		return nil, err
	}
	return p, nil
}

// configRecords returns the store records of the Config's subscriptions
// and fallback.
func (p *Pool) configRecords() []store.Subscription {
	recs := make([]store.Subscription, 0, len(p.cfg.Subscriptions)+1)
	for _, s := range p.cfg.Subscriptions {
		recs = append(recs, s.record(p.cfg.MaxClients))
	}
	if p.cfg.Fallback != nil {
		recs = append(recs, fallbackRecord(*p.cfg.Fallback))
	}
	return recs
}

// configNotifiers returns the notifiers of WithNotifier and Config.Notify.
func (p *Pool) configNotifiers() []Notifier {
	notifiers := slices.Clone(p.notifiers)
	if l := p.cfg.Notify.Log; l != nil {
		notifiers = append(notifiers, newLogNotifier(p.log, l.Level, l.Events...))
	}
	return notifiers
}

// Format prints the pool as a summary, for every fmt verb, whether given a
// *Pool or a Pool (fmt.Printf("%v", *p)): the number of subscriptions
// configured, whether there is a fallback, whether it is closed. fmt would
// otherwise print the configuration's credentials, which it reaches through
// unexported fields where their redacting Format is not called.
func (p Pool) Format(f fmt.State, _ rune) {
	if p.pool == nil {
		_, _ = io.WriteString(f, "authpool.Pool(nil)")
		return
	}
	_, _ = fmt.Fprintf(f, "authpool.Pool{subscriptions: %d, fallback: %t, closed: %t}",
		len(p.cfg.Subscriptions), p.cfg.Fallback != nil, p.closed.Load())
}

// Close stops the pool: later calls return ErrClosed. It delivers the
// events still queued until ctx ends, then stops the delivery goroutine
// (returning ctx's error if events were abandoned). It does not close a
// Store given with WithStore. Close may be called more than once.
func (p *Pool) Close(ctx context.Context) error {
	p.closed.Store(true)
	return p.notes.close(ctx)
}

// usable returns ErrClosed after Close.
func (p *Pool) usable() error {
	if p.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Record counts what one request of the client used: in the client's
// session and in the hourly windows of its subscription (u.SubscriptionID
// if set, else the client's current one), which moves the subscription's
// block and weekly use, burn rate and health. It extends the client's hold
// on its slot (see Allocate) to Sessions.IdleAfter from now, or to
// u.CacheTTL from now when that is longer; a client whose hold had ended
// gets it back only while its subscription has room (the usage counts
// either way). Recording a usage whose ID the store remembers counts nothing
// and returns nil: a retried request, or a response two processes record, is
// billed once. An ID is remembered for Config.RememberUsageIDs after its
// usage's time, within Config.UsageIDMemoryMiB (see ErrUsageTooOld).
//
// Record refuses, changing nothing, a usage with a negative, NaN or infinite
// number, no time, a time outside the week, or a CacheTTL outside
// 0..MaxCacheTTL (ErrInvalidArgument), a usage with an ID the store may have
// forgotten (ErrUsageTooOld), and a client without a session
// (ErrUnknownClient).
func (p *Pool) Record(ctx context.Context, clientID string, u Usage) error {
	if err := p.usable(); err != nil {
		return err
	}
	if err := bounds.CheckText("client ID", clientID, false); err != nil {
		return fmt.Errorf("authpool: record: %w: %w", err, ErrInvalidArgument)
	}
	now := p.now()
	var rec store.UsageRecord
	if err := u.record(now, time.Duration(p.cfg.RememberUsageIDs), p.rememberBytes(), &rec); err != nil {
		return fmt.Errorf("authpool: record for client %q: %w: %w", clientID, err, ErrInvalidArgument)
	}
	if !p.cfg.Block.Fixed {
		rec.BlockHours = p.cfg.Block.Hours
	}
	rec.HoldUntil = p.holdFor(now, u.CacheTTL)
	if rec.SubscriptionID != "" {
		if err := p.known(ctx, rec.SubscriptionID, now); err != nil {
			return fmt.Errorf("authpool: record for client %q: usage.subscriptionId %q: %w", clientID, rec.SubscriptionID, err)
		}
	}
	added, err := p.hot.AddUsage(ctx, clientID, rec)
	p.counted(err)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrDuplicate):
		p.counters.duplicates.Add(1)
		return nil
	case errors.Is(err, store.ErrForgotten):
		return fmt.Errorf("authpool: record for client %q: %w", clientID, p.tooOld(err, now))
	case errors.Is(err, store.ErrNotFound):
		if rec.SubscriptionID != "" && p.known(ctx, rec.SubscriptionID, now) != nil {
			return fmt.Errorf("authpool: record for client %q: usage.subscriptionId %q: %w", clientID, rec.SubscriptionID, ErrNotFound)
		}
		return fmt.Errorf("authpool: record for client %q: %w", clientID, ErrUnknownClient)
	default:
		return fmt.Errorf("authpool: record for client %q: %w", clientID, err)
	}
	p.noteUsage(added.Billed, &rec, true)
	p.noteHold(added.SubscriptionID, added.Held, added.HoldUntil, now)
	p.counters.records.Add(1)
	if u.PricedAs != "" {
		p.noteEstimate(ctx, u, now)
	}
	return nil
}

// rememberBytes is the store's budget for usage IDs, in bytes.
func (p *Pool) rememberBytes() int64 { return int64(p.cfg.UsageIDMemoryMiB) << 20 }

// tooOld counts a usage the store refused with store.ErrForgotten at now,
// and returns the error Record and Charge return for it: ErrUsageTooOld,
// with the usage's time, the store's horizon, and the setting that would
// have kept its ID: RememberUsageIDs when the usage is older than it
// allows, UsageIDMemoryMiB when the memory ran out first.
func (p *Pool) tooOld(err error, now time.Time) error {
	p.counters.tooOld.Add(1)
	var fe *store.ForgottenError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%w (%w): raise Config.UsageIDMemoryMiB", ErrUsageTooOld, err)
	}
	remember := time.Duration(p.cfg.RememberUsageIDs)
	raise := fmt.Sprintf("Config.UsageIDMemoryMiB (now %d MiB)", p.cfg.UsageIDMemoryMiB)
	if !fe.Time.After(now.Add(-remember)) {
		raise = fmt.Sprintf("Config.RememberUsageIDs (now %v)", remember)
	}
	return fmt.Errorf("usage %q at %v is at or before %v, the oldest usage time whose IDs the store still tells apart: it may have been counted already; to keep such IDs, raise %s: %w",
		fe.ID, fe.Time.UTC().Format(time.RFC3339Nano), fe.Horizon.UTC().Format(time.RFC3339Nano), raise, ErrUsageTooOld)
}

// Charge counts a usage against a subscription with no client: spending the
// pool did not see, such as what was spent before the pool started (see
// transcript.Read and transcript.WarmPool) or by a tool outside it. It
// moves the subscription's block and weekly use like Record, but no session
// and no activity. u.SubscriptionID is ignored. The refusals are Record's;
// an unknown subscription is ErrNotFound.
func (p *Pool) Charge(ctx context.Context, subscriptionID string, u Usage) error {
	if err := p.usable(); err != nil {
		return err
	}
	now := p.now()
	u.SubscriptionID = subscriptionID
	var rec store.UsageRecord
	if err := u.record(now, time.Duration(p.cfg.RememberUsageIDs), p.rememberBytes(), &rec); err != nil {
		return fmt.Errorf("authpool: charge %q: %w: %w", subscriptionID, err, ErrInvalidArgument)
	}
	if !p.cfg.Block.Fixed {
		rec.BlockHours = p.cfg.Block.Hours
	}
	if err := p.known(ctx, subscriptionID, now); err != nil {
		return fmt.Errorf("authpool: charge %q: %w", subscriptionID, err)
	}
	added, err := p.hot.AddUsage(ctx, "", rec)
	p.counted(err)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		p.counters.duplicates.Add(1)
		return nil
	case errors.Is(err, store.ErrForgotten):
		return fmt.Errorf("authpool: charge %q: %w", subscriptionID, p.tooOld(err, now))
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("authpool: charge %q: %w", subscriptionID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("authpool: charge %q: %w", subscriptionID, err)
	}
	p.noteUsage(added.Billed, &rec, false)
	p.counters.records.Add(1)
	if u.PricedAs != "" {
		p.noteEstimate(ctx, u, now)
	}
	return nil
}

// known returns nil if the pool has a subscription with that ID, reading the
// store again before it says ErrNotFound.
func (p *Pool) known(ctx context.Context, id string, now time.Time) error {
	if _, ok := p.current().byID[id]; ok {
		return nil
	}
	if err := p.refresh(ctx, now, true); err != nil {
		return err
	}
	if _, ok := p.current().byID[id]; !ok {
		return ErrNotFound
	}
	return nil
}

// Release ends the client's session, and its hold on a slot: its
// subscription has room for another.
// Releasing a client without a session does nothing, so Release may be
// called more than once.
func (p *Pool) Release(ctx context.Context, clientID string) error {
	if err := p.usable(); err != nil {
		return err
	}
	if err := bounds.CheckText("client ID", clientID, false); err != nil {
		return fmt.Errorf("authpool: release: %w: %w", err, ErrInvalidArgument)
	}
	sess, err := p.store.Release(ctx, clientID, time.Time{})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("authpool: release client %q: %w", clientID, err)
	}
	p.noteMove(sess.SubscriptionID, "", sess.HoldUntil, time.Time{}, p.now(), false)
	return nil
}
