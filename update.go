package authpool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// SubscriptionUpdate changes part of a subscription's configuration: each
// field that is set replaces the subscription's, and each nil one keeps
// it. A JSON object decodes into one field by field, so an absent key
// keeps what the subscription has.
type SubscriptionUpdate struct {
	// Name, when set, renames the subscription ("" clears the name).
	Name *string `json:"name,omitempty"`
	// Kind, when set, changes the plan.
	Kind *Kind `json:"kind,omitempty"`
	// Credential, when set, replaces the credential, and its expiry and
	// refresh token with CredentialExpiresAt and RefreshToken (none when
	// nil): they belong to the credential they came with.
	Credential *Credential `json:"credential,omitempty"`
	// CredentialExpiresAt, when set, is when the credential (the new one,
	// or the current one when Credential is nil) expires; a zero time means
	// it does not (see Subscription.CredentialExpiresAt).
	CredentialExpiresAt *time.Time `json:"credentialExpiresAt,omitempty"`
	// RefreshToken, when set, is the refresh token of the credential (the
	// new one, or the current one when Credential is nil); "" removes it.
	RefreshToken *Credential `json:"refreshToken,omitempty"`
	// MaxClients, when set, caps the clients holding a slot at once; 0
	// means Config.MaxClients. Lowering it below the clients holding a slot
	// keeps them; it takes no new ones until fewer hold one.
	MaxClients *int `json:"maxClients,omitempty"`
	// WeeklyBudgetUSD and BlockBudgetUSD, when set, replace the budgets; 0
	// means none.
	WeeklyBudgetUSD *float64 `json:"weeklyBudgetUSD,omitempty"`
	BlockBudgetUSD  *float64 `json:"blockBudgetUSD,omitempty"`
}

// problems lists what is wrong with u, each as "/field: ...", as
// Subscription.problems does for the fields u sets.
func (u SubscriptionUpdate) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("/%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if u == (SubscriptionUpdate{}) {
		errs = append(errs, errors.New("the update sets no field: set at least one of name, kind, credential, "+
			"credentialExpiresAt, maxClients, weeklyBudgetUSD, blockBudgetUSD"))
	}
	if u.Name != nil {
		if err := bounds.CheckText("name", *u.Name, true); err != nil {
			bad("name", "%v", err)
		}
	}
	if u.Kind != nil {
		switch *u.Kind {
		case KindPro, KindMax5x, KindMax20x, KindAPI:
		default:
			bad("kind", "%q: must be pro, max5x, max20x or api", *u.Kind)
		}
	}
	if u.Credential != nil {
		if p := credentialProblem(*u.Credential); p != "" {
			bad("credential", "%s", p)
		}
	}
	if u.RefreshToken != nil && *u.RefreshToken != "" {
		if p := credentialProblem(*u.RefreshToken); p != "" {
			bad("refreshToken", "%s", p)
		}
	}
	if u.MaxClients != nil && (*u.MaxClients < 0 || *u.MaxClients > maxCount) {
		bad("maxClients", "%d: must be in 0..%d (0 means the pool's default)", *u.MaxClients, maxCount)
	}
	for _, b := range []struct {
		field string
		v     *float64
	}{{"weeklyBudgetUSD", u.WeeklyBudgetUSD}, {"blockBudgetUSD", u.BlockBudgetUSD}} {
		if b.v != nil && (math.IsNaN(*b.v) || *b.v < 0 || *b.v > store.MaxUSD) {
			bad(b.field, "%v: must be in 0..%v", *b.v, float64(store.MaxUSD))
		}
	}
	return errs
}

// apply writes what u sets into rec, a store's record, with the pool's
// default MaxClients.
func (u SubscriptionUpdate) apply(rec *store.Subscription, defaultMax int) {
	if u.Name != nil {
		rec.Name = *u.Name
	}
	if u.Kind != nil {
		rec.Kind = string(*u.Kind)
	}
	if u.Credential != nil {
		rec.Credential, rec.CredentialExpiresAt, rec.RefreshToken = *u.Credential, time.Time{}, ""
	}
	if u.CredentialExpiresAt != nil {
		rec.CredentialExpiresAt = u.CredentialExpiresAt.UTC()
	}
	if u.RefreshToken != nil {
		rec.RefreshToken = *u.RefreshToken
	}
	if u.MaxClients != nil {
		rec.MaxClients = *u.MaxClients
		if rec.MaxClients == 0 {
			rec.MaxClients = defaultMax
		}
	}
	if u.WeeklyBudgetUSD != nil {
		rec.WeeklyBudget, _ = store.FromUSD(*u.WeeklyBudgetUSD)
	}
	if u.BlockBudgetUSD != nil {
		rec.BlockBudget, _ = store.FromUSD(*u.BlockBudgetUSD)
	}
}

// UpdateSubscription changes the fields of subscription id that u sets
// (see SubscriptionUpdate), keeping the others and its status, clients and
// usage. It returns an error matching ErrInvalidConfig, listing every
// problem, if a field set is not valid or u sets none; one matching
// ErrNotFound if there is no such subscription; and ErrInvalidArgument for
// the fallback, which comes from Config.Fallback. Nothing is changed then.
//
// The update reads the subscription and writes it back: an update of the
// same subscription made meanwhile by another pool sharing the store may
// be overwritten. A credential it keeps is written back as stored (sealed
// or not, see WithSealer).
func (p *Pool) UpdateSubscription(ctx context.Context, id string, u SubscriptionUpdate) error {
	if err := p.usable(); err != nil {
		return err
	}
	if id == FallbackID {
		return fmt.Errorf("authpool: update subscription %q: the fallback comes from Config.Fallback: %w", id, ErrInvalidArgument)
	}
	if err := checkSubscriptionID(id); err != nil {
		return fmt.Errorf("authpool: update subscription: id %w: %w", err, ErrInvalidArgument)
	}
	if errs := u.problems(); len(errs) > 0 {
		return &ConfigError{Source: fmt.Sprintf("update of subscription %q", id), Problems: errs}
	}
	// The record as stored, its secrets kept as they are unless u replaces
	// them; opened when u replaces the refresh token only, so that the
	// credential is sealed again with it.
	read, write := p.stored, p.stored
	switch {
	case u.Credential != nil:
		write = p.store // seals the new credential and refresh token
	case u.RefreshToken != nil:
		read, write = p.store, p.store
	}
	rec, err := read.Subscription(ctx, id)
	if err == nil {
		u.apply(&rec, p.cfg.MaxClients)
		err = write.UpdateSubscription(ctx, rec)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("authpool: update subscription %q: %w", id, ErrNotFound)
	case err != nil:
		return fmt.Errorf("authpool: update subscription %q: %w", id, err)
	}
	p.invalidate()
	return nil
}
