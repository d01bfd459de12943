package memstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// This file is the store.CallerStore methods that count what callers spend
// and hold their caps.

// ChargeCaller implements store.CallerStore.
func (s *Store) ChargeCaller(ctx context.Context, id string, c store.Charge) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := c.Check(); err != nil {
		return false, fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return false, err
	}
	if c.UsageID != "" {
		switch v, horizon := s.callers.seen.add(c.UsageID, unixNano(c.At), unixNano(c.Now), c.Remember, c.RememberBytes); v {
		case idDuplicate:
			return false, nil
		case idForgotten:
			return false, fmt.Errorf("memstore: %w", &store.ForgottenError{ID: c.UsageID, Time: c.At, Horizon: fromUnixNano(horizon)})
		}
	}
	cur.hours.add(store.HourOf(c.At), c.Cost, c.Tokens)
	cur.rec.LargestCharge = max(cur.rec.LargestCharge, c.Cost)
	cur.session(c.Session, unixNano(c.At)).add(c)
	return true, nil
}

// session returns the caller's session named name, made if new at t; a
// new one beyond store.MaxCallerSessions makes the least recently charged
// go. A session last charged before the week of the caller's newest hour
// is forgotten, and made anew.
func (c *caller) session(name string, t int64) *callerSession {
	if sess, ok := c.sessions[name]; ok {
		if c.keeps(sess) {
			return sess
		}
		delete(c.sessions, name) // past the week kept
	}
	if len(c.sessions) >= store.MaxCallerSessions {
		oldest, at, found := "", int64(0), false
		for n, sess := range c.sessions {
			if !found || sess.last < at || sess.last == at && n < oldest {
				oldest, at, found = n, sess.last, true
			}
		}
		delete(c.sessions, oldest)
	}
	sess := &callerSession{first: t, last: t}
	c.sessions[strings.Clone(name)] = sess
	return sess
}

// keeps reports whether sess is within the week the caller's hours keep:
// last charged in it (one charged before is past it, and forgotten).
func (c *caller) keeps(sess *callerSession) bool {
	return store.HourOf(fromUnixNano(sess.last)) > c.hours.newest-store.WeekHours
}

// add counts a charge in the session.
func (s *callerSession) add(c store.Charge) {
	t := unixNano(c.At)
	s.first, s.last = min(s.first, t), max(s.last, t)
	s.requests++
	s.cost += c.Cost
	s.tokens.Add(c.Tokens)
}

// CallerUsage implements store.CallerStore.
func (s *Store) CallerUsage(ctx context.Context, id string, fromHour, toHour int64) ([]store.Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckHours(fromHour, toHour); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return nil, err
	}
	return cur.hours.between(fromHour, toHour), nil
}

// CallerSessions implements store.CallerStore.
func (s *Store) CallerSessions(ctx context.Context, id string, fromHour, toHour int64) ([]store.CallerSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckHours(fromHour, toHour); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return nil, err
	}
	var out []store.CallerSession
	for name, sess := range cur.sessions {
		first, last := store.HourOf(fromUnixNano(sess.first)), store.HourOf(fromUnixNano(sess.last))
		if !cur.keeps(sess) || first > toHour || last < fromHour {
			continue
		}
		out = append(out, store.CallerSession{Session: name, First: fromUnixNano(sess.first), Last: fromUnixNano(sess.last),
			Requests: sess.requests, Cost: sess.cost, Tokens: sess.tokens})
	}
	slices.SortFunc(out, func(a, b store.CallerSession) int {
		return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(a.Session, b.Session))
	})
	return out, nil
}

// AdmitCaller implements store.CallerStore.
func (s *Store) AdmitCaller(ctx context.Context, id string, now time.Time, budget store.Nanodollars, windowHours int, lease time.Duration) (store.Admission, error) {
	if err := ctx.Err(); err != nil {
		return store.Admission{}, err
	}
	if err := store.CheckAdmission(id, now, budget, windowHours, lease); err != nil {
		return store.Admission{}, fmt.Errorf("memstore: %w", err)
	}
	leaseID, err := newLeaseID()
	if err != nil {
		return store.Admission{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return store.Admission{}, err
	}
	h, at := store.HourOf(now), unixNano(now)
	spent := cur.hours.between(h-int64(windowHours)+1, h)
	a := store.Admission{Estimate: cur.rec.LargestCharge}
	for _, b := range spent {
		a.Used += b.Cost
	}
	a.Reset = store.WindowReset(spent, a.Used, budget, windowHours)
	for l, end := range cur.leases {
		if end <= at {
			delete(cur.leases, l) // ended
		}
	}
	a.InFlight = len(cur.leases)
	if !admits(a.Used, budget, a.InFlight, a.Estimate) {
		return a, nil
	}
	a.Admitted, a.LeaseID = true, leaseID
	cur.leases[leaseID] = at + int64(lease)
	return a, nil
}

// admits is store.CallerStore's rule: used below budget, and used plus
// each request in flight at estimate below it too; with no estimate yet,
// one request at a time.
func admits(used, budget store.Nanodollars, inFlight int, estimate store.Nanodollars) bool {
	switch {
	case used >= budget:
		return false
	case inFlight == 0:
		return true
	case estimate <= 0:
		return false
	}
	return int64(inFlight) <= int64(budget-used-1)/int64(estimate) // inFlight×estimate < budget-used, without overflow
}

// ReleaseCaller implements store.CallerStore.
func (s *Store) ReleaseCaller(ctx context.Context, id, leaseID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckLeaseID(leaseID); err != nil {
		return fmt.Errorf("memstore: releasing a lease of caller %q: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return err
	}
	delete(cur.leases, leaseID)
	return nil
}

// newLeaseID returns a lease's ID: 16 random bytes, in hex.
func newLeaseID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("memstore: making a lease id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
