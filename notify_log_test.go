package authpool

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLogNotifier(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	var buf bytes.Buffer
	n := newLogNotifier(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn, EventFailover)
	ctx := context.Background()
	for _, e := range []Event{
		{ID: "evt_1", Type: EventFailover, Time: t0, SubscriptionID: "fallback", ClientID: "alice",
			Move: &Move{From: "s-a", To: "fallback", Reason: ReasonLimited}},
		{ID: "evt_2", Type: EventRotation, Time: t0}, // not among the types logged
	} {
		if err := n.Notify(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	delete(got, "time")
	want := map[string]any{
		"level": "WARN", "msg": "authpool: event", "id": "evt_1", "type": "failover", "eventTime": "2026-11-26T12:30:00Z",
		"subscription": "fallback", "client": "alice",
		"move": map[string]any{"from": "s-a", "to": "fallback", "reason": "limited"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log record (-want +got):\n%s", diff)
	}
}
