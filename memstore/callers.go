package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/authpool/authpool/store"
)

// This file is the store.CallerStore methods that create, change, delete
// and find callers; callers_spend.go counts what they spend.

var _ store.CallerStore = (*Store)(nil)

// caller is a caller's record with its spending: a ring of hourly totals,
// its sessions' totals (at most store.MaxCallerSessions) and its leases.
type caller struct {
	rec      store.Caller // LargestCharge included
	hours    hourRing
	sessions map[string]*callerSession
	leases   map[string]int64 // lease ID -> when it ends, Unix nanoseconds
}

// callerSession is one session's totals; times are Unix nanoseconds.
type callerSession struct {
	first, last int64
	requests    int64
	cost        store.Nanodollars
	tokens      store.Tokens
}

// callers is the store's callers, by ID and by key hash, and the usage IDs
// of their charges (remembered apart from the subscriptions').
type callers struct {
	byID  map[string]*caller
	byKey map[[32]byte]*caller
	seen  usageIDs
}

func newCallers() callers {
	return callers{byID: make(map[string]*caller), byKey: make(map[[32]byte]*caller), seen: newUsageIDs()}
}

// CreateCaller implements store.CallerStore.
func (s *Store) CreateCaller(ctx context.Context, c store.Caller) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.callers.byID[c.ID]; ok {
		return fmt.Errorf("memstore: caller %q: %w", c.ID, store.ErrExists)
	}
	if _, ok := s.callers.byKey[c.KeyHash]; ok {
		return fmt.Errorf("memstore: caller %q: its key hash is another caller's: %w", c.ID, store.ErrExists)
	}
	c.ID, c.Sessionless, c.LargestCharge = strings.Clone(c.ID), strings.Clone(c.Sessionless), 0
	rec := &caller{rec: c, hours: newHourRing(), sessions: make(map[string]*callerSession), leases: make(map[string]int64)}
	s.callers.byID[c.ID] = rec
	s.callers.byKey[c.KeyHash] = rec
	return nil
}

// UpdateCaller implements store.CallerStore.
func (s *Store) UpdateCaller(ctx context.Context, id string, u store.CallerUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := u.Check(id); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return err
	}
	u.Apply(&cur.rec)
	cur.rec.Sessionless = strings.Clone(cur.rec.Sessionless)
	return nil
}

// DeleteCaller implements store.CallerStore.
func (s *Store) DeleteCaller(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return err
	}
	delete(s.callers.byID, id)
	delete(s.callers.byKey, cur.rec.KeyHash)
	return nil
}

// Caller implements store.CallerStore.
func (s *Store) Caller(ctx context.Context, id string) (store.Caller, error) {
	if err := ctx.Err(); err != nil {
		return store.Caller{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.caller(id)
	if err != nil {
		return store.Caller{}, err
	}
	return cur.rec, nil
}

// Callers implements store.CallerStore.
func (s *Store) Callers(ctx context.Context) ([]store.Caller, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Caller, 0, len(s.callers.byID))
	for _, c := range s.callers.byID {
		out = append(out, c.rec)
	}
	slices.SortFunc(out, func(a, b store.Caller) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CallerByKey implements store.CallerStore.
func (s *Store) CallerByKey(ctx context.Context, keyHash [32]byte) (store.Caller, error) {
	if err := ctx.Err(); err != nil {
		return store.Caller{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.callers.byKey[keyHash]
	if !ok {
		return store.Caller{}, fmt.Errorf("memstore: no caller has that key: %w", store.ErrNotFound)
	}
	return cur.rec, nil
}

// caller returns caller id; an unknown id is store.ErrNotFound. s.mu is
// held.
func (s *Store) caller(id string) (*caller, error) {
	cur, ok := s.callers.byID[id]
	if !ok {
		return nil, fmt.Errorf("memstore: caller %q: %w", id, store.ErrNotFound)
	}
	return cur, nil
}

// hourRing is a caller's hourly totals: a ring of store.WeekHours buckets,
// whose size does not depend on how much it counts.
type hourRing struct {
	buckets [store.WeekHours]store.Bucket
	newest  int64 // the newest bucket's hour; noHour if none
}

func newHourRing() hourRing { return hourRing{newest: noHour} }

// add counts one request in the bucket of its hour, unless that hour is
// older than the ring keeps.
func (r *hourRing) add(hour int64, cost store.Nanodollars, tokens store.Tokens) {
	b := &r.buckets[slot(hour)]
	if b.Requests > 0 && b.Hour != hour {
		if b.Hour > hour {
			return // more than a week older than a bucket kept
		}
		*b = store.Bucket{}
	}
	if b.Requests == 0 && hour <= r.newest-store.WeekHours {
		return // more than a week older than the newest bucket
	}
	b.Hour = hour
	b.Cost += cost
	b.Requests++
	b.Tokens.Add(tokens)
	r.newest = max(r.newest, hour)
}

// at returns the bucket of hour h, empty if the ring does not hold it.
func (r *hourRing) at(h int64) store.Bucket {
	if r.newest == noHour || h <= r.newest-store.WeekHours || h > r.newest {
		return store.Bucket{}
	}
	if b := r.buckets[slot(h)]; b.Requests > 0 && b.Hour == h {
		return b
	}
	return store.Bucket{}
}

// between returns the non-empty buckets of hours from to to, oldest first.
func (r *hourRing) between(from, to int64) []store.Bucket {
	from, to = max(from, r.newest-store.WeekHours+1), min(to, r.newest)
	var out []store.Bucket
	for h := from; h <= to; h++ {
		if b := r.at(h); b.Requests > 0 {
			out = append(out, b)
		}
	}
	return out
}
