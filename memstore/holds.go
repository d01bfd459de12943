package memstore

import (
	"slices"
	"sort"
	"time"
)

// holds are a subscription's holds on its slots (see store.Session's
// HoldUntil), ascending by their end: what Assign and Touch count. A hold is
// listed while it may still count; prune drops those that ended, so the
// list stays about as long as the clients holding a slot however many idle
// sessions the subscription has.
type holds []holdEntry

// holdEntry is one session's hold: its end, in Unix nanoseconds.
type holdEntry struct {
	until int64
	sess  *session
}

// first returns the index of the first hold ending after t.
func (h holds) first(t int64) int {
	return sort.Search(len(h), func(i int) bool { return h[i].until > t })
}

// after returns how many holds end after now: the clients holding a slot.
func (h holds) after(now int64) int { return len(h) - h.first(now) }

// prune drops the holds that ended at or before now.
func (h *holds) prune(now int64) {
	i := h.first(now)
	if i == 0 {
		return
	}
	for _, e := range (*h)[:i] {
		e.sess.listed = false
	}
	n := copy(*h, (*h)[i:])
	clear((*h)[n:])
	*h = (*h)[:n]
}

// remove drops the session's hold, if it is listed. Holds that end at the
// same time may be in any order: it swaps the session's with the last of
// them before deleting, which moves nothing when many sessions hold the
// same (a clock that stands still).
func (h *holds) remove(sess *session) {
	if !sess.listed {
		return
	}
	last := h.first(sess.hold) - 1 // the last hold ending with the session's
	for i := last; i >= 0 && (*h)[i].until == sess.hold; i-- {
		if (*h)[i].sess == sess {
			(*h)[i], (*h)[last] = (*h)[last], (*h)[i]
			*h = slices.Delete(*h, last, last+1)
			break
		}
	}
	sess.listed = false
}

// add lists the session's hold, after the holds that end at the same time.
func (h *holds) add(sess *session) {
	*h = slices.Insert(*h, h.first(sess.hold), holdEntry{until: sess.hold, sess: sess})
	sess.listed = true
}

// holding reports whether the session holds a slot at now: its hold is
// listed and ends after now.
func (s *session) holding(now int64) bool { return s.listed && s.hold > now }

// extend moves the session's hold to the later of its hold and until, never
// back. A hold that has ended is renewed (to an until after now) only while
// fewer than its subscription's MaxClients clients hold a slot at now:
// extend reports false, changing nothing, when the subscription is full.
func (s *session) extend(until, now int64) bool {
	next := max(s.hold, until)
	switch {
	case s.holding(now):
		if next == s.hold {
			return true
		}
	case next <= now:
		s.hold = next // nothing to hold: the hold stays ended
		return true
	default:
		if sub := s.sub; sub.rec.MaxClients > 0 && sub.holds.after(now) >= sub.rec.MaxClients {
			return false
		}
	}
	h := &s.sub.holds
	h.prune(now)
	h.remove(s)
	s.hold = next
	h.add(s)
	return true
}

// holdTimes returns a hold before and after a call, as times: the same one,
// converted once, when the call did not move it (the common case).
func holdTimes(before, after int64) (time.Time, time.Time) {
	b := fromUnixNano(before)
	if after == before {
		return b, b
	}
	return b, fromUnixNano(after)
}

// place gives a session that has just joined its subscription the hold
// until (none unless it is after now), dropping the holds that ended.
func (s *session) place(until, now int64) {
	h := &s.sub.holds
	h.prune(now)
	s.hold, s.listed = until, false
	if until > now {
		h.add(s)
	}
}
