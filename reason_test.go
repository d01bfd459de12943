package authpool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// TestReasonsCarryNoCredential gives every call that takes a reason one
// that quotes the pool's credentials, as an upstream that echoes a key
// does: the reason the pool stores, shows, logs and reports holds none of
// them, nor 12 bytes of one, and says [REDACTED] where they were.
func TestReasonsCarryNoCredential(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	const (
		fallbackKey = "sk-ant-api03-fallback-0f1e2d3c4b5a69788796a5b4"
		rotated     = "sk-ant-oat01-rotated-while-running-77aa66bb55cc"
	)
	cfg := subs(sub("s-a"), sub("s-b"), sub("s-c"), sub("s-d"))
	cfg.Fallback = &authpool.Fallback{Credential: fallbackKey, DailyBudgetUSD: 5}
	var logs bytes.Buffer
	var mu sync.Mutex
	var events []authpool.Event
	st := authpool.NewTestStore(t)
	p := newPool(t, cfg, clk, authpool.WithStore(st), authpool.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))),
		authpool.WithNotifier(authpool.NotifierFunc(func(_ context.Context, e authpool.Event) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
			return nil
		})))
	if err := p.UpdateCredential(ctx, "s-d", authpool.Token{Access: rotated}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(defaultRefreshInterval)
	allocate(t, p, "someone") // reads the view again: s-d's new credential

	credA := secret + "-s-a"
	echo := func(what string) string {
		return fmt.Sprintf(`401 authentication_error: invalid x-api-key %q (%s); fallback %s, part %s…`,
			credA, what, fallbackKey, rotated[:20])
	}
	until := t0.Add(time.Hour)
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"MarkLimited", func() error { return p.MarkLimited(ctx, "s-a", until, echo("limited")) }},
		{"Disable", func() error { return p.Disable(ctx, "s-b", echo("disabled")) }},
		{"Throttled", func() error { _, err := p.Throttled(ctx, "s-c", time.Minute, echo("throttled")); return err }},
		{"MarkModelLimited", func() error { return p.MarkModelLimited(ctx, "s-d", "opus", until, echo("model")) }},
	} {
		if err := call.do(); err != nil {
			t.Fatalf("%s: %v", call.name, err)
		}
	}
	snap := snapshot(t, p)
	if err := p.Close(ctx); err != nil { // delivers the events
		t.Fatal(err)
	}
	stored, err := st.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, s := range snap.Subscriptions {
		reasons = append(reasons, s.Status.Reason)
	}
	for _, s := range stored {
		reasons = append(reasons, s.Status.Reason)
		for _, l := range s.ModelLimits {
			reasons = append(reasons, l.Reason)
		}
	}
	for _, e := range events {
		if e.Limit != nil {
			reasons = append(reasons, e.Limit.Reason)
		}
	}
	seen := 0
	for _, r := range reasons {
		if strings.Contains(r, "401 authentication_error") {
			seen++
			if want := "invalid x-api-key \"[REDACTED]\""; !strings.Contains(r, want) {
				t.Errorf("reason %q does not say %s", r, want)
			}
		}
	}
	if seen < 4*3-1 { // each reason in the snapshot or the store, and in its event (a throttle is a limit)
		t.Errorf("found %d reasons quoting the upstream, want at least 11: %q", seen, reasons)
	}
	b, _ := json.Marshal(snap)
	for where, text := range map[string]string{"reasons": strings.Join(reasons, "\n"), "the log": logs.String(), "the snapshot": string(b)} {
		for _, s := range []string{credA, fallbackKey, rotated} {
			for i := 0; i+12 <= len(s); i++ {
				if strings.Contains(text, s[i:i+12]) {
					t.Errorf("%s show %q of a credential", where, s[i:i+12])
					break
				}
			}
		}
	}
}
