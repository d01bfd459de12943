package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/statuspage"
	"github.com/authpool/authpool/store"
)

// Mount the status page next to your own handlers; a browser gets the page,
// a program asking for application/json (or ?format=json) the Snapshot.
func ExampleNew() {
	ctx := context.Background()
	pool, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example", BlockBudgetUSD: 140},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close(ctx)

	mux := http.NewServeMux()
	mux.Handle("GET /status", statuspage.New(pool, statuspage.WithRefresh(10*time.Second)))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/status?format=json")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var snap authpool.Snapshot
	if err := json.NewDecoder(res.Body).Decode(&snap); err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Header.Get("Content-Type"))
	fmt.Println(snap.Subscriptions[0].ID, snap.Subscriptions[0].Status.State, snap.Subscriptions[0].Block.BudgetUSD)
	// Output:
	// 200 OK application/json
	// max-a active 140
}

// With a proxy's stored callers, the page has a table of them, and its
// JSON has them under "callers".
func ExampleWithCallers() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := memstore.New() // the store the pool and the proxy share
	pool, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example", BlockBudgetUSD: 140},
	}}, authpool.WithStore(st), authpool.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close(ctx)
	_ = st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: proxy.HashCallerKey("apk-example"), Cap: 20e9, Created: now})
	_, _ = st.ChargeCaller(ctx, "ci", store.Charge{At: now, Cost: 15e9, Session: "build-7"})

	callers := &callerreport.Source{Store: st, Now: clock} // Refusals: px.CallerRefusals, in a server
	srv := httptest.NewServer(statuspage.New(pool, statuspage.WithCallers(callers)))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/?format=json")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Callers []callerreport.Report `json:"callers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		log.Fatal(err)
	}
	for _, c := range page.Callers {
		fmt.Printf("%s: %.0f%% of $%.0f, %d session\n", c.ID, 100*c.Cap.Share, c.Cap.USD, c.SessionCount)
	}
	// Output:
	// ci: 75% of $20, 1 session
}
