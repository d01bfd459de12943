package authpool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/webhook"
	"github.com/google/go-cmp/cmp"
)

// recorder is a Notifier that keeps what it gets.
type recorder struct {
	mu     sync.Mutex
	events []authpool.Event
}

func (r *recorder) Notify(ctx context.Context, e authpool.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// take returns the events delivered since the last take, as one line each,
// once every queued event is delivered (synctest.Wait).
func (r *recorder) take() []string {
	synctest.Wait()
	return r.all()
}

// all returns the events delivered since the last take, as one line each.
func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.String())
	}
	r.events = nil
	return out
}

// notified returns a pool on clk whose events go to a recorder. It must run
// in a synctest bubble; the pool is closed when the test ends.
func notified(t *testing.T, cfg authpool.Config, clk *clock, opts ...authpool.Option) (*authpool.Pool, *recorder) {
	t.Helper()
	rec := &recorder{}
	p := newPool(t, cfg, clk, append(opts, authpool.WithNotifier(rec))...)
	return p, rec
}

func TestThresholdEventsFireOncePerWindowPerThreshold(t *testing.T) {
	bubble(t, func(t *testing.T) {
		clk := newClock(t0) // 12:30; the anchored block starts at 12:00
		p, rec := notified(t, subs(sub("s-a", budgets(100, 10))), clk)
		allocate(t, p, "alice")
		steps := []struct {
			what  string
			spend float64
			after time.Duration // clock moves after the spending
			want  []string
		}{
			{"under every threshold", 7, 0, nil},
			{"80 % of the block", 1, 0, []string{"threshold 2026-11-26T12:30:00Z subscription=s-a block 80%: $8.00 of $10.00"}},
			{"still between 80 and 90 %", 0.5, 0, nil},
			{"90 % of the block", 0.6, 0, []string{"threshold 2026-11-26T12:30:00Z subscription=s-a block 90%: $9.10 of $10.00"}},
			{"past the budget: nothing new", 5, 5 * time.Hour, nil},
			{"a new block reports both thresholds again at once", 9.5, 0, []string{
				"threshold 2026-11-26T17:30:00Z subscription=s-a block 80%: $9.50 of $10.00",
				"threshold 2026-11-26T17:30:00Z subscription=s-a block 90%: $9.50 of $10.00",
			}},
			{"the week's 80 %: once", 56.4, time.Minute, []string{"threshold 2026-11-26T17:30:00Z subscription=s-a week 80%: $80.00 of $100.00"}},
			{"more of the week: nothing until 90 %", 1, 0, nil},
		}
		for _, step := range steps {
			spend(t, p, clk, "alice", step.spend)
			clk.Advance(step.after)
			if diff := cmp.Diff(step.want, rec.take()); diff != "" {
				t.Errorf("%s: events (-want +got):\n%s", step.what, diff)
			}
		}
	})
}

func TestThresholdEventDetail(t *testing.T) {
	bubble(t, func(t *testing.T) {
		clk := newClock(t0)
		rec := &recorder{}
		p := newPool(t, subs(sub("s-a", budgets(0, 10))), clk, authpool.WithNotifier(rec))
		allocate(t, p, "alice")
		spend(t, p, clk, "alice", 8)
		synctest.Wait()
		if len(rec.events) != 1 {
			t.Fatalf("got %d events, want 1", len(rec.events))
		}
		e := rec.events[0]
		want := authpool.Event{
			ID: e.ID, Type: authpool.EventThreshold, Time: t0, SubscriptionID: "s-a",
			Threshold: &authpool.ThresholdDetail{
				Window: "block", Start: day(0, 12, 0), End: day(0, 17, 0), Threshold: 0.8,
				UsedUSD: 8, BudgetUSD: 10, Percent: 80, BurnRateUSDPerHour: 8,
				ExhaustsAt: t0.Add(15 * time.Minute), // $2 left at $8 an hour
			},
		}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("threshold event (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(e.ID, "evt_") || len(e.ID) != 36 {
			t.Errorf("event ID %q, want evt_ and 32 hex digits", e.ID)
		}
	})
}

func TestTheFallbacksDailyBudgetReportsThresholds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		clk := newClock(t0)
		cfg := subs(sub("s-a"))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 10}
		p, rec := notified(t, cfg, clk)
		if err := p.Disable(context.Background(), "s-a", "test"); err != nil {
			t.Fatal(err)
		}
		allocate(t, p, "alice")
		rec.take() // the failover
		spend(t, p, clk, "alice", 9)
		want := []string{
			"threshold 2026-11-26T12:30:00Z subscription=fallback day 80%: $9.00 of $10.00",
			"threshold 2026-11-26T12:30:00Z subscription=fallback day 90%: $9.00 of $10.00",
		}
		if diff := cmp.Diff(want, rec.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		clk.Set(day(1, 9, 0)) // a new UTC day
		allocate(t, p, "alice")
		spend(t, p, clk, "alice", 8)
		want = []string{"threshold 2026-11-27T09:00:00Z subscription=fallback day 80%: $8.00 of $10.00"}
		if diff := cmp.Diff(want, rec.take()); diff != "" {
			t.Errorf("the next day's events (-want +got):\n%s", diff)
		}
	})
}

func TestMoveLimitAndExhaustionEvents(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		clk := newClock(t0)
		cfg := subs(sub("s-a"), sub("s-b"))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 1}
		p, rec := notified(t, cfg, clk)
		step := func(what string, do func(), want ...string) {
			t.Helper()
			do()
			if diff := cmp.Diff(want, rec.take(), cmpEmpty); diff != "" {
				t.Errorf("%s: events (-want +got):\n%s", what, diff)
			}
		}
		step("a new client: no event", func() { allocate(t, p, "alice"); allocate(t, p, "bob") })
		step("a limit is reported", func() {
			if err := p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), "429: 5-hour limit"); err != nil {
				t.Fatal(err)
			}
		}, "limited 2026-11-26T12:30:00Z subscription=s-a until 2026-11-26T13:30:00Z")
		step("moving off the limited subscription is a failover", func() { allocate(t, p, "alice") },
			"failover 2026-11-26T12:30:00Z subscription=s-b client=alice s-a -> s-b (limited)")
		step("disabling is reported, and going to the fallback is a failover", func() {
			if err := p.Disable(ctx, "s-b", "test"); err != nil {
				t.Fatal(err)
			}
			allocate(t, p, "bob")
		}, "disabled 2026-11-26T12:30:00Z subscription=s-b",
			"failover 2026-11-26T12:30:00Z subscription=fallback client=bob s-b -> fallback (disabled)")
		step("staying on the fallback is not", func() { allocate(t, p, "bob") })
		step("a refused client is reported once until a subscription is expected back", func() {
			spend(t, p, clk, "bob", 1)
			for range 3 {
				if _, err := p.Allocate(ctx, "carol"); !errors.Is(err, authpool.ErrExhausted) {
					t.Fatalf("Allocate(carol) = %v, want ErrExhausted", err)
				}
			}
		}, "threshold 2026-11-26T12:30:00Z subscription=fallback day 80%: $1.00 of $1.00",
			"threshold 2026-11-26T12:30:00Z subscription=fallback day 90%: $1.00 of $1.00",
			"exhausted 2026-11-26T12:30:00Z client=carol retry at 2026-11-26T13:30:00Z")
		step("the limit's end is reported by the first call that finds it over", func() {
			clk.Set(t0.Add(time.Hour))
			allocate(t, p, "carol")
		}, "recovered 2026-11-26T13:30:00Z subscription=s-a until 2026-11-26T13:30:00Z")
		step("a rebalance move is a rotation", func() {
			if err := p.Enable(ctx, "s-b"); err != nil {
				t.Fatal(err)
			}
			spend(t, p, clk, "carol", 6) // s-a's block is dear now
			clk.Advance(10 * time.Minute)
			rebalance(t, p)
		}, "rotation 2026-11-26T13:40:00Z subscription=s-b client=carol s-a -> s-b (block room gap)")
	})
}

func TestAFullQueueDropsCountsAndLogsOncePerBurst(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		var logs bytes.Buffer
		release := make(chan struct{})
		var delivered []string
		blocking := authpool.NotifierFunc(func(ctx context.Context, e authpool.Event) error {
			<-release // the receiver is stuck until released
			delivered = append(delivered, e.ClientID)
			return nil
		})
		clk := newClock(t0)
		cfg := subs(sub("s-a", disabled))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 100}
		cfg.Notify.QueueSize = 2
		p := newPool(t, cfg, clk, authpool.WithNotifier(blocking),
			authpool.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
			allocate(t, p, c) // a failover each
			synctest.Wait()   // c1 is being delivered; the notifier's queue holds two
		}
		got := p.Stats().Notifications
		want := authpool.NotificationStats{Emitted: 6, Waiting: 2, Dropped: 3}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("while the receiver is stuck (-want +got):\n%s", diff)
		}
		close(release)
		if err := p.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if diff := cmp.Diff([]string{"c1", "c2", "c3"}, delivered); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
		if n := strings.Count(logs.String(), "notification queue full"); n != 1 {
			t.Errorf("the full queue was logged %d times, want once:\n%s", n, logs.String())
		}
	})
}

func TestCloseDeliversWhatIsQueuedWithinItsDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		clk := newClock(t0)
		cfg := subs(sub("s-a"))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 100}
		var delivered, abandoned int
		slow := authpool.NotifierFunc(func(ctx context.Context, e authpool.Event) error {
			select {
			case <-time.After(time.Minute): // a slow receiver
				delivered++
				return nil
			case <-ctx.Done():
				abandoned++
				return ctx.Err()
			}
		})
		p := newPool(t, cfg, clk, authpool.WithNotifier(slow))
		if err := p.Disable(ctx, "s-a", "test"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"c1", "c2", "c3", "c4"} {
			allocate(t, p, c)
		}
		deadline, cancel := context.WithTimeout(ctx, 150*time.Second) // room for two and a half deliveries
		defer cancel()
		if err := p.Close(deadline); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close past its deadline = %v, want DeadlineExceeded", err)
		}
		// Two delivered in 150 s, the third cut off at the deadline, the
		// fourth never started; and the delivery goroutine is gone (the
		// bubble would not end otherwise).
		if delivered != 2 || abandoned != 1 {
			t.Errorf("delivered %d and abandoned %d, want 2 and 1", delivered, abandoned)
		}
		if err := p.Close(ctx); err != nil {
			t.Errorf("a second Close = %v, want nil", err)
		}
	})
}

// TestTwoPoolsOnOneStoreReportAThresholdOnce runs without a synctest
// bubble, so that it runs on Redis too: Close delivers what is queued.
func TestTwoPoolsOnOneStoreReportAThresholdOnce(t *testing.T) {
	ctx := context.Background()
	st := authpool.NewTestStore(t)
	clk := newClock(t0)
	cfg := subs(sub("s-a", budgets(0, 10)))
	p1, rec1 := notified(t, cfg, clk, authpool.WithStore(st))
	p2, rec2 := notified(t, cfg, clk, authpool.WithStore(st))
	allocate(t, p1, "alice")
	spend(t, p1, clk, "alice", 8)         // p1 sees the block reach 80 %
	if err := p1.Close(ctx); err != nil { // and reports it
		t.Fatalf("Close: %v", err)
	}
	clk.Advance(2 * time.Second) // p2's picture is stale: it reads the store again
	allocate(t, p2, "bob")       // and sees the same crossing
	if e := p2.Stats().Notifications.Emitted; e != 1 {
		t.Errorf("the second pool emitted %d events, want 1", e)
	}
	if err := p2.Close(ctx); err != nil { // but does not report it
		t.Fatalf("Close: %v", err)
	}
	got := append(rec1.all(), rec2.all()...)
	want := []string{"threshold 2026-11-26T12:30:00Z subscription=s-a block 80%: $8.00 of $10.00"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events of both pools (-want +got):\n%s", diff)
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })

func TestASlowNotifierHoldsUpOnlyItself(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		stuck := authpool.NotifierFunc(func(ctx context.Context, e authpool.Event) error {
			<-ctx.Done() // never answers
			return ctx.Err()
		})
		clk := newClock(t0)
		cfg := subs(sub("s-a", disabled))
		cfg.Fallback = &authpool.Fallback{Credential: "sk-fb", DailyBudgetUSD: 100}
		p, rec := notified(t, cfg, clk, authpool.WithNotifier(stuck))
		for _, c := range []string{"c1", "c2", "c3"} {
			allocate(t, p, c)
		}
		if got := rec.take(); len(got) != 3 {
			t.Errorf("the recorder got %d events while the other notifier was stuck, want 3: %q", len(got), got)
		}
		stop, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := p.Close(stop); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close with a stuck notifier = %v, want DeadlineExceeded", err)
		}
	})
}

// TestAPoolsWebhookReceivesSignedEvents runs a pool with a webhook
// notifier, against a receiver on loopback: what the pool emits arrives
// signed, once, and without a credential.
func TestAPoolsWebhookReceivesSignedEvents(t *testing.T) {
	ctx := context.Background()
	const hookSecret = "a-webhook-secret-of-32-bytes-xyz"
	var mu sync.Mutex
	var got []webhook.Payload
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte(hookSecret), body, r.Header.Get("X-Authpool-Signature")) {
			t.Errorf("a POST with a bad signature: %s", body)
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("a POST that is not a payload: %v", err)
		}
		mu.Lock()
		got, bodies = append(got, p), append(bodies, string(body))
		mu.Unlock()
	}))
	defer srv.Close()
	clk := newClock(t0)
	cfg := subs(sub("s-a", disabled))
	cfg.Fallback = &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 10}
	hook, err := webhook.New(webhook.Config{URL: srv.URL + "/hook", Secret: hookSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := authpool.New(ctx, cfg, authpool.WithStore(authpool.NewTestStore(t)), authpool.WithClock(clk.Now),
		authpool.WithNotifier(hook))
	if err != nil {
		t.Fatal(err)
	}
	allocate(t, p, "alice") // a failover
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("the receiver got %d payloads, want 1: %q", len(got), bodies)
	}
	want := webhook.Payload{Version: 1, Event: authpool.Event{ID: got[0].Event.ID, Type: authpool.EventFailover,
		Time: t0, SubscriptionID: authpool.FallbackID, ClientID: "alice",
		Move: &authpool.Move{ClientID: "alice", To: authpool.FallbackID, Reason: authpool.ReasonDisabled}}}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	if strings.Contains(bodies[0], secret) || strings.Contains(bodies[0], hookSecret) {
		t.Errorf("a payload shows a secret: %s", bodies[0])
	}
}

// disabled makes a subscription start disabled.
func disabled(s *authpool.Subscription) {
	s.Status = authpool.Status{State: authpool.Disabled, Reason: "test"}
}
