package statuspage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/statuspage"
)

// bigPool returns a pool on the in-memory store with subs subscriptions and
// sessions clients placed on them, each with a usage recorded: the pool a
// large team's server shows.
func bigPool(tb testing.TB, subs, sessions int) *authpool.Pool {
	tb.Helper()
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cfg := authpool.Config{Fallback: &authpool.Fallback{Credential: "sk-ant-api03-fallback", DailyBudgetUSD: 50}}
	for i := range subs {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("max-%03d", i), Kind: authpool.KindMax20x, Credential: authpool.Credential(fmt.Sprintf("sk-ant-oat01-%03d", i)),
			MaxClients: sessions/subs + 1,
		})
	}
	p, err := authpool.New(ctx, cfg, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close(context.Background()) })
	for i := range sessions {
		client := fmt.Sprintf("client-%05d", i)
		if _, err := p.Allocate(ctx, client); err != nil {
			tb.Fatalf("Allocate(%s): %v", client, err)
		}
		u := authpool.Usage{ID: fmt.Sprintf("msg_%05d", i), Time: now, Model: "claude-sonnet-4-5", CostUSD: 0.01,
			Tokens: authpool.Tokens{Input: 100, Output: 200}}
		if err := p.Record(ctx, client, u); err != nil {
			tb.Fatalf("Record(%s): %v", client, err)
		}
	}
	return p
}

// BenchmarkRender serves the status page of a pool with 100 subscriptions
// and 10,000 sessions, as HTML and as JSON: the Snapshot and the rendering,
// what one GET /status costs a server (bound: 50 ms).
func BenchmarkRender(b *testing.B) {
	p := bigPool(b, 100, 10_000)
	h := statuspage.New(p)
	for _, format := range []string{"html", "json"} {
		b.Run(format, func(b *testing.B) {
			var n int64
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?format="+format, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET: %d %s", rec.Code, rec.Body)
				}
				n = int64(rec.Body.Len())
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}

// TestRenderBigPool: the page of a pool with 100 subscriptions and 10,000
// sessions shows every subscription, lists the first sessions and says how
// many more there are; its JSON holds every session.
func TestRenderBigPool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a pool of 10,000 sessions")
	}
	p := bigPool(t, 100, 10_000)
	h := statuspage.New(p)
	page := body(t, serve(t, h, "GET", "/?format=html", nil))
	for _, want := range []string{"max-000", "max-099", "and 9900 more"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	res := serve(t, h, "GET", "/?format=json", nil)
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), `"clientId"`); got != 10_000 {
		t.Errorf("the JSON holds %d sessions, want 10000", got)
	}
}
