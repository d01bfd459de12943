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
		s.touch(sess, n)
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
		s.touch(sess, now)
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
		sess.sub.byLast.remove(sess)
		sess.sub.holds.remove(sess)
		sess.sub.holds.prune(now)
	} else {
		sess = &session{clientID: strings.Clone(a.ClientID), created: now}
		s.sessions[sess.clientID] = sess
		s.byLast.insert(sess)
	}
	sess.sub = to
	sess.assigned = now
	to.clients[sess.clientID] = sess
	to.byLast.insert(sess)
	sess.place(unixNano(a.HoldUntil), now)
	if a.IdleSince.IsZero() {
		s.touch(sess, now)
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
	s.byLast.remove(sess)
	sess.sub.byLast.remove(sess)
	return sess.record(), nil
}

// Sessions implements store.Store. A query with ActiveBefore or Limit walks
// the activity order from the oldest session and stops at the first one too
// recent for it, or once it has Limit sessions and those last active at the
// same time as the last of them (whose tie the client ID breaks).
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := s.selectSessions(q)
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

// selectSessions returns the sessions q selects, in no particular order:
// with a positive q.Limit, its oldest and those tied with the last of them.
func (s *Store) selectSessions(q store.SessionQuery) []store.Session {
	before, ended := unixNano(q.ActiveBefore), unixNano(q.HoldEndedBy)
	s.mu.Lock()
	defer s.mu.Unlock()
	from, order := s.sessions, &s.byLast
	if q.SubscriptionID != "" {
		sub, ok := s.subs[q.SubscriptionID]
		if !ok {
			return nil
		}
		from, order = sub.clients, &sub.byLast
	}
	if before == 0 && q.Limit <= 0 {
		out := make([]store.Session, 0, len(from)) // all of them: allocate once
		for _, sess := range from {
			if ended == 0 || sess.hold <= ended {
				out = append(out, sess.record())
			}
		}
		return out
	}
	var out []store.Session
	last := int64(0) // LastActive of the last session taken
	for sess := order.head; sess != nil; sess = order.l(sess).next {
		if before != 0 && sess.last >= before || q.Limit > 0 && len(out) >= q.Limit && sess.last != last {
			break
		}
		if ended == 0 || sess.hold <= ended {
			out, last = append(out, sess.record()), sess.last
		}
	}
	return out
}
