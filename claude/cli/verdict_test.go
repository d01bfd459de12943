package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
)

// verdictNow is the time of the runs judged below.
var verdictNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// verdictPool returns a pool of one subscription, s-a, on a clock standing
// at verdictNow, with alice on it.
func verdictPool(t *testing.T) *authpool.Pool {
	t.Helper()
	cfg := authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "s-a", Kind: authpool.KindMax20x, Credential: "sk-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100},
	}}
	p, err := authpool.New(context.Background(), cfg, authpool.WithClock(func() time.Time { return verdictNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	if a, err := p.Allocate(context.Background(), "alice"); err != nil || a.SubscriptionID != "s-a" {
		t.Fatalf("Allocate(alice) = %+v, %v", a, err)
	}
	return p
}

// TestAResultsVerdict judges captured CLI outputs and applies the verdicts
// to a pool.
func TestAResultsVerdict(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		file  string
		kind  claude.VerdictKind
		until time.Duration // from verdictNow; 0 for none
	}{
		{"testdata/cli/result-ok.json", claude.VerdictOK, 0},
		{"testdata/cli/result-quota429.json", claude.VerdictQuota, 31*time.Minute + time.Minute}, // "resets 12:31pm (UTC)": the end of that minute
		{"testdata/cli/result-overloaded529.json", claude.VerdictOverloaded, claude.DefaultOverloadedPause},
		{"testdata/cli/result-auth401.json", claude.VerdictAuth, 0},
		// "not your usage limit": the subscription stays in service.
		{"testdata/cli/result-headerless429.json", claude.VerdictRequestScoped, 0},
		{"testdata/cli/stream-headerless429.jsonl", claude.VerdictRequestScoped, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			parse := ParseResult
			if strings.HasSuffix(tt.file, ".jsonl") {
				parse = func(b []byte) (Result, error) { return ParseStream(bytes.NewReader(b)) }
			}
			r, err := parse(data)
			if err != nil {
				t.Fatal(err)
			}
			v := r.Verdict(verdictNow)
			var until time.Time
			if tt.until != 0 {
				until = verdictNow.Add(tt.until)
			}
			if v.Kind != tt.kind || !v.Until.Equal(until) {
				t.Errorf("Verdict = %v until %v, want %v until %v", v.Kind, v.Until, tt.kind, until)
			}
			p := verdictPool(t)
			if err := claude.Apply(ctx, p, "s-a", v, "", verdictNow); err != nil {
				t.Fatal(err)
			}
		})
	}
}
