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

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	if err := ctx.Err(); err != nil {
		return store.Touched{}, err
	}
	n := unixNano(now)
	s.mu.Lock()
	sess, ok := s.sessions[clientID]
	if !ok {
		s.mu.Unlock()
		return store.Touched{}, store.ErrNotFound
	}
	held := sess.hold
	full := !sess.extend(unixNano(holdUntil), n)
	if !full {
		sess.touch(n)
	}
	t := store.Touched{SubscriptionID: sess.sub.rec.ID, Status: sess.sub.rec.Status}
	t.Held, t.HoldUntil = holdTimes(held, sess.hold)
	var holding, maxClients int
	if full {
		holding, maxClients = sess.sub.holds.after(n), sess.sub.rec.MaxClients
	}
	s.mu.Unlock()
	if full {
		return t, fmt.Errorf("memstore: client %q is idle and %d of %d clients of subscription %q hold a slot: %w",
			clientID, holding, maxClients, t.SubscriptionID, store.ErrFull)
	}
	return t, nil
}

// Assign implements store.Store.
func (s *Store) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	if err := ctx.Err(); err != nil {
		return store.Session{}, err
	}
	now := unixNano(a.Now)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[a.ClientID]
	switch {
	case !ok && a.From != "":
		return store.Session{}, fmt.Errorf("memstore: client %q has no session, want one on %q: %w", a.ClientID, a.From, store.ErrConflict)
	case ok && sess.sub.rec.ID != a.From:
		return store.Session{}, fmt.Errorf("memstore: client %q is on %q, want %q: %w", a.ClientID, sess.sub.rec.ID, a.From, store.ErrConflict)
	case ok && !a.IdleSince.IsZero() && sess.last > unixNano(a.IdleSince):
		return store.Session{}, fmt.Errorf("memstore: client %q was active at %v, after %v: %w",
			a.ClientID, fromUnixNano(sess.last), a.IdleSince.UTC(), store.ErrConflict)
	}
	to, found := s.subs[a.SubscriptionID]
	if !found {
		return store.Session{}, fmt.Errorf("memstore: subscription %q: %w", a.SubscriptionID, store.ErrNotFound)
	}
	if ok && sess.sub == to {
		if !sess.extend(unixNano(a.HoldUntil), now) {
			return store.Session{}, fmt.Errorf("memstore: client %q is idle and %d of %d clients of subscription %q hold a slot: %w",
				a.ClientID, to.holds.after(now), to.rec.MaxClients, to.rec.ID, store.ErrFull)
		}
		sess.touch(now)
		return sess.record(), nil
	}
	if !to.rec.Status.InService(a.Now) {
		return store.Session{}, fmt.Errorf("memstore: subscription %q is %s: %w", to.rec.ID, to.rec.Status.State, store.ErrInactive)
	}
	if n := to.holds.after(now); to.rec.MaxClients > 0 && n >= to.rec.MaxClients {
		return store.Session{}, fmt.Errorf("memstore: %d of %d clients of subscription %q hold a slot: %w",
			n, to.rec.MaxClients, to.rec.ID, store.ErrFull)
	}
	if ok {
		delete(sess.sub.clients, sess.clientID)
		sess.sub.holds.remove(sess)
		sess.sub.holds.prune(now)
	} else {
		sess = &session{clientID: strings.Clone(a.ClientID), created: now}
		s.sessions[sess.clientID] = sess
	}
	sess.sub = to
	sess.assigned = now
	to.clients[sess.clientID] = sess
	sess.place(unixNano(a.HoldUntil), now)
	if a.IdleSince.IsZero() {
		sess.touch(now)
	}
	return sess.record(), nil
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	if err := ctx.Err(); err != nil {
		return store.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[clientID]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	if !idleSince.IsZero() && sess.last > unixNano(idleSince) {
		return store.Session{}, fmt.Errorf("memstore: client %q was active at %v, after %v: %w",
			clientID, fromUnixNano(sess.last), idleSince.UTC(), store.ErrConflict)
	}
	delete(s.sessions, clientID)
	delete(sess.sub.clients, clientID)
	sess.sub.holds.remove(sess)
	return sess.record(), nil
}

// Sessions implements store.Store.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	before := unixNano(q.ActiveBefore)
	s.mu.Lock()
	from := s.sessions
	if q.SubscriptionID != "" {
		sub, ok := s.subs[q.SubscriptionID]
		if !ok {
			s.mu.Unlock()
			return nil, nil
		}
		from = sub.clients
	}
	var out []store.Session
	if before == 0 && len(from) > 0 {
		out = make([]store.Session, 0, len(from)) // all of them: allocate once
	}
	for _, sess := range from {
		if before == 0 || sess.last < before {
			out = append(out, sess.record())
		}
	}
	s.mu.Unlock()
	if q.Limit > 0 && len(out) > 0 {
		slices.SortFunc(out, func(a, b store.Session) int {
			if c := a.LastActive.Compare(b.LastActive); c != 0 {
				return c
			}
			return cmp.Compare(a.ClientID, b.ClientID)
		})
		out = out[:min(q.Limit, len(out))]
	}
	return out, nil
}
