package authpool_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// TestEstimatedUsagesReportedOncePerModel: Record and Charge count every
// usage at an estimated cost (Usage.PricedAs), and the pool logs one
// warning and reports one unpricedModel event per model, not per usage;
// a priced usage is neither.
func TestEstimatedUsagesReportedOncePerModel(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	var logs bytes.Buffer
	p, rec := notified(t, subs(sub("s-a")), clk, authpool.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	allocate(t, p, "alice")
	record := func(model, pricedAs string) {
		t.Helper()
		u := authpool.Usage{Time: clk.Now(), CostUSD: 0.5, Model: model, PricedAs: pricedAs}
		if err := p.Record(ctx, "alice", u); err != nil {
			t.Fatal(err)
		}
		if err := p.Charge(ctx, "s-a", u); err != nil {
			t.Fatal(err)
		}
	}
	record("claude-sonnet-9", "claude-sonnet-5-5")
	record("claude-sonnet-9", "claude-sonnet-5-5")
	record("gpt-4o", "fallback")
	record("claude-opus-4-6", "") // priced: its own price
	if got := p.Stats(); got.EstimatedUsages != 6 || got.Records != 8 {
		t.Errorf("estimated %d of %d usages, want 6 of 8", got.EstimatedUsages, got.Records)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"unpricedModel 2026-11-26T12:30:00Z model claude-sonnet-9 priced as claude-sonnet-5-5",
		"unpricedModel 2026-11-26T12:30:00Z model gpt-4o priced as fallback",
	}
	if diff := cmp.Diff(want, rec.all()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := strings.Count(logs.String(), "has no price of its own"); n != 2 {
		t.Errorf("%d warnings, want one per model:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "model=gpt-4o pricedAs=fallback") {
		t.Errorf("no warning names gpt-4o and what it was priced as:\n%s", logs.String())
	}
}

// TestTwoPoolsOnOneStoreReportAnUnpricedModelOnce runs without a synctest
// bubble, so that it runs on Redis too: pools sharing a store report a
// model once among them.
func TestTwoPoolsOnOneStoreReportAnUnpricedModelOnce(t *testing.T) {
	ctx := context.Background()
	st := authpool.NewTestStore(t)
	clk := newClock(t0)
	cfg := subs(sub("s-a"))
	p1, rec1 := notified(t, cfg, clk, authpool.WithStore(st))
	p2, rec2 := notified(t, cfg, clk, authpool.WithStore(st))
	u := authpool.Usage{Time: t0, CostUSD: 1, Model: "claude-opus-7", PricedAs: "claude-opus-5-5"}
	if err := p1.Charge(ctx, "s-a", u); err != nil {
		t.Fatal(err)
	}
	if err := p1.Close(ctx); err != nil { // p1 reports it
		t.Fatal(err)
	}
	if err := p2.Charge(ctx, "s-a", u); err != nil {
		t.Fatal(err)
	}
	if err := p2.Close(ctx); err != nil { // p2 emits it, and finds it reported
		t.Fatal(err)
	}
	got := append(rec1.all(), rec2.all()...)
	want := []string{"unpricedModel 2026-11-26T12:30:00Z model claude-opus-7 priced as claude-opus-5-5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events of both pools (-want +got):\n%s", diff)
	}
	if n := p2.Stats().Notifications; n.Emitted != 1 || n.Deduplicated != 1 {
		t.Errorf("the second pool: %+v; want its event emitted and deduplicated", n)
	}
}

// TestRecordRefusesABadPricedAs: PricedAs is checked as the model is.
func TestRecordRefusesABadPricedAs(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	err := p.Record(context.Background(), "alice", authpool.Usage{Time: t0, Model: "m", PricedAs: "bad\nname"})
	if !errors.Is(err, authpool.ErrInvalidArgument) || !strings.Contains(err.Error(), "usage.pricedAs") {
		t.Errorf("Record = %v, want ErrInvalidArgument naming usage.pricedAs", err)
	}
	if s := p.Stats(); s.Records != 0 || s.EstimatedUsages != 0 {
		t.Errorf("a refused usage was counted: %+v", s)
	}
}
