package statuspage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/statuspage"
	"github.com/authpool/authpool/store"
)

// bigPool returns a pool on the in-memory store with subs subscriptions and
// sessions clients placed on them, each with a usage recorded, and callers
// stored callers in the same store, each with 10 sessions of 3 requests
// over the morning, every other one capped: the pool a large team's server
// shows.
func bigPool(tb testing.TB, subs, sessions, callers int) (*authpool.Pool, *callerreport.Source) {
	tb.Helper()
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	cfg := authpool.Config{Fallback: &authpool.Fallback{Credential: "sk-ant-api03-fallback", DailyBudgetUSD: 50}}
	for i := range subs {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("max-%03d", i), Kind: authpool.KindMax20x, Credential: authpool.Credential(fmt.Sprintf("sk-ant-oat01-%03d", i)),
			MaxClients: sessions/subs + 1,
		})
	}
	p, err := authpool.New(ctx, cfg, authpool.WithStore(st), authpool.WithClock(func() time.Time { return now }))
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
	addCallers(tb, st, callers, now)
	return p, &callerreport.Source{Store: st, Now: func() time.Time { return now }}
}

// addCallers stores n callers, each with 10 sessions of 3 requests over the
// hours before now, every other one capped at $20 over 5 hours.
func addCallers(tb testing.TB, st store.CallerStore, n int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		c := store.Caller{ID: fmt.Sprintf("caller-%03d", i), KeyHash: sha256.Sum256(fmt.Appendf(nil, "apk-%d", i)), Created: now}
		if i%2 == 0 {
			c.Cap = 20e9
		}
		if err := st.CreateCaller(ctx, c); err != nil {
			tb.Fatal(err)
		}
		for j := range 30 {
			ch := store.Charge{At: now.Add(-time.Duration(j*10) * time.Minute), Cost: 0.05e9, Session: fmt.Sprintf("session-%d", j%10),
				Tokens: store.Tokens{Input: 1000, Output: 500}}
			if _, err := st.ChargeCaller(ctx, c.ID, ch); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkRender serves the status page of a pool with 100 subscriptions,
// 10,000 sessions and 100 stored callers, as HTML and as JSON: the
// Snapshot, the callers' reports and the rendering, what one GET /status
// costs a server (bound: 50 ms).
func BenchmarkRender(b *testing.B) {
	p, callers := bigPool(b, 100, 10_000, 100)
	h := statuspage.New(p, statuspage.WithCallers(callers))
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

// TestRenderBigPool: the page of a pool with 100 subscriptions, 10,000
// sessions and 100 callers shows every subscription and caller, lists the
// first sessions and says how many more there are; its JSON holds every
// session and caller.
func TestRenderBigPool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a pool of 10,000 sessions")
	}
	p, callers := bigPool(t, 100, 10_000, 100)
	h := statuspage.New(p, statuspage.WithCallers(callers))
	page := body(t, serve(t, h, "GET", "/?format=html", nil))
	if got := strings.Count(page, `<tr class="caller"`); got != 100 {
		t.Errorf("the page shows %d callers, want 100", got)
	}
	for _, want := range []string{"max-000", "max-099", "and 9900 more", `data-id="caller-099"`,
		"$1.25 of $20.00 in 5 hours", "$1.50 · 30 requests", " · 100 callers</p>"} {
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
	if got := strings.Count(string(b), `"sessionCount":10`); got != 100 {
		t.Errorf("the JSON holds %d callers of 10 sessions, want 100", got)
	}
}
