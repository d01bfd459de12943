package authpool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAllocateGivesANewClientASubscriptionWithItsCredential(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("max-a")), clk)
	got := allocate(t, p, "alice")
	want := authpool.Allocation{ClientID: "alice", SubscriptionID: "max-a", Kind: authpool.KindMax5x,
		Credential: authpool.Credential(secret + "-max-a"), Outcome: authpool.OutcomeNew}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Allocate (-want +got):\n%s", diff)
	}
	if got.Credential.Reveal() != secret+"-max-a" {
		t.Errorf("Credential.Reveal() = %q, want the subscription's credential", got.Credential.Reveal())
	}
}

func TestAllocateIsSticky(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(1000, 100)), sub("s-b", budgets(1000, 100))), clk)
	first := allocate(t, p, "alice")
	// The client's subscription grows much less healthy than the other...
	spend(t, p, clk, "alice", 60)
	clk.Advance(time.Minute)
	got := allocate(t, p, "alice")
	// ...but the client stays: its prompt cache is there.
	want := authpool.Allocation{ClientID: "alice", SubscriptionID: first.SubscriptionID, Kind: first.Kind,
		Credential: first.Credential, Outcome: authpool.OutcomeSticky}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("second Allocate (-want +got):\n%s", diff)
	}
	// Much later, still there.
	clk.Advance(20 * time.Minute)
	if again := allocate(t, p, "alice"); again.Outcome != authpool.OutcomeSticky || again.SubscriptionID != first.SubscriptionID {
		t.Errorf("third Allocate = %+v, want sticky on %s", again, first.SubscriptionID)
	}
}

func TestAllocateRefusesAnInvalidClientID(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	for _, id := range []string{"", strings.Repeat("c", bounds.MaxIDLength+1), "bad\x00id", "bad\xffid"} {
		_, err := p.Allocate(context.Background(), id)
		if !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Errorf("Allocate(%q) = %v, want ErrInvalidArgument", id, err)
		}
	}
	if s := snapshot(t, p); len(s.Sessions) != 0 {
		t.Errorf("refused allocations made sessions: %+v", s.Sessions)
	}
}

func TestNewClientGoesToTheBestSubscription(t *testing.T) {
	tests := []struct {
		name string
		// setup makes s-a worse than s-b by the criterion under test only (or
		// leaves them equal).
		setup func(t *testing.T, p *authpool.Pool, clk *clock)
		want  string
		// health, when set, weighs the health score.
		health *authpool.HealthWeights
	}{
		{"the healthiest wins over the lower ID", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "x")
			spend(t, p, clk, "x", 50)
			if err := p.Release(context.Background(), "x"); err != nil {
				t.Fatal(err)
			}
		}, "s-b", nil},
		{"equal health: fewer clients holding a slot wins", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "x") // holds its slot: active
		}, "s-b", &authpool.HealthWeights{PerClient: -1, IdleBonus: -1}},
		{"an idle client holds no slot: it does not count", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "x")
			clk.Advance(5 * time.Minute) // idle: both score 100 with the idle bonus, neither holds a slot
		}, "s-a", nil},
		{"equal health and clients: lower weekly use wins", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "x")
			spend(t, p, clk, "x", 1)
			if err := p.Release(context.Background(), "x"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(5 * time.Minute) // idle: both score 100 with the idle bonus
		}, "s-b", nil},
		{"all equal: the lower ID wins", func(t *testing.T, p *authpool.Pool, clk *clock) {}, "s-a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := subs(sub("s-b", budgets(1000, 100)), sub("s-a", budgets(1000, 100)))
			if tt.health != nil {
				cfg.Health = *tt.health
			}
			p := newPool(t, cfg, clk)
			tt.setup(t, p, clk)
			s := snapshot(t, p)
			a := allocate(t, p, "newcomer")
			if a.SubscriptionID != tt.want || a.Outcome != authpool.OutcomeNew {
				t.Errorf("Allocate = %s on %q, want new on %q; the pool was %+v", a.Outcome, a.SubscriptionID, tt.want, s.Subscriptions)
			}
		})
	}
}

func TestNewClientsSpreadOverEqualSubscriptions(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b"), sub("s-c")), clk)
	count := map[string]int{}
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
		count[allocate(t, p, c).SubscriptionID]++
	}
	if diff := cmp.Diff(map[string]int{"s-a": 2, "s-b": 2, "s-c": 2}, count); diff != "" {
		t.Errorf("clients per subscription (-want +got):\n%s", diff)
	}
}

func TestClientMovesOffASubscriptionThatCannotKeepIt(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, p *authpool.Pool, clk *clock) // makes s-a unable to keep alice
		wantWhy authpool.Reason
	}{
		{"limited", func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.MarkLimited(context.Background(), "s-a", clk.Now().Add(time.Hour), "429 from upstream"); err != nil {
				t.Fatal(err)
			}
		}, authpool.ReasonLimited},
		{"disabled", func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.Disable(context.Background(), "s-a", "rotating the token"); err != nil {
				t.Fatal(err)
			}
		}, authpool.ReasonDisabled},
		{"block budget spent", func(t *testing.T, p *authpool.Pool, clk *clock) {
			spend(t, p, clk, "alice", 20)
		}, authpool.ReasonBlockSpent},
		{"weekly budget spent", func(t *testing.T, p *authpool.Pool, clk *clock) {
			// Over several blocks, so that only the week is spent.
			for i := range 5 {
				if i > 0 {
					clk.Advance(5 * time.Hour)
					allocate(t, p, "alice")
				}
				spend(t, p, clk, "alice", 19)
			}
		}, authpool.ReasonWeekSpent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			p := newPool(t, subs(sub("s-a", budgets(95, 20)), sub("s-b", budgets(95, 20))), clk)
			pin(t, p, "s-a", "alice")
			tt.make(t, p, clk)
			got := allocate(t, p, "alice")
			want := authpool.Allocation{ClientID: "alice", SubscriptionID: "s-b", Kind: authpool.KindMax5x,
				Credential: authpool.Credential(secret + "-s-b"), Outcome: authpool.OutcomeMoved, From: "s-a", Reason: tt.wantWhy}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Allocate (-want +got):\n%s", diff)
			}
			s := snapshot(t, p)
			if a, b := status(t, s, "s-a"), status(t, s, "s-b"); a.Clients != 0 || b.Clients != 1 {
				t.Errorf("after the move s-a holds %d clients and s-b %d, want 0 and 1", a.Clients, b.Clients)
			}
			if a := status(t, s, "s-a"); a.Eligible || a.Ineligible != tt.wantWhy {
				t.Errorf("s-a is eligible=%v (%q), want ineligible because %q", a.Eligible, a.Ineligible, tt.wantWhy)
			}
			if again := allocate(t, p, "alice"); again.Outcome != authpool.OutcomeSticky || again.SubscriptionID != "s-b" {
				t.Errorf("next Allocate = %s on %s, want sticky on s-b", again.Outcome, again.SubscriptionID)
			}
		})
	}
}

func TestLimitedSubscriptionReturnsToServiceWhenItsLimitEnds(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	until := t0.Add(90 * time.Minute)
	if err := p.MarkLimited(ctx, "s-a", until, "weekly limit"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Allocate(ctx, "alice")
	if e := exhausted(t, err); !e.RetryAt.Equal(until) {
		t.Errorf("RetryAt = %v, want the limit's end %v", e.RetryAt, until)
	}
	clk.Set(until.Add(-time.Second))
	if _, err := p.Allocate(ctx, "alice"); !errors.Is(err, authpool.ErrExhausted) {
		t.Errorf("a second before the limit ends Allocate = %v, want ErrExhausted", err)
	}
	clk.Set(until)
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" || a.Outcome != authpool.OutcomeNew {
		t.Errorf("when the limit ends Allocate = %+v, want new on s-a", a)
	}
}

func TestDisabledSubscriptionReturnsOnlyWhenEnabled(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	if err := p.Disable(ctx, "s-a", "maintenance"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * 24 * time.Hour)
	_, err := p.Allocate(ctx, "alice")
	if e := exhausted(t, err); !e.RetryAt.IsZero() {
		t.Errorf("RetryAt = %v, want zero: a disabled subscription does not come back by itself", e.RetryAt)
	}
	if err := p.Enable(ctx, "s-a"); err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" {
		t.Errorf("after Enable Allocate = %+v, want s-a", a)
	}
}

func TestEnableEndsALimitEarly(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	if err := p.MarkLimited(ctx, "s-a", t0.Add(5*time.Hour), "429"); err != nil {
		t.Fatal(err)
	}
	if err := p.Enable(ctx, "s-a"); err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-a" {
		t.Errorf("after Enable Allocate = %+v, want s-a", a)
	}
}

func TestWeeklyThreshold(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, spent float64) (*authpool.Pool, *clock) {
		clk := newClock(t0)
		p := newPool(t, subs(sub("s-a", budgets(100, 0)), sub("s-b", budgets(100, 0))), clk)
		pin(t, p, "s-a", "alice")
		spend(t, p, clk, "alice", spent)
		if err := p.Disable(ctx, "s-b", "test"); err != nil {
			t.Fatal(err)
		}
		return p, clk
	}

	t.Run("below 85% a subscription takes new clients", func(t *testing.T) {
		p, _ := setup(t, 84.99)
		if a := allocate(t, p, "bob"); a.SubscriptionID != "s-a" || a.OverThreshold {
			t.Errorf("Allocate = %+v, want s-a, not over the threshold", a)
		}
	})
	t.Run("at 85% it is not eligible", func(t *testing.T) {
		p, _ := setup(t, 85)
		st := status(t, snapshot(t, p), "s-a")
		if st.Eligible || st.Ineligible != authpool.ReasonWeeklyThreshold {
			t.Errorf("s-a eligible=%v (%q), want ineligible because %q", st.Eligible, st.Ineligible, authpool.ReasonWeeklyThreshold)
		}
	})
	t.Run("its clients stay while nothing else is eligible", func(t *testing.T) {
		p, _ := setup(t, 90)
		if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeSticky || a.SubscriptionID != "s-a" {
			t.Errorf("Allocate = %+v, want sticky on s-a", a)
		}
	})
	t.Run("its clients stay while it can serve them", func(t *testing.T) {
		p, _ := setup(t, 90)
		if err := p.Enable(ctx, "s-b"); err != nil {
			t.Fatal(err)
		}
		if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeSticky || a.SubscriptionID != "s-a" {
			t.Errorf("Allocate = %+v, want sticky on s-a: moving a working client rewrites its prompt cache", a)
		}
	})
	t.Run("without the forecast its clients move as soon as another is eligible", func(t *testing.T) {
		clk := newClock(t0)
		cfg := subs(sub("s-a", budgets(100, 0)), sub("s-b", budgets(100, 0)))
		cfg.ForecastMargin = -1
		p := newPool(t, cfg, clk)
		pin(t, p, "s-a", "alice")
		spend(t, p, clk, "alice", 90)
		got := allocate(t, p, "alice")
		if got.Outcome != authpool.OutcomeMoved || got.SubscriptionID != "s-b" || got.From != "s-a" ||
			got.Reason != authpool.ReasonWeeklyThreshold {
			t.Errorf("Allocate = %+v, want moved from s-a to s-b because %q", got, authpool.ReasonWeeklyThreshold)
		}
	})
	t.Run("a new client goes elsewhere when it can", func(t *testing.T) {
		p, _ := setup(t, 90)
		if err := p.Enable(ctx, "s-b"); err != nil {
			t.Fatal(err)
		}
		if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
			t.Errorf("Allocate = %+v, want s-b", a)
		}
	})
	t.Run("as a last resort it takes a new client, saying so", func(t *testing.T) {
		p, _ := setup(t, 90)
		got := allocate(t, p, "bob")
		want := authpool.Allocation{ClientID: "bob", SubscriptionID: "s-a", Kind: authpool.KindMax5x,
			Credential: authpool.Credential(secret + "-s-a"), Outcome: authpool.OutcomeNew,
			OverThreshold: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Allocate (-want +got):\n%s", diff)
		}
	})
	withFallback := func(t *testing.T, edit func(*authpool.Config)) *authpool.Pool {
		clk := newClock(t0)
		cfg := subs(sub("s-a", budgets(100, 0)))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fallback", DailyBudgetUSD: 10}
		edit(&cfg)
		p := newPool(t, cfg, clk)
		allocate(t, p, "alice")
		spend(t, p, clk, "alice", 90)
		return p
	}
	t.Run("prepaid capacity comes before the fallback", func(t *testing.T) {
		p := withFallback(t, func(*authpool.Config) {})
		if a := allocate(t, p, "bob"); a.SubscriptionID != "s-a" || !a.OverThreshold {
			t.Errorf("Allocate = %+v, want s-a, over the threshold", a)
		}
	})
	t.Run("with FallbackFirst the fallback comes before it", func(t *testing.T) {
		p := withFallback(t, func(c *authpool.Config) { c.FallbackFirst = true })
		if a := allocate(t, p, "bob"); a.Outcome != authpool.OutcomeFallback {
			t.Errorf("Allocate = %+v, want the fallback", a)
		}
	})
	t.Run("a threshold set in the config", func(t *testing.T) {
		clk := newClock(t0)
		cfg := subs(sub("s-a", budgets(100, 0)), sub("s-b", budgets(100, 0)))
		cfg.WeeklyThreshold = 0.5
		p := newPool(t, cfg, clk)
		pin(t, p, "s-a", "alice")
		spend(t, p, clk, "alice", 50)
		if a := allocate(t, p, "bob"); a.SubscriptionID != "s-b" {
			t.Errorf("Allocate = %+v, want s-b: s-a is over the threshold", a)
		}
	})
}

func TestMaxClientsIsNeverExceeded(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	cfg := subs(sub("s-a", maxClients(2)), sub("s-b", maxClients(3)), sub("s-c"))
	cfg.MaxClients = 1 // the default for s-c
	p := newPool(t, cfg, clk)
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
		allocate(t, p, c)
	}
	_, err := p.Allocate(ctx, "c7")
	e := exhausted(t, err)
	if diff := cmp.Diff(map[authpool.Reason]int{authpool.ReasonFull: 3}, e.Reasons); diff != "" {
		t.Errorf("Reasons (-want +got):\n%s", diff)
	}
	if want := t0.Add(defaultIdleAfter); !e.RetryAt.Equal(want) {
		t.Errorf("RetryAt = %v, want %v: when the first hold on a slot ends", e.RetryAt, want)
	}
	s := snapshot(t, p)
	got := map[string][2]int{}
	for _, st := range s.Subscriptions {
		got[st.ID] = [2]int{st.Clients, st.MaxClients}
	}
	if diff := cmp.Diff(map[string][2]int{"s-a": {2, 2}, "s-b": {3, 3}, "s-c": {1, 1}}, got); diff != "" {
		t.Errorf("clients and maximum per subscription (-want +got):\n%s", diff)
	}
	// A client leaving makes room.
	if err := p.Release(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if a := allocate(t, p, "c7"); a.Outcome != authpool.OutcomeNew {
		t.Errorf("after a release Allocate = %+v, want a new place", a)
	}
}

func TestFallback(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*authpool.Pool, *clock) {
		clk := newClock(t0)
		cfg := subs(sub("s-a"))
		cfg.Fallback = &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 5}
		p := newPool(t, cfg, clk)
		pin(t, p, "s-a", "alice")
		if err := p.Disable(ctx, "s-a", "test"); err != nil {
			t.Fatal(err)
		}
		return p, clk
	}
	fallbackFor := func(client, from string, why authpool.Reason) authpool.Allocation {
		return authpool.Allocation{ClientID: client, SubscriptionID: authpool.FallbackID, Kind: authpool.KindAPI,
			Credential: authpool.Credential(secret + "-fallback"), Outcome: authpool.OutcomeFallback, From: from,
			Reason: why}
	}

	t.Run("serves when no subscription can, saying why the client is there", func(t *testing.T) {
		p, _ := setup(t)
		// A new client: why no subscription took it (s-a is disabled).
		if diff := cmp.Diff(fallbackFor("bob", "", authpool.ReasonDisabled), allocate(t, p, "bob")); diff != "" {
			t.Errorf("Allocate of a new client (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(fallbackFor("alice", "s-a", authpool.ReasonDisabled), allocate(t, p, "alice")); diff != "" {
			t.Errorf("Allocate of a client whose subscription was disabled (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(fallbackFor("alice", "", authpool.ReasonNoneEligible), allocate(t, p, "alice")); diff != "" {
			t.Errorf("Allocate of a client on the fallback (-want +got):\n%s", diff)
		}
	})
	t.Run("is not offered once its daily budget is spent, and is again the next UTC day", func(t *testing.T) {
		p, clk := setup(t)
		allocate(t, p, "alice")
		spend(t, p, clk, "alice", 4.99)
		allocate(t, p, "bob")
		spend(t, p, clk, "bob", 0.01)
		_, err := p.Allocate(ctx, "carol")
		e := exhausted(t, err)
		if !e.RetryAt.Equal(day(1, 0, 0)) {
			t.Errorf("RetryAt = %v, want the next UTC midnight", e.RetryAt)
		}
		if e.Fallback != authpool.ReasonDaySpent || !strings.Contains(e.Error(), "fallback: daily budget spent") {
			t.Errorf("ExhaustedError says the fallback is %q (%v), want %q", e.Fallback, e, authpool.ReasonDaySpent)
		}
		fb := snapshot(t, p).Fallback
		if fb == nil || fb.Eligible || fb.Ineligible != authpool.ReasonDaySpent {
			t.Errorf("fallback status = %+v, want ineligible because %q", fb, authpool.ReasonDaySpent)
		}
		clk.Set(day(1, 0, 0).Add(-time.Nanosecond))
		if _, err := p.Allocate(ctx, "carol"); !errors.Is(err, authpool.ErrExhausted) {
			t.Errorf("at the day's last instant Allocate = %v, want ErrExhausted", err)
		}
		clk.Set(day(1, 0, 0))
		if a := allocate(t, p, "carol"); a.Outcome != authpool.OutcomeFallback {
			t.Errorf("the next day Allocate = %+v, want the fallback", a)
		}
	})
	t.Run("its clients return to a subscription as soon as one is eligible", func(t *testing.T) {
		p, _ := setup(t)
		allocate(t, p, "alice")
		if err := p.Enable(ctx, "s-a"); err != nil {
			t.Fatal(err)
		}
		got := allocate(t, p, "alice")
		want := authpool.Allocation{ClientID: "alice", SubscriptionID: "s-a", Kind: authpool.KindMax5x,
			Credential: authpool.Credential(secret + "-s-a"), Outcome: authpool.OutcomeMoved, From: authpool.FallbackID,
			Reason: authpool.ReasonFromFallback}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Allocate (-want +got):\n%s", diff)
		}
	})
	t.Run("can be limited like a subscription", func(t *testing.T) {
		p, clk := setup(t)
		until := clk.Now().Add(time.Hour)
		if err := p.MarkLimited(ctx, authpool.FallbackID, until, "429"); err != nil {
			t.Fatal(err)
		}
		_, err := p.Allocate(ctx, "bob")
		if e := exhausted(t, err); !e.RetryAt.Equal(until) {
			t.Errorf("RetryAt = %v, want %v", e.RetryAt, until)
		}
	})
}

func TestExhaustedSaysWhenTheFirstSubscriptionComesBack(t *testing.T) {
	ctx := context.Background()
	type setupFunc func(t *testing.T, p *authpool.Pool, clk *clock)
	limit := func(id string, until time.Time) setupFunc {
		return func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.MarkLimited(ctx, id, until, "429"); err != nil {
				t.Fatal(err)
			}
		}
	}
	disable := func(id string) setupFunc {
		return func(t *testing.T, p *authpool.Pool, clk *clock) {
			if err := p.Disable(ctx, id, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	spendOn := func(id string, usd float64) setupFunc {
		return func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, id, "spender-"+id)
			spend(t, p, clk, "spender-"+id, usd)
		}
	}
	tests := []struct {
		name        string
		cfg         authpool.Config
		setup       []setupFunc
		wantRetry   time.Time
		wantReasons map[authpool.Reason]int
	}{
		{"the earlier of two limits",
			subs(sub("s-a"), sub("s-b")),
			[]setupFunc{limit("s-a", day(0, 14, 0)), limit("s-b", day(0, 13, 0))},
			day(0, 13, 0), map[authpool.Reason]int{authpool.ReasonLimited: 2}},
		{"a spent anchored block ends 5 hours after its first hour",
			strict(subs(sub("s-a", budgets(0, 10)), sub("s-b"))),
			[]setupFunc{spendOn("s-a", 10), disable("s-b")},
			day(0, 17, 0), map[authpool.Reason]int{authpool.ReasonBlockSpent: 1, authpool.ReasonDisabled: 1}},
		{"a spent fixed block ends on the grid",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", budgets(0, 10))}, Block: authpool.BlockPolicy{Fixed: true},
				StrictBudgets: true},
			[]setupFunc{spendOn("s-a", 10), func(t *testing.T, p *authpool.Pool, clk *clock) {
				if err := p.Release(ctx, "spender-s-a"); err != nil {
					t.Fatal(err)
				}
			}},
			day(0, 15, 0), map[authpool.Reason]int{authpool.ReasonBlockSpent: 1}},
		{"a spent week frees when enough use leaves the week",
			strict(subs(sub("s-a", budgets(100, 0)))),
			[]setupFunc{func(t *testing.T, p *authpool.Pool, clk *clock) {
				clk.Set(day(-2, 10, 15))
				allocate(t, p, "spender")
				spend(t, p, clk, "spender", 20)
				clk.Set(day(-1, 10, 15))
				spend(t, p, clk, "spender", 40)
				clk.Set(day(0, 10, 15))
				spend(t, p, clk, "spender", 40)
				if err := p.Release(ctx, "spender"); err != nil {
					t.Fatal(err)
				}
			}},
			// The first $20 leaving leaves $80: under the $85 threshold.
			day(5, 10, 0), map[authpool.Reason]int{authpool.ReasonWeekSpent: 1}},
		{"a full subscription over the threshold comes back when its client's hold ends, as a last resort",
			subs(sub("s-a", budgets(100, 0), maxClients(1))),
			[]setupFunc{spendOn("s-a", 90)},
			t0.Add(defaultIdleAfter), map[authpool.Reason]int{authpool.ReasonWeeklyThreshold: 1}},
		{"a subscription kept out by a limit and a spent block is back when both end",
			subs(sub("s-a", budgets(0, 10))),
			[]setupFunc{spendOn("s-a", 10), limit("s-a", day(0, 16, 0)), func(t *testing.T, p *authpool.Pool, clk *clock) {
				if err := p.Release(ctx, "spender-s-a"); err != nil {
					t.Fatal(err)
				}
			}},
			day(0, 17, 0), map[authpool.Reason]int{authpool.ReasonLimited: 1}},
		{"the earliest of a limit, a block and the fallback's day",
			authpool.Config{
				Subscriptions: []authpool.Subscription{sub("s-a"), sub("s-b", budgets(0, 10)), sub("s-c")},
				Fallback:      &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 1},
				StrictBudgets: true,
			},
			[]setupFunc{limit("s-a", day(0, 18, 0)), spendOn("s-b", 10), disable("s-c"), func(t *testing.T, p *authpool.Pool, clk *clock) {
				allocate(t, p, "fb-user") // on the fallback
				spend(t, p, clk, "fb-user", 1)
			}},
			day(0, 17, 0),
			map[authpool.Reason]int{authpool.ReasonLimited: 1, authpool.ReasonBlockSpent: 1, authpool.ReasonDisabled: 1}},
		{"the fallback's next day when it comes first",
			authpool.Config{
				Subscriptions: []authpool.Subscription{sub("s-a")},
				Fallback:      &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 1},
			},
			[]setupFunc{limit("s-a", day(3, 0, 0)), func(t *testing.T, p *authpool.Pool, clk *clock) {
				allocate(t, p, "fb-user")
				spend(t, p, clk, "fb-user", 1)
			}},
			day(1, 0, 0), map[authpool.Reason]int{authpool.ReasonLimited: 1}},
		{"a full subscription is back when its client's hold ends; a disabled one is not",
			subs(sub("s-a"), sub("s-b", maxClients(1))),
			[]setupFunc{disable("s-a"), func(t *testing.T, p *authpool.Pool, clk *clock) { allocate(t, p, "x") }},
			t0.Add(defaultIdleAfter), map[authpool.Reason]int{authpool.ReasonDisabled: 1, authpool.ReasonFull: 1}},
		{"nothing comes back by itself: every subscription disabled",
			subs(sub("s-a"), sub("s-b")),
			[]setupFunc{disable("s-a"), disable("s-b")},
			time.Time{}, map[authpool.Reason]int{authpool.ReasonDisabled: 2}},
		{"an empty pool",
			authpool.Config{}, nil,
			time.Time{}, map[authpool.Reason]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			p := newPool(t, tt.cfg, clk)
			for _, s := range tt.setup {
				s(t, p, clk)
			}
			_, err := p.Allocate(ctx, "newcomer")
			e := exhausted(t, err)
			if !e.RetryAt.Equal(tt.wantRetry) {
				t.Errorf("RetryAt = %v, want %v", e.RetryAt, tt.wantRetry)
			}
			if diff := cmp.Diff(tt.wantReasons, e.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
			if e.ClientID != "newcomer" {
				t.Errorf("ClientID = %q, want newcomer", e.ClientID)
			}
			if _, ok := session(snapshot(t, p), "newcomer"); ok {
				t.Error("a refused client has a session")
			}
		})
	}
}

func TestExhaustedErrorMessage(t *testing.T) {
	e := &authpool.ExhaustedError{ClientID: "bob", RetryAt: day(0, 17, 0),
		Reasons: map[authpool.Reason]int{authpool.ReasonFull: 1, authpool.ReasonLimited: 2}}
	want := `authpool: no subscription can take client "bob" (2 limited, 1 full); the first is expected back at 2026-11-26T17:00:00Z`
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &authpool.ExhaustedError{ClientID: "bob"}
	want = `authpool: no subscription can take client "bob"; none is expected back by itself`
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestOutcomeNames(t *testing.T) {
	for o, want := range map[authpool.Outcome]string{
		authpool.OutcomeSticky: "sticky", authpool.OutcomeNew: "new", authpool.OutcomeMoved: "moved",
		authpool.OutcomeFallback: "fallback", 0: "Outcome(0)", 9: "Outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(o), got, want)
		}
	}
}

// TestEligibilityFollowsTheClockBetweenRefreshes checks that what time
// alone changes (a limit's end, a block's end, a new UTC day, use leaving the
// week) counts at once, not only when the pool next reads the store: the
// pool here never reads it again.
func TestEligibilityFollowsTheClockBetweenRefreshes(t *testing.T) {
	ctx := context.Background()
	never := authpool.Duration(10000 * time.Hour)
	tests := []struct {
		name   string
		cfg    authpool.Config
		setup  func(t *testing.T, p *authpool.Pool, clk *clock) // leaves nothing eligible
		then   time.Time                                        // when something is eligible again
		client string
		want   authpool.Allocation // SubscriptionID and Outcome
	}{
		{"a limit ends",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a")}, RefreshInterval: never},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				if err := p.MarkLimited(ctx, "s-a", day(0, 13, 0), "429"); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) {
					t.Fatalf("Allocate while limited = %v, want ErrExhausted", err)
				}
			},
			day(0, 13, 0), "bob", authpool.Allocation{SubscriptionID: "s-a", Outcome: authpool.OutcomeNew}},
		{"a fixed block ends: a new client",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", budgets(0, 10))}, RefreshInterval: never,
				Block: authpool.BlockPolicy{Fixed: true}, StrictBudgets: true},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				allocate(t, p, "alice")
				spend(t, p, clk, "alice", 10)
				if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) {
					t.Fatalf("Allocate while the block is spent = %v, want ErrExhausted", err)
				}
			},
			day(0, 15, 0), "bob", authpool.Allocation{SubscriptionID: "s-a", Outcome: authpool.OutcomeNew}},
		{"a fixed block ends: its client stays",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", budgets(0, 10)), sub("s-b")}, RefreshInterval: never,
				Block: authpool.BlockPolicy{Fixed: true}},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				clk.Set(day(0, 14, 58))
				pin(t, p, "s-a", "alice", "carol")
				spend(t, p, clk, "alice", 10)
				if a := allocate(t, p, "alice"); a.SubscriptionID != "s-b" {
					t.Fatalf("Allocate while the block is spent = %+v, want a move to s-b", a)
				}
			},
			day(0, 15, 0), "carol", authpool.Allocation{SubscriptionID: "s-a", Outcome: authpool.OutcomeSticky}},
		{"the fallback's new UTC day",
			authpool.Config{RefreshInterval: never, Fallback: &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 5}},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				allocate(t, p, "alice")
				spend(t, p, clk, "alice", 5)
				if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) {
					t.Fatalf("Allocate while the fallback's day is spent = %v, want ErrExhausted", err)
				}
			},
			day(1, 0, 0), "bob", authpool.Allocation{SubscriptionID: authpool.FallbackID, Outcome: authpool.OutcomeFallback}},
		{"use leaves the week",
			authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", budgets(100, 0))}, RefreshInterval: never, StrictBudgets: true},
			func(t *testing.T, p *authpool.Pool, clk *clock) {
				allocate(t, p, "alice")
				spend(t, p, clk, "alice", 100)
				if err := p.Release(ctx, "alice"); err != nil {
					t.Fatal(err)
				}
				clk.Set(day(7, 12, 0).Add(-time.Second))
				if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) {
					t.Fatalf("Allocate while the week is spent = %v, want ErrExhausted", err)
				}
			},
			day(7, 12, 0), "bob", authpool.Allocation{SubscriptionID: "s-a", Outcome: authpool.OutcomeNew}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			p := newPool(t, tt.cfg, clk)
			tt.setup(t, p, clk)
			clk.Set(tt.then)
			a, err := p.Allocate(ctx, tt.client)
			if err != nil {
				t.Fatalf("at %v Allocate(%q) = %v, want %s on %s", tt.then, tt.client, err, tt.want.Outcome, tt.want.SubscriptionID)
			}
			if a.SubscriptionID != tt.want.SubscriptionID || a.Outcome != tt.want.Outcome {
				t.Errorf("at %v Allocate(%q) = %s on %s, want %s on %s", tt.then, tt.client, a.Outcome, a.SubscriptionID,
					tt.want.Outcome, tt.want.SubscriptionID)
			}
		})
	}
}

// TestNewClientSeesTheUsageJustRecorded checks that selection reads the
// usage this pool has just recorded, however small, without waiting for the
// next read of the store.
func TestNewClientSeesTheUsageJustRecorded(t *testing.T) {
	clk := newClock(t0)
	cfg := subs(sub("s-a", budgets(1000, 100)), sub("s-b", budgets(1000, 100)))
	cfg.RefreshInterval = authpool.Duration(10000 * time.Hour)
	p := newPool(t, cfg, clk)
	pin(t, p, "s-a", "alice")
	pin(t, p, "s-b", "bob")
	spend(t, p, clk, "alice", 1)
	// s-a (94.65) is a little less healthy than s-b (95).
	if a := allocate(t, p, "carol"); a.SubscriptionID != "s-b" {
		t.Fatalf("Allocate(carol) = %+v, want s-b", a)
	}
	// Now s-b (90, two clients) is less healthy than s-a (94.65); then alice spends
	// $30 more, and s-a drops to 78.65.
	spend(t, p, clk, "alice", 30)
	want := map[string]float64{"s-a": 78.65, "s-b": 90}
	s := snapshot(t, p)
	got := map[string]float64{"s-a": status(t, s, "s-a").Health, "s-b": status(t, s, "s-b").Health}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Fatalf("health (-want +got):\n%s", diff)
	}
	if a := allocate(t, p, "dave"); a.SubscriptionID != "s-b" {
		t.Errorf("Allocate(dave) = %+v, want s-b, the healthier", a)
	}
}

// TestFallbackSaysWhyNoSubscriptionTookTheClient: a new client sent to the
// fallback gets the reason most subscriptions refused it for, not "new
// client"; the failover event says the same.
func TestFallbackSaysWhyNoSubscriptionTookTheClient(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, p *authpool.Pool, clk *clock)
		want  authpool.Reason
	}{
		{"every subscription full", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "a1")
			pin(t, p, "s-b", "b1")
			pin(t, p, "s-c", "c1")
		}, authpool.ReasonFull},
		{"two full, one disabled: full", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-a", "a1")
			pin(t, p, "s-b", "b1")
			if err := p.Disable(ctx, "s-c", "by hand"); err != nil {
				t.Fatal(err)
			}
		}, authpool.ReasonFull},
		{"weeks spent", func(t *testing.T, p *authpool.Pool, clk *clock) {
			for _, id := range []string{"s-a", "s-b", "s-c"} {
				pin(t, p, id, "w-"+id)
				spend(t, p, clk, "w-"+id, 10)
				if err := p.Release(ctx, "w-"+id); err != nil {
					t.Fatal(err)
				}
			}
		}, authpool.ReasonWeekSpent},
		{"one each of limited, disabled, full: limited, listed first", func(t *testing.T, p *authpool.Pool, clk *clock) {
			pin(t, p, "s-c", "c1")
			if err := p.MarkLimited(ctx, "s-a", clk.Now().Add(time.Hour), "429"); err != nil {
				t.Fatal(err)
			}
			if err := p.Disable(ctx, "s-b", "by hand"); err != nil {
				t.Fatal(err)
			}
		}, authpool.ReasonLimited},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := strict(subs(sub("s-a", budgets(10, 0), maxClients(1)), sub("s-b", budgets(10, 0), maxClients(1)),
				sub("s-c", budgets(10, 0), maxClients(1))))
			cfg.Fallback = &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 5}
			var events []authpool.Event
			var mu sync.Mutex
			p := newPool(t, cfg, clk, authpool.WithNotifier(authpool.NotifierFunc(func(_ context.Context, e authpool.Event) error {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
				return nil
			})))
			tt.setup(t, p, clk)
			a := allocate(t, p, "newcomer")
			if a.Outcome != authpool.OutcomeFallback || a.From != "" || a.Reason != tt.want {
				t.Errorf("Allocate(newcomer) = %+v, want the fallback, reason %q", a, tt.want)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			var failover *authpool.Move
			for _, e := range events {
				if e.Type == authpool.EventFailover && e.ClientID == "newcomer" {
					failover = e.Move
				}
			}
			if failover == nil || failover.Reason != tt.want {
				t.Errorf("the failover event's move = %+v, want reason %q", failover, tt.want)
			}
		})
	}
}
