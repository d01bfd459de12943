package authpool

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool/memstore"
)

// TestEmitRacingCloseLosesNothing: events emitted while the pool closes are
// either delivered or dropped and counted, never left in the queue; after
// Close nothing waits.
func TestEmitRacingCloseLosesNothing(t *testing.T) {
	const emitters, each = 4, 50
	for round := range 200 {
		n := newNotifications([]Notifier{NotifierFunc(func(context.Context, Event) error { return nil })},
			emitters*each, memstore.New(), slog.New(slog.DiscardHandler))
		var wg sync.WaitGroup
		for e := range emitters {
			wg.Go(func() {
				for i := range each {
					n.emit(outgoing{ev: Event{ID: "evt", Type: EventFailover, Time: time.Unix(int64(e*each+i), 0)}})
				}
			})
		}
		if err := n.close(t.Context()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		st := n.stats()
		if st.Waiting != 0 || st.Emitted+st.Dropped != emitters*each || st.Delivered != st.Emitted {
			t.Fatalf("round %d: %+v after Close; want nothing waiting, every event emitted or dropped, every emitted delivered", round, st)
		}
	}
}
