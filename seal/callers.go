package seal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool/store"
)

// This file passes store.CallerStore through to the wrapped store: a
// caller's record holds no secret (its key's hash is not one, though it is
// never logged), so nothing is sealed.

var _ store.CallerStore = (*Store)(nil)

// callers returns the wrapped store as a store.CallerStore, or an error
// matching errors.ErrUnsupported when it is not one.
func (s *Store) callers() (store.CallerStore, error) {
	cs, ok := s.s.(store.CallerStore)
	if !ok {
		return nil, fmt.Errorf("seal: the wrapped %T keeps no callers: %w", s.s, errors.ErrUnsupported)
	}
	return cs, nil
}

// CreateCaller implements store.CallerStore. Each CallerStore method of
// Store passes the call to the wrapped store, or returns an error matching
// errors.ErrUnsupported when the wrapped store is not a CallerStore.
func (s *Store) CreateCaller(ctx context.Context, c store.Caller) error {
	cs, err := s.callers()
	if err != nil {
		return err
	}
	return cs.CreateCaller(ctx, c)
}

// UpdateCaller implements store.CallerStore.
func (s *Store) UpdateCaller(ctx context.Context, id string, u store.CallerUpdate) error {
	cs, err := s.callers()
	if err != nil {
		return err
	}
	return cs.UpdateCaller(ctx, id, u)
}

// DeleteCaller implements store.CallerStore.
func (s *Store) DeleteCaller(ctx context.Context, id string) error {
	cs, err := s.callers()
	if err != nil {
		return err
	}
	return cs.DeleteCaller(ctx, id)
}

// Caller implements store.CallerStore.
func (s *Store) Caller(ctx context.Context, id string) (store.Caller, error) {
	cs, err := s.callers()
	if err != nil {
		return store.Caller{}, err
	}
	return cs.Caller(ctx, id)
}

// Callers implements store.CallerStore.
func (s *Store) Callers(ctx context.Context) ([]store.Caller, error) {
	cs, err := s.callers()
	if err != nil {
		return nil, err
	}
	return cs.Callers(ctx)
}

// CallerByKey implements store.CallerStore.
func (s *Store) CallerByKey(ctx context.Context, keyHash [32]byte) (store.Caller, error) {
	cs, err := s.callers()
	if err != nil {
		return store.Caller{}, err
	}
	return cs.CallerByKey(ctx, keyHash)
}

// ChargeCaller implements store.CallerStore.
func (s *Store) ChargeCaller(ctx context.Context, id string, c store.Charge) (bool, error) {
	cs, err := s.callers()
	if err != nil {
		return false, err
	}
	return cs.ChargeCaller(ctx, id, c)
}

// CallerUsage implements store.CallerStore.
func (s *Store) CallerUsage(ctx context.Context, id string, fromHour, toHour int64) ([]store.Bucket, error) {
	cs, err := s.callers()
	if err != nil {
		return nil, err
	}
	return cs.CallerUsage(ctx, id, fromHour, toHour)
}

// CallerSessions implements store.CallerStore.
func (s *Store) CallerSessions(ctx context.Context, id string, fromHour, toHour int64) ([]store.CallerSession, error) {
	cs, err := s.callers()
	if err != nil {
		return nil, err
	}
	return cs.CallerSessions(ctx, id, fromHour, toHour)
}

// AdmitCaller implements store.CallerStore.
func (s *Store) AdmitCaller(ctx context.Context, id string, now time.Time, budget store.Nanodollars, windowHours int, lease time.Duration) (store.Admission, error) {
	cs, err := s.callers()
	if err != nil {
		return store.Admission{}, err
	}
	return cs.AdmitCaller(ctx, id, now, budget, windowHours, lease)
}

// ReleaseCaller implements store.CallerStore.
func (s *Store) ReleaseCaller(ctx context.Context, id, leaseID string) error {
	cs, err := s.callers()
	if err != nil {
		return err
	}
	return cs.ReleaseCaller(ctx, id, leaseID)
}
