package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// This file is the store.Store methods that create, change, delete and list
// subscriptions.

// CreateSubscription implements store.Store.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub.ID]; ok {
		return fmt.Errorf("memstore: subscription %q: %w", sub.ID, store.ErrExists)
	}
	s.subs[sub.ID] = &subscription{rec: config(sub), clients: make(map[string]*session),
		byLast: activity{link: subLink}, newest: noHour, block: noHour}
	return nil
}

// UpdateSubscription implements store.Store.
func (s *Store) UpdateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.change(ctx, sub.ID, func(cur *subscription) {
		kept := cur.rec
		cur.rec = config(sub)
		cur.rec.Status, cur.rec.ModelLimits, cur.rec.Reported = kept.Status, kept.ModelLimits, kept.Reported
	})
}

// change calls f with subscription id under the lock; an unknown id is
// store.ErrNotFound.
func (s *Store) change(ctx context.Context, id string, f func(cur *subscription)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
	f(cur)
	return nil
}

// SetModelLimit implements store.Store.
func (s *Store) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	return s.change(ctx, id, func(cur *subscription) {
		limits := make([]store.ModelLimit, 0, len(cur.rec.ModelLimits)+1)
		for _, m := range cur.rec.ModelLimits {
			if m.Model != l.Model && m.Until.After(now) {
				limits = append(limits, m)
			}
		}
		if l.Until.After(now) {
			l.Model = strings.Clone(l.Model)
			limits = append(limits, l)
		}
		slices.SortFunc(limits, func(a, b store.ModelLimit) int { return cmp.Compare(a.Model, b.Model) })
		cur.rec.ModelLimits = limits // a new slice: records handed out keep theirs
	})
}

// SetReported implements store.Store.
func (s *Store) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	return s.change(ctx, id, func(cur *subscription) {
		if r.At.Before(cur.rec.Reported.At) {
			return // a later report is stored
		}
		cur.rec.Reported = r
		if !blockStart.IsZero() {
			cur.block = store.HourOf(blockStart)
		}
	})
}

// SetStatus implements store.Store.
func (s *Store) SetStatus(ctx context.Context, id string, st store.Status) error {
	return s.change(ctx, id, func(cur *subscription) { cur.rec.Status = st })
}

// DeleteSubscription implements store.Store.
func (s *Store) DeleteSubscription(ctx context.Context, id string) ([]store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return nil, fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
	released := make([]store.Session, 0, len(cur.clients))
	for clientID, sess := range cur.clients {
		released = append(released, sess.record())
		delete(s.sessions, clientID)
		s.byLast.remove(sess)
	}
	delete(s.subs, id)
	slices.SortFunc(released, func(a, b store.Session) int { return cmp.Compare(a.ClientID, b.ClientID) })
	return released, nil
}

// Subscription implements store.Store.
func (s *Store) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return store.Subscription{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return store.Subscription{}, fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
	return cur.record(), nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, sub.record())
	}
	slices.SortFunc(out, func(a, b store.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
