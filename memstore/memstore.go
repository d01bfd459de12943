// Package memstore is the in-memory store.Store: the default of an authpool
// Pool, for one process.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authpool/authpool/store"
)

var _ store.Store = (*Store)(nil)

// Store is an in-memory store.Store. It is safe for concurrent use by
// multiple goroutines; each method is one critical section under one mutex.
// The zero Store is not usable; call New.
type Store struct {
	mu       sync.Mutex
	subs     map[string]*subscription
	sessions map[string]*session
	byLast   activity // every session, by LastActive
	seen     usageIDs
	claims   dedup // Claim keys
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		subs:     make(map[string]*subscription),
		sessions: make(map[string]*session),
		byLast:   activity{link: allLink},
		seen:     newUsageIDs(),
		claims:   newDedup(),
	}
}

// subscription is a subscription's record with its clients and its ring of
// hourly buckets: its size does not depend on how much usage it records.
type subscription struct {
	rec     store.Subscription // configuration and status; Clients, Holds and Usage unset
	clients map[string]*session
	holds   holds    // its sessions' holds on its slots
	byLast  activity // its sessions, by LastActive
	last    int64    // LastActive, Unix nanoseconds; 0 if never
	buckets [store.WeekHours]store.Bucket
	newest  int64                           // hour of the newest bucket, if any bucket has requests
	block   int64                           // hour of BlockStart; noHour if none
	minutes [store.BurnMinutes]store.Minute // a ring indexed by minute; a slot that costs nothing is empty
}

// session is a client's session; times are Unix nanoseconds to keep it small.
type session struct {
	clientID string
	sub      *subscription
	created  int64
	assigned int64
	last     int64
	requests int64
	cost     store.Nanodollars
	tokens   store.Tokens
	model    string
	hold     int64    // HoldUntil; 0 if none
	listed   bool     // the hold is in its subscription's holds
	links    [2]links // in the store's and its subscription's activity orders
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (s *session) record() store.Session {
	return store.Session{
		ClientID:       s.clientID,
		SubscriptionID: s.sub.rec.ID,
		Created:        fromUnixNano(s.created),
		Assigned:       fromUnixNano(s.assigned),
		LastActive:     fromUnixNano(s.last),
		Requests:       s.requests,
		Cost:           s.cost,
		Tokens:         s.tokens,
		Model:          s.model,
		HoldUntil:      fromUnixNano(s.hold),
	}
}

func (sub *subscription) record() store.Subscription {
	rec := sub.rec
	rec.Clients = len(sub.clients)
	if len(sub.holds) > 0 {
		rec.Holds = make([]time.Time, len(sub.holds))
		for i, h := range sub.holds {
			rec.Holds[i] = fromUnixNano(h.until)
		}
	}
	rec.LastActive = fromUnixNano(sub.last)
	if sub.block != noHour {
		rec.BlockStart = store.HourStart(sub.block)
	}
	rec.Minutes = sub.recentMinutes()
	if sub.newest == noHour {
		return rec
	}
	// Count first so that Usage is allocated once, at its exact size: growing
	// it by append allocated about three times the ring's bytes per record.
	n := 0
	for h := sub.newest - store.WeekHours + 1; h <= sub.newest; h++ {
		if b := &sub.buckets[slot(h)]; b.Requests > 0 && b.Hour == h {
			n++
		}
	}
	if n == 0 {
		return rec
	}
	rec.Usage = make([]store.Bucket, 0, n)
	for h := sub.newest - store.WeekHours + 1; h <= sub.newest; h++ {
		if b := &sub.buckets[slot(h)]; b.Requests > 0 && b.Hour == h {
			rec.Usage = append(rec.Usage, *b)
		}
	}
	return rec
}

// recentMinutes returns the minute buckets that cost something among the
// BurnMinutes minutes up to the newest, oldest first; nil if none.
func (sub *subscription) recentMinutes() []store.Minute {
	newest, n := int64(0), 0
	for _, m := range &sub.minutes {
		if m.Cost != 0 {
			newest, n = max(newest, m.Minute), n+1
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]store.Minute, 0, n)
	for m := newest - store.BurnMinutes + 1; m <= newest; m++ {
		if b := sub.minutes[minuteSlot(m)]; b.Cost != 0 && b.Minute == m {
			out = append(out, b)
		}
	}
	return out
}

// add puts a usage in the bucket of its hour, and its cost in the bucket of
// its minute, unless that hour is older than the ring keeps.
func (sub *subscription) add(hour, minute int64, cost store.Nanodollars, tokens store.Tokens) {
	b := &sub.buckets[slot(hour)]
	if b.Requests > 0 && b.Hour != hour {
		if b.Hour > hour {
			return // more than a week older than a bucket already kept
		}
		*b = store.Bucket{}
	}
	if b.Requests == 0 && hour <= sub.newest-store.WeekHours {
		return // more than a week older than the newest bucket
	}
	b.Hour = hour
	b.Cost += cost
	b.Requests++
	b.Tokens.Add(tokens)
	if hour > sub.newest || sub.newest == noHour {
		sub.newest = hour
	}
	if cost == 0 {
		return
	}
	switch m := &sub.minutes[minuteSlot(minute)]; {
	case m.Cost != 0 && m.Minute == minute:
		m.Cost += cost
	case m.Cost == 0 || m.Minute < minute:
		*m = store.Minute{Minute: minute, Cost: cost}
	} // else the slot holds a later minute: this one is an hour older than it
}

// noHour is the newest hour, and the block's hour, of a subscription
// without usage: far enough in the past that any usage is after its block.
const noHour = -1 << 62

// slot returns the ring index of an hour.
func slot(hour int64) int { return int(((hour % store.WeekHours) + store.WeekHours) % store.WeekHours) }

// minuteSlot returns the minute ring's index of a minute.
func minuteSlot(minute int64) int {
	return int(((minute % store.BurnMinutes) + store.BurnMinutes) % store.BurnMinutes)
}

func config(sub store.Subscription) store.Subscription {
	return store.Subscription{
		ID:                  sub.ID,
		Name:                sub.Name,
		Kind:                sub.Kind,
		Credential:          sub.Credential,
		CredentialExpiresAt: sub.CredentialExpiresAt,
		MaxClients:          sub.MaxClients,
		WeeklyBudget:        sub.WeeklyBudget,
		BlockBudget:         sub.BlockBudget,
		DailyBudget:         sub.DailyBudget,
		Status:              sub.Status,
	}
}

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
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[sub.ID]
	if !ok {
		return fmt.Errorf("memstore: subscription %q: %w", sub.ID, store.ErrNotFound)
	}
	kept := cur.rec
	cur.rec = config(sub)
	cur.rec.Status, cur.rec.ModelLimits, cur.rec.Reported = kept.Status, kept.ModelLimits, kept.Reported
	return nil
}

// SetModelLimit implements store.Store.
func (s *Store) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
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
	return nil
}

// SetReported implements store.Store.
func (s *Store) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
	if r.At.Before(cur.rec.Reported.At) {
		return nil // a later report is stored
	}
	cur.rec.Reported = r
	if !blockStart.IsZero() {
		cur.block = store.HourOf(blockStart)
	}
	return nil
}

// SetStatus implements store.Store.
func (s *Store) SetStatus(ctx context.Context, id string, st store.Status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[id]
	if !ok {
		return fmt.Errorf("memstore: subscription %q: %w", id, store.ErrNotFound)
	}
	cur.rec.Status = st
	return nil
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

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, key string, now, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims.add(key, unixNano(now), until.Sub(now)), nil
}
