package memstore

// activity orders sessions by LastActive, oldest first: an intrusive doubly
// linked list, so that Sessions walks from the oldest and stops at the
// first session too recent for its query, whatever the number of sessions.
// The store keeps one of all its sessions and one per subscription. Ties
// keep their arrival order (Sessions sorts the few it returns by client ID).
//
// LastActive only moves forward, and mostly to the newest time: fix moves a
// session toward the back, walking from both ends at once, so a write costs
// O(1) when its time is the newest and at worst the distance to the nearer
// end (a moved idle session placed among the target's sessions).
type activity struct {
	head, tail *session
	link       int // which of a session's links this order uses
}

// The links of a session: in the store's order, and in its subscription's.
const (
	allLink = iota
	subLink
)

// links are a session's neighbours in one activity order.
type links struct{ prev, next *session }

func (a *activity) l(s *session) *links { return &s.links[a.link] }

// insert puts s after the sessions last active at or before it.
func (a *activity) insert(s *session) {
	back, fwd := a.tail, a.head
	for {
		if back == nil || back.last <= s.last {
			a.after(back, s)
			return
		}
		if fwd == nil || fwd.last > s.last {
			a.before(fwd, s)
			return
		}
		back, fwd = a.l(back).prev, a.l(fwd).next
	}
}

// after links s after at, or first when at is nil.
func (a *activity) after(at, s *session) {
	next := a.head
	if at != nil {
		next = a.l(at).next
	}
	a.link2(at, s, next)
}

// before links s before at, or last when at is nil.
func (a *activity) before(at, s *session) {
	prev := a.tail
	if at != nil {
		prev = a.l(at).prev
	}
	a.link2(prev, s, at)
}

// link2 links s between prev and next (either nil at an end).
func (a *activity) link2(prev, s, next *session) {
	*a.l(s) = links{prev: prev, next: next}
	if prev == nil {
		a.head = s
	} else {
		a.l(prev).next = s
	}
	if next == nil {
		a.tail = s
	} else {
		a.l(next).prev = s
	}
}

// remove unlinks s.
func (a *activity) remove(s *session) {
	l := a.l(s)
	if l.prev == nil {
		a.head = l.next
	} else {
		a.l(l.prev).next = l.next
	}
	if l.next == nil {
		a.tail = l.prev
	} else {
		a.l(l.next).prev = l.prev
	}
	*l = links{}
}

// fix puts s back in order after its LastActive moved forward.
func (a *activity) fix(s *session) {
	if next := a.l(s).next; next == nil || next.last >= s.last {
		return // still in order
	}
	a.remove(s)
	a.insert(s)
}

// active moves a session's LastActive forward to now, never back, keeping
// the store's and its subscription's orders.
func (s *Store) active(sess *session, now int64) {
	if now <= sess.last {
		return
	}
	sess.last = now
	s.byLast.fix(sess)
	sess.sub.byLast.fix(sess)
}

// touch moves the session's and its subscription's activity forward to now.
func (s *Store) touch(sess *session, now int64) {
	s.active(sess, now)
	sess.sub.last = max(sess.sub.last, now)
}
