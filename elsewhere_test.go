package authpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
)

// Elsewhere moves a client off the subscriptions its request failed on,
// which stay in service; with nowhere else to go the client stays where it
// is; a client whose subscription is out of service is never placed on one
// it tried.
func TestAllocateElsewhere(t *testing.T) {
	ctx := context.Background()
	type got struct {
		Sub     string
		Outcome authpool.Outcome
		From    string
		Reason  authpool.Reason
	}
	for _, tc := range []struct {
		name  string
		subs  []string
		setup func(t *testing.T, p *authpool.Pool)
		tried []string
		want  got
		// outOfService: setup took a tried subscription out of service.
		outOfService bool
	}{{
		name: "moves to another eligible subscription", subs: []string{"s-a", "s-b"},
		tried: []string{"s-a"},
		want:  got{"s-b", authpool.OutcomeMoved, "s-a", authpool.ReasonTried},
	}, {
		name: "stays when no other is eligible", subs: []string{"s-a", "s-b"},
		setup: func(t *testing.T, p *authpool.Pool) {
			if err := p.Disable(ctx, "s-b", "test"); err != nil {
				t.Fatal(err)
			}
		},
		tried: []string{"s-a"},
		want:  got{"s-a", authpool.OutcomeSticky, "", ""},
	}, {
		name: "stays when every other was tried", subs: []string{"s-a", "s-b", "s-c"},
		tried: []string{"s-b", "s-a", "s-c"},
		want:  got{"s-a", authpool.OutcomeSticky, "", ""},
	}, {
		name: "never back to one tried", subs: []string{"s-a", "s-b", "s-c"},
		setup: func(t *testing.T, p *authpool.Pool) {
			if err := p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), "test"); err != nil {
				t.Fatal(err)
			}
		},
		tried: []string{"s-a", "s-b"}, outOfService: true,
		want: got{"s-c", authpool.OutcomeMoved, "s-a", authpool.ReasonLimited},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(t0)
			var ss []authpool.Subscription
			for _, id := range tc.subs {
				ss = append(ss, sub(id))
			}
			p := newPool(t, subs(ss...), clk)
			if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" {
				t.Fatalf("alice first on %s; want s-a", a.SubscriptionID)
			}
			if tc.setup != nil {
				tc.setup(t, p)
			}
			a, err := p.Allocate(ctx, "alice", authpool.Elsewhere(tc.tried...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got{a.SubscriptionID, a.Outcome, a.From, a.Reason}); diff != "" {
				t.Errorf("Allocate(Elsewhere(%q)) (-want +got):\n%s", tc.tried, diff)
			}
			for _, id := range tc.tried {
				if st := status(t, snapshot(t, p), id).Status.State; st != authpool.Active && !tc.outOfService {
					t.Errorf("%s is %s; want still in service", id, st)
				}
			}
			// Without Elsewhere the client is sticky again.
			if b := allocate(t, p, "alice"); b.SubscriptionID != a.SubscriptionID || b.Outcome != authpool.OutcomeSticky {
				t.Errorf("the next Allocate = %s %s; want sticky on %s", b.SubscriptionID, b.Outcome, a.SubscriptionID)
			}
		})
	}
}

// When the client's subscription is out of service and every other was
// tried, the pool is exhausted for the request, and says which were tried.
func TestAllocateElsewhereExhausted(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	allocate(t, p, "alice")
	until := t0.Add(time.Hour)
	if err := p.MarkLimited(ctx, "s-a", until, "test"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Allocate(ctx, "alice", authpool.Elsewhere("s-a", "s-b"))
	ex := exhausted(t, err)
	want := map[authpool.Reason]int{authpool.ReasonLimited: 1, authpool.ReasonTried: 1}
	if diff := cmp.Diff(want, ex.Reasons); diff != "" || !ex.RetryAt.Equal(until) {
		t.Errorf("reasons (-want +got):\n%s\nretry at %v; want %v", diff, ex.RetryAt, until)
	}
}
