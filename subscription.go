package authpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// Kind is a subscription's plan.
type Kind string

// The kinds of subscription.
const (
	KindPro    Kind = "pro"    // Claude Pro
	KindMax5x  Kind = "max5x"  // Claude Max, 5x Pro's use
	KindMax20x Kind = "max20x" // Claude Max, 20x Pro's use
	KindAPI    Kind = "api"    // an Anthropic API key, billed per token
)

// Credential is a subscription's secret: an API key or an OAuth token. Its
// String, GoString, JSON and slog forms are redacted; Reveal returns it.
type Credential = store.Secret

// State is whether a subscription serves clients: Active, Limited or Disabled.
type State = store.State

// The states of a subscription.
const (
	Active   = store.Active
	Limited  = store.Limited
	Disabled = store.Disabled
)

// Status is a subscription's state, when a limit ends, and why it was set.
type Status = store.Status

// FallbackID is the subscription ID under which the pool keeps its
// fallback; no subscription may use it.
const FallbackID = "fallback"

// Subscription is an account the pool shares among its clients.
type Subscription struct {
	// ID names the subscription: 1 to 64 letters, digits, '.', '_' or '-'.
	ID string `json:"id"`
	// Name is for people. Optional.
	Name string `json:"name,omitempty"`
	// Kind is the plan. Required.
	Kind Kind `json:"kind"`
	// Credential authenticates requests on the subscription. Required.
	Credential Credential `json:"credential,omitzero"`
	// CredentialExpiresAt is when Credential expires, for an OAuth token:
	// a pool WithRefresher refreshes it before then. The default value,
	// zero, means it does not expire (or that the pool is not to refresh
	// it). It travels with Credential: an UpdateSubscription that replaces
	// the credential replaces its expiry too, and a Config's subscription
	// written by New whose stored credential expires later keeps the stored
	// one (a token refreshed meanwhile).
	CredentialExpiresAt time.Time `json:"credentialExpiresAt,omitzero"`
	// RefreshToken renews Credential, for an OAuth login: a pool
	// WithRefresher hands it to its RefreshFunc and keeps the one that
	// returns, sealed beside the credential. Optional; it travels with
	// Credential as its expiry does.
	RefreshToken Credential `json:"refreshToken,omitzero"`
	// MaxClients caps the clients holding a slot of the subscription at once
	// (see Pool.Allocate); idle sessions do not count. The default value is
	// Config.MaxClients.
	MaxClients int `json:"maxClients,omitempty"`
	// WeeklyBudgetUSD is what the subscription may spend in a rolling week:
	// an estimate of the plan's limit, which the pool goes past while the
	// upstream does not refuse it and no subscription with budget left can
	// serve instead, unless Config.StrictBudgets makes it a cap. The
	// default value, 0, means no weekly budget.
	WeeklyBudgetUSD float64 `json:"weeklyBudgetUSD,omitempty"`
	// BlockBudgetUSD is what it may spend in a 5-hour block, an estimate
	// as WeeklyBudgetUSD is. The default value, 0, means no block budget.
	BlockBudgetUSD float64 `json:"blockBudgetUSD,omitempty"`
	// Status is the state a new subscription starts in (default Active).
	// UpdateSubscription leaves the status alone: use MarkLimited, Disable
	// and Enable.
	Status Status `json:"status,omitzero"`
}

// problems lists what is wrong with s, each as "/field: ...".
func (s Subscription) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("/%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if err := checkSubscriptionID(s.ID); err != nil {
		bad("id", "%v", err)
	}
	if err := bounds.CheckText("name", s.Name, true); err != nil {
		bad("name", "%v", err)
	}
	switch s.Kind {
	case KindPro, KindMax5x, KindMax20x, KindAPI:
	case "":
		bad("kind", "missing: must be pro, max5x, max20x or api")
	default:
		bad("kind", "%q: must be pro, max5x, max20x or api", s.Kind)
	}
	if p := credentialProblem(s.Credential); p != "" {
		bad("credential", "%s", p)
	}
	if p := credentialProblem(s.RefreshToken); s.RefreshToken != "" && p != "" {
		bad("refreshToken", "%s", p)
	}
	if s.MaxClients < 0 || s.MaxClients > maxCount {
		bad("maxClients", "%d: must be in 0..%d (0 means the pool's default)", s.MaxClients, maxCount)
	}
	for _, b := range []struct {
		field string
		v     float64
	}{{"weeklyBudgetUSD", s.WeeklyBudgetUSD}, {"blockBudgetUSD", s.BlockBudgetUSD}} {
		if math.IsNaN(b.v) || b.v < 0 || b.v > store.MaxUSD {
			bad(b.field, "%v: must be in 0..%v", b.v, float64(store.MaxUSD))
		}
	}
	if len(s.Status.Reason) > bounds.MaxReasonLength {
		bad("status/reason", "%d bytes long: must be at most %d", len(s.Status.Reason), bounds.MaxReasonLength)
	}
	switch s.Status.State {
	case Active, Disabled:
	case Limited:
		if s.Status.Until.IsZero() {
			bad("status/until", "missing: a limited subscription needs the time it returns")
		}
	default:
		bad("status/state", "%v: must be active, limited or disabled", s.Status.State)
	}
	return errs
}

// checkSubscriptionID checks a subscription ID: 1 to 64 of [A-Za-z0-9._-],
// not the reserved FallbackID.
func checkSubscriptionID(id string) error {
	switch {
	case id == "":
		return errors.New("missing")
	case len(id) > 64:
		return fmt.Errorf("%q: longer than 64 bytes", id)
	case id == FallbackID:
		return fmt.Errorf("%q: reserved for the fallback", id)
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%q: byte %d (%q) is not a letter, digit, '.', '_' or '-'", id, i, c)
		}
	}
	return nil
}

// record returns s as the store keeps it, with the pool's default MaxClients.
func (s Subscription) record(defaultMax int) store.Subscription {
	weekly, _ := store.FromUSD(s.WeeklyBudgetUSD)
	block, _ := store.FromUSD(s.BlockBudgetUSD)
	maxClients := s.MaxClients
	if maxClients == 0 {
		maxClients = defaultMax
	}
	return store.Subscription{
		ID: s.ID, Name: s.Name, Kind: string(s.Kind), Credential: s.Credential, CredentialExpiresAt: s.CredentialExpiresAt.UTC(),
		RefreshToken: s.RefreshToken, MaxClients: maxClients, WeeklyBudget: weekly, BlockBudget: block, Status: s.Status,
	}
}

// subscriptionOf returns a store's record as a Subscription.
func subscriptionOf(rec store.Subscription) Subscription {
	return Subscription{
		ID: rec.ID, Name: rec.Name, Kind: Kind(rec.Kind), Credential: rec.Credential, CredentialExpiresAt: rec.CredentialExpiresAt,
		RefreshToken: rec.RefreshToken, MaxClients: rec.MaxClients, WeeklyBudgetUSD: rec.WeeklyBudget.USD(), BlockBudgetUSD: rec.BlockBudget.USD(), Status: rec.Status,
	}
}

// fallbackRecord returns the fallback as the store keeps it.
func fallbackRecord(f Fallback) store.Subscription {
	daily, _ := store.FromUSD(f.DailyBudgetUSD)
	name := f.Name
	if name == "" {
		name = FallbackID
	}
	return store.Subscription{ID: FallbackID, Name: name, Kind: string(KindAPI), Credential: f.Credential, DailyBudget: daily}
}

func checkSubscription(s Subscription) error {
	if errs := s.problems(); len(errs) > 0 {
		return &ConfigError{Source: fmt.Sprintf("subscription %q", s.ID), Problems: errs}
	}
	return nil
}

// AddSubscription adds a subscription to the pool. It returns an error
// matching ErrInvalidConfig, listing every problem, if s is not valid, and
// one matching ErrExists if its ID is taken.
func (p *Pool) AddSubscription(ctx context.Context, s Subscription) error {
	if err := p.usable(); err != nil {
		return err
	}
	if err := checkSubscription(s); err != nil {
		return err
	}
	if err := p.store.CreateSubscription(ctx, s.record(p.cfg.MaxClients)); err != nil {
		return fmt.Errorf("authpool: add subscription %q: %w", s.ID, storeError(err))
	}
	p.invalidate()
	return nil
}

// RemoveSubscription removes a subscription with its usage. Its clients'
// sessions are released: each client gets a subscription anew (Outcome New)
// on its next Allocate. The released sessions are returned. It returns an
// error matching ErrNotFound if there is no such subscription.
func (p *Pool) RemoveSubscription(ctx context.Context, id string) ([]SessionStatus, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	if id == FallbackID {
		return nil, fmt.Errorf("authpool: remove subscription %q: the fallback comes from Config.Fallback; Disable it instead: %w",
			id, ErrInvalidArgument)
	}
	released, err := p.store.DeleteSubscription(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("authpool: remove subscription %q: %w", id, storeError(err))
	}
	p.invalidate()
	now := p.now()
	out := make([]SessionStatus, len(released))
	for i, s := range released {
		out[i] = p.sessionStatus(s, now)
	}
	return out, nil
}

// Subscriptions returns the pool's subscriptions, ordered by ID, with their
// current status. The fallback is not among them.
func (p *Pool) Subscriptions(ctx context.Context) ([]Subscription, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	recs, err := p.store.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("authpool: list subscriptions: %w", err)
	}
	out := make([]Subscription, 0, len(recs))
	for _, rec := range recs {
		if rec.ID != FallbackID {
			out = append(out, subscriptionOf(rec))
		}
	}
	return slices.Clip(out), nil
}

// MarkLimited takes a subscription out of service until until, e.g. when
// the upstream says its 5-hour or weekly limit is reached. It returns to
// service by itself once until passes. Its clients move on their next
// Allocate. The fallback (FallbackID) can be marked limited too.
//
// The reason may quote the upstream's answer: before the pool stores, logs,
// reports or shows it, every credential of the pool (its subscriptions'
// credentials and refresh tokens, the fallback's, its notifiers' secrets
// such as a webhook's), and any part of one 12 bytes long, is replaced by
// [REDACTED], and the reason is cut to 1,024 bytes. Callers' keys are not
// the pool's to know: the proxy takes them out of an upstream's words
// before the pool hears them. Disable, Throttled and MarkModelLimited do
// the same.
func (p *Pool) MarkLimited(ctx context.Context, id string, until time.Time, reason string) error {
	if err := p.usable(); err != nil {
		return err
	}
	if now := p.now(); !until.After(now) {
		return fmt.Errorf("authpool: mark %q limited: until %v is not after now (%v): %w",
			id, until.UTC(), now.UTC(), ErrInvalidArgument)
	}
	return p.setStatus(ctx, "mark limited", id, Status{State: Limited, Until: until.UTC(), Reason: reason})
}

// Disable takes a subscription out of service until Enable. The reason is
// scrubbed of credentials and cut as MarkLimited's is.
func (p *Pool) Disable(ctx context.Context, id, reason string) error {
	return p.setStatus(ctx, "disable", id, Status{State: Disabled, Reason: reason})
}

// Enable returns a limited or disabled subscription to service now.
func (p *Pool) Enable(ctx context.Context, id string) error {
	return p.setStatus(ctx, "enable", id, Status{})
}

func (p *Pool) setStatus(ctx context.Context, op, id string, st Status) error {
	if err := p.usable(); err != nil {
		return err
	}
	st.Reason = p.cleanReason(st.Reason)
	if err := p.again(ctx, id, func() error { return p.store.SetStatus(ctx, id, st) }); err != nil {
		return fmt.Errorf("authpool: %s %q: %w", op, id, storeError(err))
	}
	now := p.now()
	p.mu.Lock()
	p.statusSeq.Add(1)
	// A subscription the view has disabled already (the concurrent requests
	// of a revoked credential each disable it) is not reported again.
	wasDisabled := false
	if sv := p.current().byID[id]; sv != nil {
		wasDisabled = sv.rec.Status.State == Disabled
		sv.rec.Status = st
		p.judge(sv, now)
		p.watch(sv, now)
	}
	p.mu.Unlock()
	switch st.State {
	case Limited:
		p.emitLimited(now, id, st)
	case Disabled:
		if p.notes != nil && !wasDisabled {
			p.notes.emit(outgoing{ev: Event{ID: p.eventIDs.next(), Type: EventDisabled, Time: now, SubscriptionID: id,
				Limit: &st}})
		}
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "authpool: subscription "+st.State.String(), slog.String("subscription", id),
		slog.Time("until", st.Until), slog.String("reason", st.Reason))
	return nil
}
