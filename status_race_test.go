package authpool_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// pausingTouch is a store whose next Touch, once armed, waits after the
// store answered it: the answer is then older than what other calls wrote
// meanwhile, as a Touch in flight on the network is.
type pausingTouch struct {
	store.Store
	armed    atomic.Bool
	answered chan struct{}
	release  chan struct{}
}

func (s *pausingTouch) Touch(ctx context.Context, clientID string, now, holdUntil time.Time) (store.Touched, error) {
	t, err := s.Store.Touch(ctx, clientID, now, holdUntil)
	if s.armed.CompareAndSwap(true, false) {
		s.answered <- struct{}{}
		<-s.release
	}
	return t, err
}

// An Allocate whose Touch the store answered before a MarkLimited, and
// whose answer reaches the view after it, must not put the subscription
// back in service in the view: that reports a recovery that did not happen,
// and its claim then silences the real one when the limit ends.
func TestAStaleTouchDoesNotUndoALimit(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	st := &pausingTouch{Store: authpool.NewTestStore(t), answered: make(chan struct{}), release: make(chan struct{})}
	rec := &recorder{}
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk, authpool.WithStore(st), authpool.WithNotifier(rec))
	pin(t, p, "s-a", "alice")

	st.armed.Store(true)
	done := make(chan error)
	go func() { _, err := p.Allocate(ctx, "alice"); done <- err }()
	<-st.answered // the store said s-a is active
	until := t0.Add(time.Hour)
	if err := p.MarkLimited(ctx, "s-a", until, "429"); err != nil {
		t.Fatal(err)
	}
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
		t.Errorf("while s-a is limited, a new client went to %q, want s-b", a.SubscriptionID)
	}

	clk.Set(until.Add(time.Hour)) // the limit has ended
	allocate(t, p, "carol")
	if err := p.Close(ctx); err != nil { // delivers the events
		t.Fatal(err)
	}
	var got []string
	for _, e := range rec.all() {
		if strings.HasPrefix(e, "limited") || strings.HasPrefix(e, "recovered") {
			got = append(got, e)
		}
	}
	want := []string{
		"limited 2026-11-26T12:30:00Z subscription=s-a until 2026-11-26T13:30:00Z",
		"recovered 2026-11-26T14:30:00Z subscription=s-a until 2026-11-26T13:30:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
