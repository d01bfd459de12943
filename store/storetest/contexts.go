package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

func testCanceledContext(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1), newSub("b", 0))
	join(t, s, "c", "a", t0)
	join(t, s, "idle", "b", t0)
	addUsage(t, s, "c", usage(t0, 5))
	before := snapshot(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u := withID(usage(at(time.Minute), 5), "msg-1", time.Hour)
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"CreateSubscription", func() error { return s.CreateSubscription(ctx, newSub("n", 0)) }},
		{"UpdateSubscription", func() error { return s.UpdateSubscription(ctx, newSub("a", 5)) }},
		{"SetStatus", func() error { return s.SetStatus(ctx, "a", store.Status{State: store.Disabled}) }},
		{"DeleteSubscription", func() error { _, err := s.DeleteSubscription(ctx, "a"); return err }},
		{"Subscription", func() error { _, err := s.Subscription(ctx, "a"); return err }},
		{"Subscriptions", func() error { _, err := s.Subscriptions(ctx); return err }},
		{"Touch", func() error { _, err := s.Touch(ctx, "c", at(time.Minute), at(time.Minute+holdFor)); return err }},
		{"Assign", func() error {
			_, err := s.Assign(ctx, store.Assignment{ClientID: "n", SubscriptionID: "b", Now: at(time.Minute)})
			return err
		}},
		{"Release", func() error { _, err := s.Release(ctx, "idle", time.Time{}); return err }},
		{"Sessions", func() error { _, err := s.Sessions(ctx, store.SessionQuery{}); return err }},
		{"AddUsage", func() error { _, err := s.AddUsage(ctx, "c", u); return err }},
		{"Claim", func() error { _, err := s.Claim(ctx, "k", t0, at(time.Hour)); return err }},
		{"SetModelLimit", func() error {
			return s.SetModelLimit(ctx, "a", store.ModelLimit{Model: "opus", Until: at(time.Hour)}, t0)
		}},
		{"SetReported", func() error {
			return s.SetReported(ctx, "a", store.Reported{At: t0, BlockShare: 0.5}, at(time.Hour))
		}},
	} {
		wantErr(t, call.f(), context.Canceled, call.name+" with a canceled context")
	}
	unchanged(t, s, before, "calls with a canceled context")
	addUsage(t, s, "c", u) // its ID was not remembered
	if ok, err := s.Claim(t.Context(), "k", t0, at(time.Hour)); err != nil || !ok {
		t.Errorf("Claim after a Claim with a canceled context = %v, %v; want the claim", ok, err)
	}
}
