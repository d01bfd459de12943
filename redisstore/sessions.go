package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authpool/authpool/store"
)

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	v, err := s.run(ctx, scriptTouch, s.keys.session(clientID), clientID, encTime(now), encTime(holdUntil))
	if err != nil {
		return store.Touched{}, err
	}
	code, rest, err := reply(scriptTouch.name, v)
	switch {
	case err != nil:
		return store.Touched{}, err
	case code == "notfound":
		return store.Touched{}, fmt.Errorf("redisstore: client %q: %w", clientID, store.ErrNotFound)
	case !(code == "ok" && len(rest) == 6 || code == "full" && len(rest) == 8):
		return store.Touched{}, errReply(scriptTouch.name, v)
	}
	var d decoder
	t := store.Touched{
		SubscriptionID: str(rest[0]),
		Status:         store.Status{State: store.State(d.int(rest[1])), Until: d.time(rest[2]), Reason: str(rest[3])},
		Held:           d.time(orNil(rest[4])),
		HoldUntil:      d.time(orNil(rest[5])),
	}
	if d.err != nil {
		return store.Touched{}, fmt.Errorf("redisstore: %s %q: %w", scriptTouch.name, clientID, d.err)
	}
	if code == "full" {
		return t, fmt.Errorf("redisstore: client %q is idle and %v of %v clients of subscription %q hold a slot: %w",
			clientID, rest[6], rest[7], t.SubscriptionID, store.ErrFull)
	}
	return t, nil
}

// orNil returns nil for "", which a script sends for a field that is not
// set: decTime reads nil as the zero time.
func orNil(v any) any {
	if v == "" {
		return nil
	}
	return v
}

// Assign implements store.Store.
func (s *Store) Assign(ctx context.Context, a store.Assignment) (store.Session, error) {
	v, err := s.run(ctx, scriptAssign, s.keys.session(a.ClientID),
		a.ClientID, a.SubscriptionID, a.From, encTimeOrNone(a.IdleSince), encTime(a.Now), encTime(a.HoldUntil))
	if err != nil {
		return store.Session{}, err
	}
	code, rest, err := reply(scriptAssign.name, v)
	if err != nil {
		return store.Session{}, err
	}
	switch code {
	case "ok":
		sess, err := decodeSession(rest)
		if err != nil {
			return store.Session{}, fmt.Errorf("redisstore: %s: %w", scriptAssign.name, err)
		}
		return sess, nil
	case "conflict":
		return store.Session{}, conflict(a, rest)
	case "notfound":
		return store.Session{}, fmt.Errorf("redisstore: subscription %q: %w", a.SubscriptionID, store.ErrNotFound)
	case "inactive":
		var state store.State
		if len(rest) > 0 {
			n, _ := decInt(rest[0])
			state = store.State(n)
		}
		return store.Session{}, fmt.Errorf("redisstore: subscription %q is %s: %w", a.SubscriptionID, state, store.ErrInactive)
	case "full":
		if len(rest) == 2 {
			return store.Session{}, fmt.Errorf("redisstore: %v of %v clients of subscription %q hold a slot: %w", rest[0], rest[1], a.SubscriptionID, store.ErrFull)
		}
		return store.Session{}, fmt.Errorf("redisstore: subscription %q: %w", a.SubscriptionID, store.ErrFull)
	}
	return store.Session{}, errReply(scriptAssign.name, v)
}

// conflict describes why an Assign's condition failed: rest is the
// client's subscription ("" for none) and, if it has one, its LastActive.
func conflict(a store.Assignment, rest []any) error {
	on := ""
	if len(rest) > 0 {
		on = str(rest[0])
	}
	switch {
	case on == "":
		return fmt.Errorf("redisstore: client %q has no session, want one on %q: %w", a.ClientID, a.From, store.ErrConflict)
	case on != a.From:
		return fmt.Errorf("redisstore: client %q is on %q, want %q: %w", a.ClientID, on, a.From, store.ErrConflict)
	}
	var last time.Time
	if len(rest) > 1 {
		last, _ = decTime(rest[1])
	}
	return fmt.Errorf("redisstore: client %q was active at %v, after %v: %w", a.ClientID, last, a.IdleSince.UTC(), store.ErrConflict)
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, clientID string, idleSince time.Time) (store.Session, error) {
	v, err := s.run(ctx, scriptRelease, s.keys.session(clientID), clientID, encTimeOrNone(idleSince))
	if err != nil {
		return store.Session{}, err
	}
	code, rest, err := reply(scriptRelease.name, v)
	if err != nil {
		return store.Session{}, err
	}
	switch code {
	case "ok":
		sess, err := decodeSession(rest)
		if err != nil {
			return store.Session{}, fmt.Errorf("redisstore: %s: %w", scriptRelease.name, err)
		}
		return sess, nil
	case "notfound":
		return store.Session{}, fmt.Errorf("redisstore: client %q: %w", clientID, store.ErrNotFound)
	case "conflict":
		var last time.Time
		if len(rest) > 0 {
			last, _ = decTime(rest[0])
		}
		return store.Session{}, fmt.Errorf("redisstore: client %q was active at %v, after %v: %w", clientID, last, idleSince.UTC(), store.ErrConflict)
	}
	return store.Session{}, errReply(scriptRelease.name, v)
}

// sessionBatch is how many index entries one script call of Sessions reads
// at most: a bounded step, however many sessions the pool has.
const sessionBatch = 256

// Sessions implements store.Store. It walks the activity index (see the
// package documentation) from the oldest session, one script call per
// sessionBatch entries, and stops at the first session too recent for q,
// or once it has q.Limit sessions. A query that takes several calls is not
// one snapshot: a session written meanwhile is returned once, as the first
// call that met it read it.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	if err := s.upgradeIndex(ctx); err != nil {
		return nil, err
	}
	key := s.keys.active()
	if q.SubscriptionID != "" {
		key = s.keys.activeOf(q.SubscriptionID)
	}
	before, ended := encTimeOrNone(q.ActiveBefore), encTimeOrNone(q.HoldEndedBy)
	var out []store.Session
	var seen map[string]bool // the clients returned, once a second call may meet them again
	for after := ""; ; {
		v, err := s.run(ctx, scriptSessions, key, before, ended, after, sessionBatch)
		if err != nil {
			return nil, err
		}
		code, rest, err := reply(scriptSessions.name, v)
		if err != nil {
			return nil, err
		}
		if code != "ok" || len(rest) == 0 {
			return nil, errReply(scriptSessions.name, v)
		}
		batch, err := decodeSessions(rest[1:])
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", scriptSessions.name, err)
		}
		after = str(rest[0])
		if out == nil && after == "" {
			out = batch // the whole query in one call: the common case
		} else {
			if seen == nil {
				seen = make(map[string]bool, len(out)+len(batch))
				for _, sess := range out {
					seen[sess.ClientID] = true
				}
			}
			for _, sess := range batch {
				if !seen[sess.ClientID] {
					seen[sess.ClientID] = true
					out = append(out, sess)
				}
			}
		}
		if q.Limit > 0 && len(out) >= q.Limit {
			return out[:q.Limit], nil
		}
		if after == "" {
			return out, nil
		}
	}
}

// upgradeIndex indexes, once per Store, the sessions written before the
// activity index existed, in bounded steps (lua/index.lua); a mark in Redis
// tells later Stores that the index is complete. Until every process runs a
// version that keeps the index, sessions that an older one writes are
// indexed only at their next write by a newer one.
func (s *Store) upgradeIndex(ctx context.Context) error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.indexed {
		return nil
	}
	v, err := s.run(ctx, scriptIndex, s.keys.subs(), "start", "", "")
	if err != nil {
		return err
	}
	code, rest, err := reply(scriptIndex.name, v)
	switch {
	case err != nil:
		return err
	case code == "done":
		s.indexed = true
		return nil
	case code != "subs" || len(rest) != 1:
		return errReply(scriptIndex.name, v)
	}
	ids, _ := rest[0].([]any)
	for _, id := range ids {
		for cursor := "0"; ; {
			v, err := s.run(ctx, scriptIndex, s.keys.subs(), "scan", str(id), cursor)
			if err != nil {
				return err
			}
			code, rest, err := reply(scriptIndex.name, v)
			if err != nil || code != "ok" || len(rest) != 1 {
				return errors.Join(err, errReply(scriptIndex.name, v))
			}
			if cursor = str(rest[0]); cursor == "0" {
				break
			}
		}
	}
	if _, err := s.run(ctx, scriptIndex, s.keys.subs(), "mark", "", ""); err != nil {
		return err
	}
	s.indexed = true
	return nil
}
