package seal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/authpool/authpool/store"
)

// Store is a store.Store that keeps every subscription's credential sealed
// in the store it wraps: CreateSubscription and UpdateSubscription seal the
// credential with the keyring's first key, for the subscription's ID, and
// Subscription and Subscriptions open it, so its callers see plain
// credentials and the wrapped store (its memory, its Redis keys) holds only
// sealed ones. A credential sealed with an older key is resealed with the
// first key whenever it is written again.
//
// Reading a record whose credential does not open is an error: one stored
// in plain text (ErrNotSealed: written by a pool without a sealer), sealed
// with a key the keyring does not hold (ErrUnknownKey, naming the key ID),
// altered, or moved from another subscription (ErrAuthentication). Plain
// records are refused rather than accepted: a credential that does not
// authenticate may have been put there by someone who can write the store
// but does not hold the key. Subscriptions fails whole on such a record,
// naming it; write its credential again (through a Store with the keyring)
// to repair it.
//
// Opened credentials are cached in memory by subscription ID and sealed
// value, so reading the same records again does not decrypt them again.
//
// Store is a store.CallerStore too: it passes callers, whose records hold
// no secret, to the wrapped store as they are (see callers.go).
//
// Store is safe for concurrent use by multiple goroutines.
type Store struct {
	s store.Store
	k *Keyring

	mu    sync.Mutex
	cache map[opened]store.Secret
}

// opened keys the cache: a sealed value opens only for its own
// subscription, so the ID is part of the key.
type opened struct {
	id, sealed string
	refresh    bool // the refresh token, sealed for id+refreshAD
}

var _ store.Store = (*Store)(nil)

// maxCache bounds the cache between two Subscriptions calls, which keep
// only the entries of the records they return.
const maxCache = 4096

// NewStore returns s with its credentials sealed by k.
func NewStore(s store.Store, k *Keyring) *Store {
	return &Store{s: s, k: k, cache: make(map[opened]store.Secret)}
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() store.Store { return s.s }

// refreshAD is what a refresh token is sealed for besides its
// subscription's ID, so that a sealed credential cannot be passed off as
// the refresh token, or the other way round. No ID holds a '#'.
const refreshAD = "#refresh"

// seal returns sub with its credential and refresh token sealed.
func (s *Store) seal(sub store.Subscription) (store.Subscription, error) {
	for _, f := range []struct {
		v  *store.Secret
		ad string
	}{{&sub.Credential, sub.ID}, {&sub.RefreshToken, sub.ID + refreshAD}} {
		if *f.v == "" {
			continue
		}
		v, err := s.k.Seal(f.v.Reveal(), f.ad)
		if err != nil {
			return sub, fmt.Errorf("seal: subscription %q: %w", sub.ID, err)
		}
		*f.v = store.Secret(v)
	}
	return sub, nil
}

// open returns rec with its credential and refresh token opened, each
// through the cache.
func (s *Store) open(rec *store.Subscription, cached map[opened]store.Secret) error {
	if err := s.openOne(&rec.Credential, rec.ID, false, cached); err != nil {
		return fmt.Errorf("seal: the credential of subscription %q: %w", rec.ID, err)
	}
	if err := s.openOne(&rec.RefreshToken, rec.ID, true, cached); err != nil {
		return fmt.Errorf("seal: the refresh token of subscription %q: %w", rec.ID, err)
	}
	return nil
}

// openOne opens a subscription's sealed credential, or its refresh token,
// through the cache.
func (s *Store) openOne(v *store.Secret, id string, refresh bool, cached map[opened]store.Secret) error {
	if *v == "" {
		return nil
	}
	key := opened{id, string(*v), refresh}
	if plain, ok := cached[key]; ok {
		*v = plain
		return nil
	}
	ad := id
	if refresh {
		ad += refreshAD
	}
	plain, err := s.k.Open(string(*v), ad)
	if err != nil {
		return err
	}
	*v = store.Secret(plain)
	cached[key] = *v
	return nil
}

// CreateSubscription implements store.Store, sealing sub's credential.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	sub, err := s.seal(sub)
	if err != nil {
		return err
	}
	return s.s.CreateSubscription(ctx, sub)
}

// UpdateSubscription implements store.Store, sealing sub's credential with
// the keyring's first key.
func (s *Store) UpdateSubscription(ctx context.Context, sub store.Subscription) error {
	sub, err := s.seal(sub)
	if err != nil {
		return err
	}
	return s.s.UpdateSubscription(ctx, sub)
}

// Subscription implements store.Store, opening the credential.
func (s *Store) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	rec, err := s.s.Subscription(ctx, id)
	if err != nil {
		return rec, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCache {
		clear(s.cache)
	}
	if err := s.open(&rec, s.cache); err != nil {
		return store.Subscription{}, err
	}
	return rec, nil
}

// Subscriptions implements store.Store, opening every credential.
func (s *Store) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	recs, err := s.s.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[opened]store.Secret, len(recs))
	for i := range recs {
		rec := &recs[i]
		for _, k := range [...]opened{{rec.ID, string(rec.Credential), false}, {rec.ID, string(rec.RefreshToken), true}} {
			if v, ok := s.cache[k]; ok && k.sealed != "" {
				next[k] = v
			}
		}
		if err := s.open(rec, next); err != nil {
			return nil, err
		}
	}
	s.cache = next
	return recs, nil
}

// SetStatus implements store.Store.
func (s *Store) SetStatus(ctx context.Context, id string, st store.Status) error {
	return s.s.SetStatus(ctx, id, st)
}

// SetModelLimit implements store.Store.
func (s *Store) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	return s.s.SetModelLimit(ctx, id, l, now)
}

// SetReported implements store.Store.
func (s *Store) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	return s.s.SetReported(ctx, id, r, blockStart)
}

// DeleteSubscription implements store.Store.
func (s *Store) DeleteSubscription(ctx context.Context, id string) ([]store.Session, error) {
	return s.s.DeleteSubscription(ctx, id)
}

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	return s.s.Touch(ctx, clientID, now, holdUntil)
}

// Assign implements store.Store.
func (s *Store) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	return s.s.Assign(ctx, a)
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	return s.s.Release(ctx, clientID, idleSince)
}

// Sessions implements store.Store.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	return s.s.Sessions(ctx, q)
}

// AddUsage implements store.Store.
func (s *Store) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	return s.s.AddUsage(ctx, clientID, u)
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	return s.s.Claim(ctx, key, now, until)
}
