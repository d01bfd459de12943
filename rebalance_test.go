package authpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

func rebalance(t *testing.T, p *authpool.Pool) authpool.RebalanceReport {
	t.Helper()
	r, err := p.Rebalance(context.Background())
	if err != nil {
		t.Fatalf("Rebalance: %v", err)
	}
	return r
}

// move is a Rebalance move between subscriptions without block budgets.
func move(client, from, to string, fromUSD, toUSD float64) authpool.Move {
	return budgetMove(client, from, to, fromUSD, 0, toUSD, 0)
}

// budgetMove is a Rebalance move between subscriptions with block budgets.
func budgetMove(client, from, to string, fromUSD, fromBudget, toUSD, toBudget float64) authpool.Move {
	return authpool.Move{ClientID: client, From: from, To: to, FromBlockUSD: fromUSD, FromBudgetUSD: fromBudget,
		ToBlockUSD: toUSD, ToBudgetUSD: toBudget, Reason: authpool.ReasonBlockGap}
}

func TestRebalanceMovesIdleClientsFromTheDearestBlockToTheCheapest(t *testing.T) {
	type setup func(t *testing.T, p *authpool.Pool, clk *clock)
	tests := []struct {
		name  string
		cfg   authpool.Config
		setup setup
		want  []authpool.Move
	}{
		{"at most three moves a call, oldest activity first, then by ID",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "dave", "carol", "bob", "alice")
				clk.Advance(time.Second)
				spend(t, p, clk, "alice", 10) // alice was active last
				clk.Advance(5 * time.Minute)
			},
			[]authpool.Move{move("bob", "s-a", "s-b", 10, 0), move("carol", "s-a", "s-b", 10, 0), move("dave", "s-a", "s-b", 10, 0)}},
		{"a gap of exactly $5.00 is enough",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice")
				spend(t, p, clk, "alice", 5)
				clk.Advance(5 * time.Minute)
			},
			[]authpool.Move{move("alice", "s-a", "s-b", 5, 0)}},
		{"a gap under $5.00 moves nobody",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice")
				spend(t, p, clk, "alice", 4.99)
				clk.Advance(5 * time.Minute)
			},
			nil},
		{"a gap set in the config",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a"), sub("s-b")}, Rebalance: authpool.RebalancePolicy{MinGapUSD: 1, MaxMoves: 1}},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice", "bob")
				spend(t, p, clk, "alice", 1)
				clk.Advance(5 * time.Minute)
			},
			[]authpool.Move{move("alice", "s-a", "s-b", 1, 0)}},
		{"an active client is not moved",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice", "bob")
				spend(t, p, clk, "alice", 10)
				clk.Advance(4*time.Minute + 59*time.Second)
			},
			nil},
		{"idle for exactly 5 minutes is idle; active since is not",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice", "bob")
				spend(t, p, clk, "alice", 10)
				clk.Advance(time.Second)
				allocate(t, p, "alice")
				clk.Advance(5*time.Minute - time.Second)
			},
			[]authpool.Move{move("bob", "s-a", "s-b", 10, 0)}},
		{"not to a subscription whose slots are all held",
			subs(sub("s-a"), sub("s-b", maxClients(2))),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice", "bob", "carol")
				spend(t, p, clk, "alice", 10)
				clk.Advance(5 * time.Minute)
				pin(t, p, "s-b", "yan", "zed") // working: they hold both slots
			},
			nil},
		{"to the cheapest eligible block, not a cheaper one out of service",
			subs(sub("s-a"), sub("s-b"), sub("s-c")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-b", "bob")
				spend(t, p, clk, "bob", 3)
				pin(t, p, "s-a", "alice")
				spend(t, p, clk, "alice", 20)
				if err := p.MarkLimited(context.Background(), "s-c", clk.Now().Add(time.Hour), "429"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(5 * time.Minute)
			},
			[]authpool.Move{move("alice", "s-a", "s-b", 20, 3)}},
		{"from the dearest block that has clients",
			subs(sub("s-a"), sub("s-b"), sub("s-c")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice")
				spend(t, p, clk, "alice", 50)
				if err := p.Release(context.Background(), "alice"); err != nil {
					t.Fatal(err)
				}
				pin(t, p, "s-b", "bob")
				spend(t, p, clk, "bob", 20)
				clk.Advance(5 * time.Minute)
			},
			[]authpool.Move{move("bob", "s-b", "s-c", 20, 0)}},
		{"by the room left in each block, not the cost: off the nearly spent small plan onto the big one",
			subs(sub("max-a", budgets(1000, 140)), sub("pro-b", budgets(50, 10))),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "max-a", "alice")
				spend(t, p, clk, "alice", 14) // $126 of room left
				pin(t, p, "pro-b", "bob")
				spend(t, p, clk, "bob", 9) // $1 of room left
				clk.Advance(10 * time.Minute)
			},
			[]authpool.Move{budgetMove("bob", "pro-b", "max-a", 9, 10, 14, 140)}},
		{"a block without a budget has more room than any with one",
			subs(sub("s-a", budgets(0, 140)), sub("s-free")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-free", "bob")
				spend(t, p, clk, "bob", 50)
				pin(t, p, "s-a", "alice")
				clk.Advance(10 * time.Minute)
			},
			[]authpool.Move{budgetMove("alice", "s-a", "s-free", 0, 140, 50, 0)}},
		{"nowhere to go: nobody moves",
			subs(sub("s-a"), sub("s-b")),
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				pin(t, p, "s-a", "alice")
				spend(t, p, clk, "alice", 10)
				if err := p.Disable(context.Background(), "s-b", "test"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(5 * time.Minute)
			},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			p := newPool(t, tt.cfg, clk)
			tt.setup(t, p, clk)
			before := snapshot(t, p)
			got := rebalance(t, p)
			want := authpool.RebalanceReport{Time: clk.Now(), Moves: tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Rebalance (-want +got):\n%s", diff)
			}
			// Every move shows in the snapshot; every other client stays.
			after := snapshot(t, p)
			where := map[string]string{}
			for _, s := range before.Sessions {
				where[s.ClientID] = s.SubscriptionID
			}
			for _, m := range tt.want {
				where[m.ClientID] = m.To
			}
			for _, s := range after.Sessions {
				if where[s.ClientID] != s.SubscriptionID {
					t.Errorf("after Rebalance %s is on %s, want %s", s.ClientID, s.SubscriptionID, where[s.ClientID])
				}
			}
			for _, st := range after.Subscriptions {
				if st.MaxClients > 0 && st.ActiveClients > st.MaxClients {
					t.Errorf("%d clients of %s hold a slot, more than its maximum %d", st.ActiveClients, st.ID, st.MaxClients)
				}
			}
			// The moved clients are sticky where they landed.
			for _, m := range tt.want {
				if a := allocate(t, p, m.ClientID); a.SubscriptionID != m.To || a.Outcome != authpool.OutcomeSticky {
					t.Errorf("Allocate(%s) after the move = %s on %s, want sticky on %s", m.ClientID, a.Outcome, a.SubscriptionID, m.To)
				}
			}
		})
	}
}

func TestRebalanceMovesAgainOnTheNextCall(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	pin(t, p, "s-a", "c1", "c2", "c3", "c4", "c5")
	spend(t, p, clk, "c1", 10)
	clk.Advance(5 * time.Minute)
	if got := len(rebalance(t, p).Moves); got != 3 {
		t.Fatalf("first Rebalance moved %d clients, want 3", got)
	}
	clk.Advance(time.Minute)
	got := rebalance(t, p)
	if diff := cmp.Diff([]authpool.Move{move("c4", "s-a", "s-b", 10, 0), move("c5", "s-a", "s-b", 10, 0)}, got.Moves); diff != "" {
		t.Errorf("second Rebalance (-want +got):\n%s", diff)
	}
}

func TestRebalanceReleasesStaleSessions(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	pin(t, p, "s-b", "zoe")
	pin(t, p, "s-a", "bob", "alice")
	clk.Advance(10 * time.Minute)
	allocate(t, p, "carol") // active later; on s-a, where no client holds a slot any more
	clk.Set(t0.Add(30*time.Minute - time.Nanosecond))
	if r := rebalance(t, p); len(r.Released) != 0 {
		t.Fatalf("Rebalance before 30 minutes released %+v", r.Released)
	}
	clk.Set(t0.Add(30 * time.Minute))
	stale := func(client, sub string) authpool.SessionStatus {
		return authpool.SessionStatus{ClientID: client, SubscriptionID: sub, Idle: true, Stale: true,
			Created: t0, Assigned: t0, LastActive: t0, HoldUntil: t0.Add(5 * time.Minute)}
	}
	got := rebalance(t, p)
	want := authpool.RebalanceReport{Time: clk.Now(), Released: []authpool.SessionStatus{
		stale("alice", "s-a"), stale("bob", "s-a"), stale("zoe", "s-b"),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rebalance (-want +got):\n%s", diff)
	}
	s := snapshot(t, p)
	if len(s.Sessions) != 1 || s.Sessions[0].ClientID != "carol" {
		t.Errorf("sessions after Rebalance = %+v, want only carol's", s.Sessions)
	}
	clients := map[string]int{}
	for _, st := range s.Subscriptions {
		clients[st.ID] = st.Clients
	}
	if diff := cmp.Diff(map[string]int{"s-a": 1, "s-b": 0}, clients); diff != "" {
		t.Errorf("clients after Rebalance (-want +got):\n%s", diff)
	}
	if err := p.Record(ctx, "alice", authpool.Usage{Time: clk.Now(), CostUSD: 1}); !errors.Is(err, authpool.ErrUnknownClient) {
		t.Errorf("Record for a released client = %v, want ErrUnknownClient", err)
	}
	if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeNew {
		t.Errorf("Allocate of a released client = %+v, want new", a)
	}
}

func TestRebalanceOnAQuietPoolDoesNothing(t *testing.T) {
	clk := newClock(t0)
	for _, cfg := range []authpool.Config{{}, subs(sub("s-a")), subs(sub("s-a"), sub("s-b"))} {
		p := newPool(t, cfg, clk)
		got := rebalance(t, p)
		if diff := cmp.Diff(authpool.RebalanceReport{Time: t0}, got); diff != "" {
			t.Errorf("Rebalance of %d subscriptions (-want +got):\n%s", len(cfg.Subscriptions), diff)
		}
	}
}
