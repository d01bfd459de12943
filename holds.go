package authpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// A subscription's slots. A client holds a slot of its subscription until
// its session's hold ends (store.Session.HoldUntil): IdleAfter after its
// latest activity, or longer while the prompt cache its latest request
// wrote lives (Usage.CacheTTL). MaxClients caps the clients holding a slot,
// not the sessions: a one-shot client that never comes back stops counting
// once its hold ends. The view keeps each subscription's holds as the store
// last reported them (store.Subscription.Holds) and as this pool changed
// them since, so that it knows at any instant how many clients hold a slot
// and when the next slot frees up.

// loadHolds replaces the subscription's holds with the store's.
func (sv *subView) loadHolds(holds []time.Time) {
	if cap(sv.holds) < len(holds) {
		sv.holds = make([]int64, 0, len(holds))
	}
	sv.holds = sv.holds[:0]
	for _, h := range holds {
		sv.holds = append(sv.holds, h.UnixNano())
	}
	slices.Sort(sv.holds)
}

// firstAfter returns the index of the first hold that ends after t (Unix
// nanoseconds): a binary search, written out because selection runs it for
// every subscription, after a look at the first hold, which usually ends
// after t (each move drops the holds that ended). mu must be held.
func (sv *subView) firstAfter(t int64) int {
	h := sv.holds
	if len(h) == 0 || h[0] > t {
		return 0
	}
	lo, hi := 1, len(h)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h[m] > t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// holding returns how many clients hold a slot at now (Unix nanoseconds).
// mu must be held.
func (sv *subView) holding(now int64) int { return len(sv.holds) - sv.firstAfter(now) }

// fullAt reports whether the subscription takes no client at now: MaxClients
// of its clients hold a slot. mu must be held.
func (sv *subView) fullAt(now int64) bool { return full(sv.holding(now), sv.rec.MaxClients) }

// freesAt returns when a full subscription has room again if no hold is
// extended meanwhile: when all but MaxClients-1 of the holds after now have
// ended. mu must be held.
func (sv *subView) freesAt(now int64) time.Time {
	i := sv.firstAfter(now) + sv.holding(now) - sv.rec.MaxClients
	if sv.rec.MaxClients <= 0 || i < 0 || i >= len(sv.holds) {
		return time.Time{}
	}
	return time.Unix(0, sv.holds[i]).UTC()
}

// moveHold replaces a client's hold that ended at from (0: it had none in
// the view) with one ending at to (0: none), dropping the holds that ended
// by now. Holds that end at the same time are alike: it removes the last of
// them and inserts after them, which moves nothing when many clients hold
// the same (a clock that stands still). mu must be held.
func (sv *subView) moveHold(from, to, now int64) {
	if from != 0 {
		if i := sv.firstAfter(from) - 1; i >= 0 && sv.holds[i] == from {
			sv.holds = slices.Delete(sv.holds, i, i+1)
		}
	}
	if ended := sv.firstAfter(now); ended > 0 {
		sv.holds = slices.Delete(sv.holds, 0, ended)
	}
	if to > now {
		sv.holds = slices.Insert(sv.holds, sv.firstAfter(to), to)
	}
}

// noteHold updates the view after the store moved a client's hold on a
// subscription from held to hold (Touch, AddUsage). It takes the lock only
// when the hold changed.
func (p *Pool) noteHold(id string, held, hold time.Time, now time.Time) {
	if held.Equal(hold) {
		return
	}
	sv := p.current().byID[id]
	if sv == nil {
		return
	}
	p.mu.Lock()
	sv.moveHold(nanos(held), nanos(hold), now.UnixNano())
	p.mu.Unlock()
}

// holdFor returns the hold a client active at now gets: IdleAfter, or the
// prompt cache's time to live when that is longer.
func (p *Pool) holdFor(now time.Time, cacheTTL time.Duration) time.Time {
	return now.Add(max(time.Duration(p.cfg.Sessions.IdleAfter), cacheTTL))
}

// Hold keeps a working client's slot for another Sessions.IdleAfter without
// a request the pool sees: what a host calls, every minute or so, while a
// client works on its subscription's credential outside the pool — a CLI
// run, whose requests go straight to the API (cli.Runner does it while
// its run lasts). It marks the client active and never moves it. It reports
// false when the client's hold had ended and other clients took every slot
// meanwhile: the client goes on where it is, and its next Allocate places it
// like a new one. A client without a session is ErrUnknownClient.
func (p *Pool) Hold(ctx context.Context, clientID string) (bool, error) {
	if err := p.usable(); err != nil {
		return false, err
	}
	if err := bounds.CheckText("client ID", clientID, false); err != nil {
		return false, fmt.Errorf("authpool: hold: %w: %w", err, ErrInvalidArgument)
	}
	now := p.now()
	_, err := p.touch(ctx, &request{clientID: clientID, now: now, hold: p.holdFor(now, 0)})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrFull):
		return false, nil
	case errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("authpool: hold client %q: %w", clientID, ErrUnknownClient)
	}
	return false, fmt.Errorf("authpool: hold client %q: %w", clientID, err)
}
