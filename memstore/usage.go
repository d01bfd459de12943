package memstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/authpool/authpool/store"
)

// AddUsage implements store.Store.
func (s *Store) AddUsage(ctx context.Context, clientID string, u store.UsageRecord) (store.Added, error) {
	if err := ctx.Err(); err != nil {
		return store.Added{}, err
	}
	now, hour := unixNano(u.Now), store.HourOf(u.Time)
	s.mu.Lock()
	defer s.mu.Unlock()
	var sess *session
	var billed *subscription
	if clientID != "" {
		var ok bool
		if sess, ok = s.sessions[clientID]; !ok {
			return store.Added{}, store.ErrNotFound
		}
		billed = sess.sub
	}
	if u.SubscriptionID != "" && (billed == nil || u.SubscriptionID != billed.rec.ID) {
		var ok bool
		if billed, ok = s.subs[u.SubscriptionID]; !ok {
			return store.Added{}, fmt.Errorf("memstore: subscription %q: %w", u.SubscriptionID, store.ErrNotFound)
		}
	}
	if billed == nil {
		return store.Added{}, fmt.Errorf("memstore: a usage without a client must name its subscription: %w", store.ErrNotFound)
	}
	if u.ID != "" {
		switch v, horizon := s.seen.add(u.ID, unixNano(u.Time), now, u.Remember, u.RememberBytes); v {
		case idDuplicate:
			return store.Added{}, store.ErrDuplicate
		case idForgotten:
			return store.Added{}, &store.ForgottenError{ID: u.ID, Time: u.Time, Horizon: fromUnixNano(horizon)}
		}
	}
	billed.add(hour, store.MinuteOf(u.Time), u.Cost, u.Tokens)
	if u.BlockHours > 0 && hour >= billed.block+int64(u.BlockHours) {
		billed.block = hour
	}
	if sess == nil {
		return store.Added{Billed: billed.rec.ID}, nil // spending outside the pool: no session, no activity
	}
	billed.last = max(billed.last, now)
	s.active(sess, now) // the session's own subscription is not billed: not its activity
	sess.requests++
	sess.cost += u.Cost
	sess.tokens.Add(u.Tokens)
	if sess.model != u.Model {
		sess.model = strings.Clone(u.Model)
	}
	held := sess.hold
	sess.extend(unixNano(u.HoldUntil), now) // a full subscription keeps an ended hold ended
	a := store.Added{Billed: billed.rec.ID, SubscriptionID: sess.sub.rec.ID}
	a.Held, a.HoldUntil = holdTimes(held, sess.hold)
	return a, nil
}
