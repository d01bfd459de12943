package authpool

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// RefreshFunc returns a fresh token for a subscription whose credential
// expires soon: an OAuth access token renewed with current.Refresh, the
// refresh token the store keeps sealed beside it (claude/oauth's Client
// has one). current is the token in use now. What it returns is written in
// one step, access and refresh token together, so that every pool
// refreshes with the latest: a refresh token may be good for one use. A
// returned Refresh that is empty keeps current's. ctx ends after a minute:
// the function should give up by then, since another pool may then try.
//
// Across every pool sharing a store, the function is called once per
// subscription and expiry: by the pool that claims that refresh first.
type RefreshFunc func(ctx context.Context, subscriptionID string, current Token) (Token, error)

// refreshRetry is how long a claim to refresh a credential lasts: the
// RefreshFunc's time limit, and the wait before a failed refresh (or one
// whose pool died) is tried again, by whichever pool comes first.
const refreshRetry = time.Minute

// WithRefresher makes the pool refresh each credential that has an expiry
// (Subscription.CredentialExpiresAt, Token.ExpiresAt) before it expires: once it
// expires within before, RefreshCredentials, and Rebalance, call f for it
// and write what f returns as the subscription's credential and expiry,
// sealed with a sealer, as UpdateCredential does: clients keep their
// subscription and get the new credential on their next Allocate (other
// processes within Config.RefreshInterval).
//
// A Pool keeps no timer, so the refresh happens in the host's calls:
// make before a few times the interval at which the host calls Rebalance
// or RefreshCredentials (with Rebalance every minute, 10 minutes is ample).
// Pools sharing a store agree through Store.Claim on one caller of f per
// subscription and expiry; its claim lasts a minute, so a refresh that
// fails, or whose pool dies, is tried again a minute later. A failure is
// logged and reported as an EventRefreshFailed, without the credential.
// New refuses a before that is not positive. WithRefresher(nil, …) is no
// refresher.
func WithRefresher(f RefreshFunc, before time.Duration) Option {
	return func(p *Pool) { p.refresher, p.refreshBefore = f, before }
}

// CredentialRefresh is one credential refreshed, or not: a failure has Err
// set.
type CredentialRefresh struct {
	SubscriptionID string `json:"subscriptionId"`
	// ExpiresAt is when the credential refreshed (or not) expires.
	ExpiresAt time.Time `json:"expiresAt"`
	// NewExpiresAt is when the new credential expires; zero on failure.
	NewExpiresAt time.Time `json:"newExpiresAt,omitzero"`
	// RetryAt, on failure, is when the refresh may be tried again.
	RetryAt time.Time `json:"retryAt,omitzero"`
	// Err, on failure, says why. It wraps the RefreshFunc's error, or
	// ErrInvalidArgument when what it returned was refused, or the store's
	// error; its message has any credential replaced by [REDACTED].
	Err error `json:"-"`
}

// MarshalJSON writes the refresh with Err's message as "error".
func (r CredentialRefresh) MarshalJSON() ([]byte, error) {
	type plain CredentialRefresh
	var msg string
	if r.Err != nil {
		msg = r.Err.Error()
	}
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(r), msg})
}

// RefreshCredentials reads the subscriptions again and, with a refresher
// (WithRefresher), refreshes the credentials that expire within its
// before, those already expired included, unless another pool sharing the
// store is doing so or tried less than a minute ago. It returns the
// refreshes it tried, soonest expiry first (credentials another pool
// refreshes are not among them), and an error when it could not read the
// store or a refresh failed (the failures' Err joined). A refresh under
// way when ctx ends is finished and written (within a minute): its answer
// may hold the only valid refresh token. Without a refresher it does
// nothing. Rebalance does the same, before its own work.
func (p *Pool) RefreshCredentials(ctx context.Context) ([]CredentialRefresh, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	if p.refresher == nil {
		return nil, nil
	}
	now := p.now()
	if err := p.refresh(ctx, now, true); err != nil {
		return nil, fmt.Errorf("authpool: refresh credentials: %w", err)
	}
	tried := p.refreshCredentials(ctx, now)
	var errs []error
	for _, r := range tried {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return tried, errors.Join(errs...)
}

// refreshCredentials refreshes the credentials of the current view that
// expire within refreshBefore of now.
func (p *Pool) refreshCredentials(ctx context.Context, now time.Time) []CredentialRefresh {
	var tried []CredentialRefresh
	type due struct {
		id        string
		expiresAt time.Time
	}
	var dues []due
	horizon := now.Add(p.refreshBefore)
	for id, sv := range p.current().byID {
		if exp := sv.rec.CredentialExpiresAt; !exp.IsZero() && !exp.After(horizon) {
			dues = append(dues, due{id, exp})
		}
	}
	slices.SortFunc(dues, func(a, b due) int {
		return cmp.Or(a.expiresAt.Compare(b.expiresAt), cmp.Compare(a.id, b.id))
	})
	for _, d := range dues {
		if r, done := p.refreshOne(ctx, now, d.id, d.expiresAt); done {
			tried = append(tried, r)
		}
	}
	return tried
}

// refreshOne refreshes one credential, if this pool claims the refresh of
// that subscription and expiry: done says whether it tried.
func (p *Pool) refreshOne(ctx context.Context, now time.Time, id string, expiresAt time.Time) (r CredentialRefresh, done bool) {
	r = CredentialRefresh{SubscriptionID: id, ExpiresAt: expiresAt}
	var current, fresh Token // redacted from what a failure says
	fail := func(err error, retryAt time.Time) (CredentialRefresh, bool) {
		msg := redactSecrets(fmt.Sprintf("authpool: refresh the credential of %q (expires %s): %v",
			id, expiresAt.UTC().Format(time.RFC3339), err), current.Access, current.Refresh, fresh.Access, fresh.Refresh)
		r.RetryAt, r.Err = retryAt, &refreshError{msg: msg, err: err}
		p.log.LogAttrs(ctx, slog.LevelWarn, "authpool: credential refresh failed", slog.String("subscription", id),
			slog.Time("expiresAt", expiresAt), slog.Time("retryAt", retryAt), slog.String("error", msg))
		if p.notes != nil {
			failed := r
			p.notes.emit(outgoing{ev: Event{ID: p.eventIDs.next(), Type: EventRefreshFailed, Time: now, SubscriptionID: id,
				Credential: &failed}})
		}
		return r, true
	}

	key := fmt.Sprintf("refresh/%s/%d", id, expiresAt.UnixNano())
	claimUntil := now.Add(refreshRetry)
	claimed, err := p.store.Claim(ctx, key, now, claimUntil)
	if err != nil {
		return fail(fmt.Errorf("claim the refresh: %w", err), now) // nothing claimed: the next call tries
	}
	if !claimed {
		return r, false // another pool is at it, or tried less than refreshRetry ago
	}
	rec, err := p.store.Subscription(ctx, id)
	if err != nil {
		return fail(fmt.Errorf("read the subscription: %w", storeError(err)), claimUntil)
	}
	if !rec.CredentialExpiresAt.Equal(expiresAt) {
		return r, false // refreshed (or replaced) since the view was read
	}
	current = Token{Access: rec.Credential, Refresh: rec.RefreshToken, ExpiresAt: rec.CredentialExpiresAt}
	// Once called, the refresher is seen through and its answer written
	// even if ctx ends meanwhile (the host stopping): the token endpoint
	// may have spent the old refresh token already, and only the answer
	// holds the new one. refreshRetry bounds both.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshRetry)
	defer cancel()
	fresh, err = p.refresher(fctx, id, current)
	if err != nil {
		return fail(err, claimUntil)
	}
	if fresh.Refresh == "" {
		fresh.Refresh = current.Refresh
	}
	freshExpiresAt := fresh.ExpiresAt.UTC()
	if bad := checkToken(fresh); bad != nil {
		return fail(fmt.Errorf("the RefreshFunc returned a bad credential: %w: %w", bad, ErrInvalidArgument), claimUntil)
	}
	if !freshExpiresAt.After(now) {
		return fail(fmt.Errorf("the RefreshFunc returned a credential expiring at %s, not after now (%s): %w",
			freshExpiresAt.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), ErrInvalidArgument), claimUntil)
	}
	if err := p.writeCredential(fctx, id, fresh); err != nil {
		return fail(fmt.Errorf("write the new credential: %w", err), claimUntil)
	}
	r.NewExpiresAt = freshExpiresAt
	p.log.LogAttrs(ctx, slog.LevelInfo, "authpool: credential refreshed", slog.String("subscription", id),
		slog.Time("expiredAt", expiresAt), slog.Time("expiresAt", freshExpiresAt))
	return r, true
}

// refreshError is a failed refresh: its message has the credentials
// redacted; Unwrap gives what failed.
type refreshError struct {
	msg string
	err error
}

func (e *refreshError) Error() string { return e.msg }
func (e *refreshError) Unwrap() error { return e.err }

// redactSecrets returns s with every non-empty secret in it replaced by
// [REDACTED].
func redactSecrets(s string, secrets ...store.Secret) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec.Reveal(), "[REDACTED]")
		}
	}
	return s
}

// keepRefreshed returns rec, a Config's subscription the store has
// already, with the store's credential, expiry and refresh token instead of
// rec's when
// the store's expires later: a credential refreshed since the Config was
// written is not replaced by the older one. A stored credential that does
// not open (see WithSealer) is replaced.
func (p *Pool) keepRefreshed(ctx context.Context, rec store.Subscription) (store.Subscription, error) {
	if rec.CredentialExpiresAt.IsZero() {
		return rec, nil
	}
	cur, err := p.store.Subscription(ctx, rec.ID)
	switch {
	case errors.Is(err, seal.ErrNotSealed), errors.Is(err, seal.ErrMalformed), errors.Is(err, seal.ErrUnknownKey),
		errors.Is(err, seal.ErrAuthentication):
		return rec, nil // it does not open: the Config's credential repairs it
	case err != nil:
		return rec, err
	}
	if cur.Credential != "" && cur.CredentialExpiresAt.After(rec.CredentialExpiresAt) {
		rec.Credential, rec.CredentialExpiresAt, rec.RefreshToken = cur.Credential, cur.CredentialExpiresAt, cur.RefreshToken
	}
	return rec, nil
}
