// Package memstore is the in-memory store.Store: the default of an authpool
// Pool, for one process. It is a store.CallerStore too.
package memstore

import (
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
	claims   dedup   // Claim keys
	callers  callers // store.CallerStore's records
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		subs:     make(map[string]*subscription),
		sessions: make(map[string]*session),
		byLast:   activity{link: allLink},
		seen:     newUsageIDs(),
		claims:   newDedup(),
		callers:  newCallers(),
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
		RefreshToken:        sub.RefreshToken,
		MaxClients:          sub.MaxClients,
		WeeklyBudget:        sub.WeeklyBudget,
		BlockBudget:         sub.BlockBudget,
		DailyBudget:         sub.DailyBudget,
		Status:              sub.Status,
	}
}
