package redisstore_test

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// state is everything a store shows through its read methods.
type state struct {
	Subscriptions []store.Subscription
	Sessions      []store.Session
}

func snapshot(t *testing.T, s store.Store) state {
	t.Helper()
	subs, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	sessions, err := s.Sessions(t.Context(), store.SessionQuery{})
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	slices.SortFunc(sessions, func(a, b store.Session) int { return cmp.Compare(a.ClientID, b.ClientID) })
	return state{subs, sessions}
}

// must fails the test if err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestRestart checks that a store made again, with a new client, on the same
// Redis and prefix sees everything the old one wrote: subscriptions with
// their configuration, status, model limits, report and block anchor;
// sessions with their totals; usage windows; remembered usage IDs; claims;
// and the capacity a subscription has left.
func TestRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	admin := redistest.Client(t)
	prefix := redistest.Prefix(t, admin)

	before := redis.NewClient(redistest.Options(t))
	s := redisstore.New(before, redisstore.WithPrefix(prefix))
	full := store.Subscription{ID: "full", Name: "Alice's Max", Kind: "max20x", Credential: "sk-ant-secret", MaxClients: 2,
		WeeklyBudget: 900e9, BlockBudget: 140e9, DailyBudget: 200e9}
	limited := store.Subscription{ID: "limited", Kind: "pro", Credential: "sk-ant-other",
		Status: store.Status{State: store.Limited, Until: t0.Add(3 * time.Hour), Reason: "429"}}
	must(t, s.CreateSubscription(ctx, full), "CreateSubscription")
	must(t, s.CreateSubscription(ctx, limited), "CreateSubscription")
	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "spare"}), "CreateSubscription")
	must(t, s.SetStatus(ctx, "spare", store.Status{State: store.Disabled, Reason: "by hand"}), "SetStatus")
	must(t, s.SetModelLimit(ctx, "full", store.ModelLimit{Model: "opus", Until: t0.Add(48 * time.Hour), Reason: "7d_opus"}, t0), "SetModelLimit")
	must(t, s.SetReported(ctx, "full", store.Reported{At: t0, BlockShare: 0.25, BlockReset: t0.Add(2 * time.Hour), WeekShare: 0.125, WeekReset: t0.Add(100 * time.Hour)}, t0.Add(-time.Hour)), "SetReported")
	for i, c := range []string{"c1", "c2"} {
		_, err := s.Assign(ctx, store.Assignment{ClientID: c, SubscriptionID: "full", Now: t0.Add(time.Duration(i) * time.Minute),
			HoldUntil: t0.Add(2 * time.Hour)})
		must(t, err, "Assign")
	}
	for i := range 30 {
		when := t0.Add(time.Duration(i) * 17 * time.Minute)
		u := store.UsageRecord{ID: "msg-" + string(rune('A'+i)), Remember: store.WeekHours * time.Hour, RememberBytes: 1 << 20, Time: when, Now: when, Cost: store.Nanodollars(1000 + i),
			Tokens: store.Tokens{Input: 1, Output: 2, CacheWrite: 3, CacheRead: 4}, Model: "claude-opus-4", BlockHours: 5}
		_, err := s.AddUsage(ctx, []string{"c1", "c2"}[i%2], u)
		must(t, err, "AddUsage")
	}
	_, err := s.AddUsage(ctx, "", store.UsageRecord{ID: "outside", Remember: store.WeekHours * time.Hour, RememberBytes: 1 << 20, SubscriptionID: "limited", Time: t0.Add(-30 * time.Hour), Now: t0, Cost: 5e9})
	must(t, err, "AddUsage without a client")
	if ok, err := s.Claim(ctx, "alert/full/week/80", t0, t0.Add(24*time.Hour)); err != nil || !ok {
		t.Fatalf("Claim = %v, %v; want the claim", ok, err)
	}
	want := snapshot(t, s)
	must(t, before.Close(), "closing the first client")

	// A new process: a new client and store on the same Redis and prefix.
	after := closing(t, redis.NewClient(redistest.Options(t)))
	s = redisstore.New(after, redisstore.WithPrefix(prefix))
	got := snapshot(t, s)
	if d := gocmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("the store after a restart differs (-before +after):\n%s", d)
	}
	if len(got.Subscriptions) != 3 || len(got.Sessions) != 2 || len(got.Subscriptions[0].Usage) == 0 || len(got.Subscriptions[0].Holds) != 2 ||
		got.Subscriptions[0].BlockStart.IsZero() || len(got.Subscriptions[0].ModelLimits) != 1 || got.Subscriptions[0].Reported.At.IsZero() {
		t.Errorf("the store before the restart did not hold what the test wrote: %+v", got)
	}

	// What only the write paths show.
	_, err = s.AddUsage(ctx, "c1", store.UsageRecord{ID: "msg-C", Remember: store.WeekHours * time.Hour, RememberBytes: 1 << 20, Time: t0.Add(time.Hour), Now: t0.Add(time.Hour), Cost: 1})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("AddUsage of an ID the old store remembered: %v, want ErrDuplicate", err)
	}
	_, err = s.AddUsage(ctx, "", store.UsageRecord{ID: "outside", Remember: store.WeekHours * time.Hour, RememberBytes: 1 << 20, SubscriptionID: "limited", Time: t0, Now: t0.Add(time.Minute), Cost: 1})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("AddUsage without a client of an ID the old store remembered: %v, want ErrDuplicate", err)
	}
	if ok, err := s.Claim(ctx, "alert/full/week/80", t0.Add(time.Hour), t0.Add(25*time.Hour)); err != nil || ok {
		t.Errorf("Claim of a key the old store claimed = %v, %v; want false", ok, err)
	}
	_, err = s.Assign(ctx, store.Assignment{ClientID: "c3", SubscriptionID: "full", Now: t0.Add(time.Hour)})
	if !errors.Is(err, store.ErrFull) {
		t.Errorf("Assign to the subscription the old store filled: %v, want ErrFull", err)
	}
	_, err = s.Assign(ctx, store.Assignment{ClientID: "c3", SubscriptionID: "limited", Now: t0.Add(time.Hour)})
	if !errors.Is(err, store.ErrInactive) {
		t.Errorf("Assign to the subscription the old store limited: %v, want ErrInactive", err)
	}
	touched, err := s.Touch(ctx, "c2", t0.Add(10*time.Hour), t0.Add(11*time.Hour))
	if err != nil || touched.SubscriptionID != "full" || touched.Status.State != store.Active || !touched.Held.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("Touch of a client the old store assigned = %+v, %v; want full, active, held until %v", touched, err, t0.Add(2*time.Hour))
	}
	if _, err := s.Release(ctx, "c1", time.Time{}); err != nil {
		t.Errorf("Release of a client the old store assigned: %v", err)
	}
}

// TestSessionsWithoutHolds checks what a store makes of a session written
// before holds were kept (no hold in its hash, none in its subscription's
// set): it holds no slot, so a new client takes the place; and coming back
// it is an idle client, which finds the place taken.
func TestSessionsWithoutHolds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	tag := "{" + prefix + "}:"
	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "a", MaxClients: 1}), "CreateSubscription")
	_, err := s.Assign(ctx, store.Assignment{ClientID: "old", SubscriptionID: "a", Now: t0, HoldUntil: t0.Add(time.Hour)})
	must(t, err, "Assign")
	must(t, c.HDel(ctx, tag+"s:old", "hold").Err(), "HDEL")
	must(t, c.Del(ctx, tag+"h:a").Err(), "DEL")

	got := snapshot(t, s)
	if len(got.Sessions) != 1 || !got.Sessions[0].HoldUntil.IsZero() || got.Subscriptions[0].Clients != 1 || len(got.Subscriptions[0].Holds) != 0 {
		t.Fatalf("store with a session written before holds = %+v; want one session without a hold, and no holds", got)
	}
	now := t0.Add(time.Minute)
	_, err = s.Assign(ctx, store.Assignment{ClientID: "new", SubscriptionID: "a", Now: now, HoldUntil: now.Add(5 * time.Minute)})
	must(t, err, "Assign next to a session without a hold")
	touched, err := s.Touch(ctx, "old", now, now.Add(5*time.Minute))
	if !errors.Is(err, store.ErrFull) || touched.SubscriptionID != "a" || !touched.Held.IsZero() {
		t.Errorf("Touch of the session without a hold = %+v, %v; want its subscription and ErrFull", touched, err)
	}
	_, err = s.Release(ctx, "new", time.Time{})
	must(t, err, "Release")
	touched, err = s.Touch(ctx, "old", now, now.Add(5*time.Minute))
	if err != nil || !touched.HoldUntil.Equal(now.Add(5*time.Minute)) {
		t.Errorf("Touch of the session without a hold, with room = %+v, %v; want it holding until %v", touched, err, now.Add(5*time.Minute))
	}
}
