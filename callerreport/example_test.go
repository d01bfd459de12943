package callerreport_test

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// A caller capped at $20 over 5 hours has spent $12.50 of it; the report
// says so, with its windows and sessions. A server returns the report as
// JSON from its admin API.
func ExampleOf() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	st := memstore.New() // or redisstore, shared by every proxy
	key, _ := proxy.NewCallerKey()
	_ = st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: proxy.HashCallerKey(key.Reveal()), Cap: 20e9, Created: now})
	// A proxy charges each response's usage so (proxy.StoreCallers).
	for _, c := range []store.Charge{
		{At: now.Add(-3 * time.Hour), Cost: 10e9, Session: "build-1", Tokens: store.Tokens{Input: 1200, Output: 800}},
		{At: now.Add(-10 * time.Minute), Cost: 2.5e9, Session: "build-2", Tokens: store.Tokens{Input: 300, Output: 150}},
	} {
		_, _ = st.ChargeCaller(ctx, "ci", c)
	}

	r, err := callerreport.Of(ctx, st, "ci", now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: $%.2f of $%.2f over %d h (%.1f%%), falls at %s\n", r.ID, r.Cap.UsedUSD, r.Cap.USD, r.Cap.WindowHours,
		100*r.Cap.Share, r.Cap.Resets.Format("15:04"))
	for _, w := range r.Windows {
		fmt.Printf("%-4s %d requests, %d tokens, $%.2f\n", w.Name, w.Requests, w.Tokens.Total(), w.CostUSD)
	}
	for _, s := range r.Sessions {
		fmt.Printf("session %s: %d request, $%.2f, last %s\n", s.Session, s.Requests, s.CostUSD, s.Last.Format("15:04"))
	}
	// Output:
	// ci: $12.50 of $20.00 over 5 h (62.5%), falls at 14:00
	// cap  2 requests, 2450 tokens, $12.50
	// 5h   2 requests, 2450 tokens, $12.50
	// day  2 requests, 2450 tokens, $12.50
	// week 2 requests, 2450 tokens, $12.50
	// session build-2: 1 request, $2.50, last 12:20
	// session build-1: 1 request, $10.00, last 09:30
}
