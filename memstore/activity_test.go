package memstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// TestActivityOrder checks, after random writes, that the store's and each
// subscription's activity orders hold exactly their sessions, by LastActive.
func TestActivityOrder(t *testing.T) {
	ctx := context.Background()
	s := New()
	subs := []string{"a", "b", "c"}
	for _, id := range subs {
		if err := s.CreateSubscription(ctx, store.Subscription{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_700_000_000, 0)
	for i := range 5000 {
		client := fmt.Sprint("c", rng.IntN(200))
		now := base.Add(time.Duration(i/3+rng.IntN(20)) * time.Second) // mostly in order, some late, some ties
		var err error
		switch rng.IntN(5) {
		case 0, 1:
			_, err = s.Touch(ctx, client, now, time.Time{})
		case 2:
			from := ""
			if sess, ok := s.sessions[client]; ok {
				from = sess.sub.rec.ID
			}
			_, err = s.Assign(ctx, store.Assignment{ClientID: client, SubscriptionID: subs[rng.IntN(3)], From: from, Now: now})
		case 3:
			_, err = s.AddUsage(ctx, client, store.UsageRecord{Time: now, Now: now})
		case 4:
			if rng.IntN(4) == 0 {
				_, err = s.Release(ctx, client, time.Time{})
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	check := func(name string, a *activity, want map[string]*session) {
		n, prev := 0, int64(-1)
		for sess := a.head; sess != nil; sess = a.l(sess).next {
			if want[sess.clientID] != sess {
				t.Fatalf("%s: %q is listed but not a member", name, sess.clientID)
			}
			if sess.last < prev {
				t.Fatalf("%s: %q last active %d after one at %d", name, sess.clientID, sess.last, prev)
			}
			prev = sess.last
			n++
		}
		if n != len(want) {
			t.Fatalf("%s: %d listed, want %d", name, n, len(want))
		}
	}
	check("store", &s.byLast, s.sessions)
	for _, id := range subs {
		check(id, &s.subs[id].byLast, s.subs[id].clients)
	}
}
