package authpool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// TestLogsSayWhatHappenedAndNoSecret runs a pool through a move, the
// fallback, exhaustion, a limit and a rebalance with a JSON logger, and reads
// the log: one record per event, at its level, with no credential in it. An
// exhaustion is a warning once; its repeats are debug.
func TestLogsSayWhatHappenedAndNoSecret(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := newClock(t0)
	cfg := subs(sub("s-a"), sub("s-b"))
	cfg.Fallback = &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 1}
	p := newPool(t, cfg, clk, authpool.WithLogger(logger))

	allocate(t, p, "alice") // new: debug
	allocate(t, p, "alice") // sticky: not logged
	if err := p.MarkLimited(ctx, "s-a", t0.Add(time.Hour), "429 from upstream"); err != nil {
		t.Fatal(err)
	}
	allocate(t, p, "alice") // moved: info
	if err := p.Disable(ctx, "s-b", "by hand"); err != nil {
		t.Fatal(err)
	}
	allocate(t, p, "alice") // fallback: warn
	spend(t, p, clk, "alice", 1)
	if _, err := p.Allocate(ctx, "bob"); !errors.Is(err, authpool.ErrExhausted) { // exhausted: warn
		t.Fatalf("Allocate(bob) = %v, want ErrExhausted", err)
	}
	if _, err := p.Allocate(ctx, "carol"); !errors.Is(err, authpool.ErrExhausted) { // the same exhaustion: debug
		t.Fatalf("Allocate(carol) = %v, want ErrExhausted", err)
	}

	type entry struct{ Level, Msg, Client, Subscription, Outcome, Reason string }
	var got []entry
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(line, secret) {
			t.Errorf("a log line shows the credential: %s", line)
		}
		var e entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		got = append(got, e)
	}
	want := []entry{
		{Level: "DEBUG", Msg: "authpool: allocated", Client: "alice", Subscription: "s-a", Outcome: "new"},
		{Level: "INFO", Msg: "authpool: subscription limited", Subscription: "s-a", Reason: "429 from upstream"},
		{Level: "INFO", Msg: "authpool: allocated", Client: "alice", Subscription: "s-b", Outcome: "moved", Reason: "limited"},
		{Level: "INFO", Msg: "authpool: subscription disabled", Subscription: "s-b", Reason: "by hand"},
		{Level: "WARN", Msg: "authpool: allocated", Client: "alice", Subscription: authpool.FallbackID, Outcome: "fallback", Reason: "disabled"},
		{Level: "WARN", Msg: "authpool: pool exhausted", Client: "bob"},
		{Level: "DEBUG", Msg: "authpool: pool exhausted", Client: "carol"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
