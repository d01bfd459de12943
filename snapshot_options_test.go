package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// TestSnapshotoutSessions takes Snapshot with each set of options
// of pools in several states and compares it with Snapshot: WithoutSessions
// leaves out the sessions (nil) and nothing else; without it Snapshot
// is Snapshot.
func TestSnapshotoutSessions(t *testing.T) {
	pools := []struct {
		name string
		pool func(t *testing.T) *authpool.Pool
	}{
		{"no session", func(t *testing.T) *authpool.Pool {
			return newPool(t, subs(sub("s-a"), sub("s-b")), newClock(t0))
		}},
		{"sessions on subscriptions and the fallback, one limited", func(t *testing.T) *authpool.Pool {
			p, clk := snapshotPool(t)
			if err := p.MarkLimited(context.Background(), "s-b", t0.Add(time.Hour), "5-hour limit"); err != nil {
				t.Fatal(err)
			}
			if err := p.Disable(context.Background(), "s-a", "by hand"); err != nil {
				t.Fatal(err)
			}
			if a := allocate(t, p, "carol"); a.SubscriptionID != authpool.FallbackID {
				t.Fatalf("carol went to %s, want the fallback", a.SubscriptionID)
			}
			spend(t, p, clk, "carol", 5)
			clk.Advance(15 * time.Minute)
			return p
		}},
		{"many sessions, no fallback", func(t *testing.T) *authpool.Pool {
			p := newPool(t, subs(sub("s-a"), sub("s-b"), sub("s-c")), newClock(t0))
			for i := range 30 {
				allocate(t, p, fmt.Sprintf("client-%02d", i))
			}
			return p
		}},
	}
	options := []struct {
		name         string
		opts         []authpool.SnapshotOption
		wantSessions bool
	}{
		{"none", nil, true},
		{"the zero option", []authpool.SnapshotOption{{}}, true},
		{"WithoutSessions", []authpool.SnapshotOption{authpool.WithoutSessions()}, false},
		{"WithoutSessions twice", []authpool.SnapshotOption{authpool.WithoutSessions(), authpool.WithoutSessions()}, false},
		{"WithoutSessions after the zero option", []authpool.SnapshotOption{{}, authpool.WithoutSessions()}, false},
		{"the zero option after WithoutSessions", []authpool.SnapshotOption{authpool.WithoutSessions(), {}}, false},
	}
	for _, pt := range pools {
		for _, ot := range options {
			t.Run(pt.name+"/"+ot.name, func(t *testing.T) {
				p := pt.pool(t)
				want := snapshot(t, p)
				if !ot.wantSessions {
					want.Sessions = nil
				}
				got, err := p.Snapshot(context.Background(), ot.opts...)
				if err != nil {
					t.Fatalf("Snapshot: %v", err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Snapshot differs from Snapshot (-want +got):\n%s", diff)
				}
				if ot.wantSessions && got.Sessions == nil {
					t.Error("Snapshot left the sessions nil") // a snapshot with sessions has a slice, empty or not
				}
			})
		}
	}
}

// noSessionsStore is a memstore whose Sessions always fails.
type noSessionsStore struct{ *memstore.Store }

func (noSessionsStore) Sessions(context.Context, store.SessionQuery) ([]store.Session, error) {
	return nil, fmt.Errorf("test: %w", store.ErrUnavailable)
}

// TestSnapshotoutSessionsReadsNoSession shows that WithoutSessions does
// not read the sessions: on a store whose Sessions fails, Snapshot fails
// and Snapshot(WithoutSessions()) does not.
func TestSnapshotoutSessionsReadsNoSession(t *testing.T) {
	p := newPool(t, subs(sub("s-a")), newClock(t0), authpool.WithStore(noSessionsStore{memstore.New()}))
	allocate(t, p, "alice")
	if _, err := p.Snapshot(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Snapshot: %v, want store.ErrUnavailable", err)
	}
	got, err := p.Snapshot(context.Background(), authpool.WithoutSessions())
	if err != nil {
		t.Fatalf("Snapshot(WithoutSessions()): %v", err)
	}
	if len(got.Subscriptions) != 1 || got.Subscriptions[0].Clients != 1 || got.Sessions != nil {
		t.Errorf("Snapshot(WithoutSessions()) = %+v, want s-a with 1 client and no sessions", got)
	}
}

// TestSnapshotAfterClose fails with ErrClosed, with or without options.
func TestSnapshotAfterClose(t *testing.T) {
	p := newPool(t, subs(sub("s-a")), newClock(t0))
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]authpool.SnapshotOption{nil, {authpool.WithoutSessions()}} {
		if _, err := p.Snapshot(context.Background(), opts...); !errors.Is(err, authpool.ErrClosed) {
			t.Errorf("Snapshot(%d options) after Close: %v, want ErrClosed", len(opts), err)
		}
	}
}
