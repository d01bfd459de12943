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
	"github.com/authpool/authpool/statuspage"
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
