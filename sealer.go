package authpool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/authpool/authpool/seal"
)

// WithSealer makes the pool keep its subscriptions' credentials sealed in
// its store with k (AES-256-GCM; see package seal): the pool wraps its store
// in a seal.Store, so that whatever store it is given holds only sealed
// credentials while the pool works with plain ones in memory. Each
// credential is sealed with k's first key for its subscription's ID, and
// is sealed again with the first key whenever it is written: at New for
// the subscriptions of the Config, and by UpdateSubscription and
// UpdateCredential.
//
// A pool with a sealer refuses a record it cannot open: one stored in plain
// text by a pool without a sealer (seal.ErrNotSealed), one sealed with a key
// k does not hold (seal.ErrUnknownKey, naming the key), or one altered or
// moved from another subscription (seal.ErrAuthentication). Reading the
// subscriptions then fails, naming the subscription, so New or Allocate
// returns the error rather than serve a credential that does not
// authenticate. To start sealing a store written in plain text, list its
// subscriptions in the Config (New seals them) or UpdateCredential them.
//
// Every pool sharing a store must seal with keys from the same keyring.
// Without WithSealer (the default), credentials are stored as they are:
// protect the store as you would the credentials. Do not also wrap the
// store given with WithStore in a seal.Store. WithSealer(nil) is no sealer.
func WithSealer(k *seal.Keyring) Option { return func(p *Pool) { p.sealer = k } }

// Token is a subscription's credential as a login gives it: the access
// token that authenticates requests (an API key has only this), the
// refresh token that renews it, and when the access token expires. A zero
// ExpiresAt means it does not expire (or is not to be refreshed); an empty
// Refresh, that it cannot be renewed. Its String, GoString, JSON and slog
// forms are redacted, as a Credential's are.
type Token struct {
	Access    Credential `json:"access,omitzero"`
	Refresh   Credential `json:"refresh,omitzero"`
	ExpiresAt time.Time  `json:"expiresAt,omitzero"`
}

// UpdateCredential replaces a subscription's credential with t, e.g. a
// fresh login, keeping everything else: its configuration, status, clients
// and usage. The access token, refresh token and expiry are written
// together, in one step: the old ones go. Clients stay where they are and
// get the new credential on their next Allocate (in other processes
// sharing the store, once they read it again: within
// Config.RefreshInterval). With a sealer the access and refresh tokens are
// sealed with its first key. It returns an error matching ErrNotFound if
// there is no such subscription, and one matching ErrInvalidArgument if
// t.Access is empty or either token holds a control character. It also
// repairs a record a sealer cannot open (sealed with a retired key, or
// stored plain). A subscription of the Config takes the Config's
// credential again at the next New, unless the Config's expires before
// this one. Like UpdateSubscription, it writes the subscription's whole
// configuration as it reads it: a change another process makes to it at
// the same moment may be lost.
func (p *Pool) UpdateCredential(ctx context.Context, subscriptionID string, t Token) error {
	if err := p.usable(); err != nil {
		return err
	}
	if err := checkToken(t); err != nil {
		return fmt.Errorf("authpool: update the credential of %q: %w: %w", subscriptionID, err, ErrInvalidArgument)
	}
	if err := p.writeCredential(ctx, subscriptionID, t); err != nil {
		return fmt.Errorf("authpool: update the credential of %q: %w", subscriptionID, err)
	}
	return nil
}

// checkToken says what is wrong with a token the pool is given at run
// time, without its values.
func checkToken(t Token) error {
	if err := checkCredential(t.Access); err != nil {
		return err
	}
	if t.Refresh != "" {
		if p := credentialProblem(t.Refresh); p != "" {
			return errors.New("the refresh token is " + p)
		}
	}
	return nil
}

// checkCredential says what is wrong with a credential the pool is given at
// run time, without its value.
func checkCredential(cred Credential) error {
	if p := credentialProblem(cred); p != "" {
		return errors.New("the credential is " + p)
	}
	return nil
}

// problem says, without the value, what makes a credential unusable: ""
// if nothing does. It is the one check of a credential, wherever one comes
// from (a Config, an update, a refresh): it must not be empty, and must not
// hold a control character or a line break, which would break the request's
// headers.
func credentialProblem(c Credential) string {
	switch {
	case c == "":
		return "missing"
	case strings.ContainsFunc(string(c), unicode.IsControl):
		return "unusable: it holds a control character or a line break (it would break the request's headers)"
	}
	return ""
}

// writeCredential replaces a subscription's credential, its expiry and its
// refresh token. It reads the record without opening its credential, which
// is replaced: so a record sealed with a retired key, or stored plain, is
// repaired.
func (p *Pool) writeCredential(ctx context.Context, id string, t Token) error {
	rec, err := p.stored.Subscription(ctx, id)
	if err != nil {
		return storeError(err)
	}
	rec.Credential, rec.CredentialExpiresAt, rec.RefreshToken = t.Access, t.ExpiresAt.UTC(), t.Refresh
	if err := p.store.UpdateSubscription(ctx, rec); err != nil {
		return storeError(err)
	}
	p.invalidate()
	return nil
}
