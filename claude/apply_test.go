package claude

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// applyNow is the time of the responses applied below.
var applyNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// applyPool returns a pool of two subscriptions, s-a and s-b, with budgets,
// on a clock standing at applyNow, with alice on s-a.
func applyPool(t *testing.T) *authpool.Pool {
	t.Helper()
	cfg := authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "s-a", Kind: authpool.KindMax20x, Credential: "sk-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100},
		{ID: "s-b", Kind: authpool.KindMax20x, Credential: "sk-b", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 100},
	}}
	p, err := authpool.New(context.Background(), cfg, authpool.WithClock(func() time.Time { return applyNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	if a, err := p.Allocate(context.Background(), "alice"); err != nil || a.SubscriptionID != "s-a" {
		t.Fatalf("Allocate(alice) = %+v, %v", a, err)
	}
	return p
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func statusOf(t *testing.T, p *authpool.Pool, id string) authpool.SubscriptionStatus {
	t.Helper()
	snap, err := p.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Subscriptions {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no subscription %q", id)
	return authpool.SubscriptionStatus{}
}

func TestApplyActsOnThePool(t *testing.T) {
	ctx := context.Background()
	reset5h := applyNow.Add(90 * time.Minute)
	tests := []struct {
		name   string
		status int
		h      http.Header
		body   string
		model  string
		check  func(t *testing.T, p *authpool.Pool)
	}{
		{"an OK response's utilization raises the pool's estimate", 200, headers(
			"anthropic-ratelimit-unified-status", "allowed",
			"anthropic-ratelimit-unified-5h-utilization", "0.6",
			"anthropic-ratelimit-unified-5h-reset", itoa(reset5h.Unix()),
		), "", "", func(t *testing.T, p *authpool.Pool) {
			if s := statusOf(t, p, "s-a"); s.Block.Percent != 60 || s.Status.State != authpool.Active {
				t.Errorf("s-a: block at %v%%, %s; want 60%%, active", s.Block.Percent, s.Status.State)
			}
		}},
		{"a quota 429 limits the subscription until its reset", 429, headers(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-utilization", "1.02",
			"anthropic-ratelimit-unified-5h-reset", itoa(reset5h.Unix()),
			"anthropic-ratelimit-unified-reset", itoa(reset5h.Unix()),
		), `{"type":"error","error":{"type":"rate_limit_error","message":"limit"}}`, "", func(t *testing.T, p *authpool.Pool) {
			s := statusOf(t, p, "s-a")
			if s.Status.State != authpool.Limited || !s.Status.Until.Equal(reset5h) {
				t.Errorf("s-a: %+v, want limited until %v", s.Status, reset5h)
			}
			if a, err := p.Allocate(ctx, "alice"); err != nil || a.SubscriptionID != "s-b" {
				t.Errorf("alice after the quota: %+v, %v; want moved to s-b", a, err)
			}
		}},
		{"a model's weekly limit limits that model only", 429, headers(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-5h-status", "allowed",
			"anthropic-ratelimit-unified-7d-status", "allowed",
			"anthropic-ratelimit-unified-7d_opus-status", "rejected",
			"anthropic-ratelimit-unified-7d_opus-reset", itoa(applyNow.Add(48*time.Hour).Unix()),
		), "", "claude-opus-4-5", func(t *testing.T, p *authpool.Pool) {
			if s := statusOf(t, p, "s-a"); s.Status.State != authpool.Active {
				t.Errorf("s-a is %s, want active for other models", s.Status.State)
			}
			if a, _ := p.Allocate(ctx, "alice", authpool.ForModel("claude-sonnet-4-5")); a.SubscriptionID != "s-a" {
				t.Errorf("a sonnet request went to %s, want s-a", a.SubscriptionID)
			}
			if a, _ := p.Allocate(ctx, "alice", authpool.ForModel("claude-opus-4-5")); a.SubscriptionID != "s-b" {
				t.Errorf("an opus request went to %s, want s-b", a.SubscriptionID)
			}
		}},
		{"a throttle pauses the subscription", 429, headers("retry-after", "20",
			"anthropic-ratelimit-unified-status", "allowed"), `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "",
			func(t *testing.T, p *authpool.Pool) {
				if s := statusOf(t, p, "s-a"); s.Status.State != authpool.Limited || !s.Status.Until.Equal(applyNow.Add(20*time.Second)) {
					t.Errorf("s-a: %+v, want limited for 20s", s.Status)
				}
			}},
		{"an overloaded 529 cools the subscription down", 529, nil,
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "",
			func(t *testing.T, p *authpool.Pool) {
				if s := statusOf(t, p, "s-a"); s.Status.State != authpool.Limited || !s.Status.Until.After(applyNow) {
					t.Errorf("s-a: %+v, want a cooldown", s.Status)
				}
			}},
		{"a refused credential disables the subscription", 401, headers("x-should-retry", "false"),
			`{"type":"error","error":{"type":"authentication_error","message":"invalid bearer token"}}`, "",
			func(t *testing.T, p *authpool.Pool) {
				if s := statusOf(t, p, "s-a"); s.Status.State != authpool.Disabled {
					t.Errorf("s-a: %+v, want disabled", s.Status)
				}
			}},
		{"a bare 429 leaves the subscription in service", 429, nil, "", "",
			func(t *testing.T, p *authpool.Pool) {
				if s := statusOf(t, p, "s-a"); s.Status.State != authpool.Active {
					t.Errorf("s-a: %+v, want active", s.Status)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := applyPool(t)
			v := Classify(tt.status, tt.h, []byte(tt.body), applyNow)
			if err := Apply(ctx, p, "s-a", v, tt.model, applyNow); err != nil {
				t.Fatalf("Apply(%v): %v", v, err)
			}
			tt.check(t, p)
		})
	}
}

// itoa writes unix seconds as a header does.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
