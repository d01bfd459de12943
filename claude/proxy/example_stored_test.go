package proxy_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// A caller added at run time: the server makes its key, shows it once and
// keeps only its hash in the store; every proxy on that store knows the
// caller by it, and holds its $20 cap over 5 hours together with the
// others.
func ExampleStoreCallers() {
	ctx := context.Background()
	st := memstore.New() // redisstore.New(...) for proxies in several processes
	pool, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-1", Kind: authpool.KindMax5x, Credential: "sk-ant-oat01-..."},
	}}, authpool.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close(ctx)

	key, err := proxy.NewCallerKey()
	if err != nil {
		log.Fatal(err)
	}
	capUSD, _ := store.FromUSD(20)
	err = st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: proxy.HashCallerKey(key.Reveal()), Cap: capUSD, CapWindowHours: 5, Created: pool.Now()})
	if err != nil {
		log.Fatal(err)
	}
	px, err := proxy.New(&proxy.Transport{Pool: pool}, nil, proxy.DefaultUpstream)
	if err != nil {
		log.Fatal(err)
	}
	px.Stored = &proxy.StoreCallers{Store: st}
	// Serve px; give the caller its key once: ANTHROPIC_API_KEY=<key>.
	fmt.Println(strings.HasPrefix(key.Reveal(), proxy.CallerKeyPrefix), len(key.Reveal()), key)
	// Output: true 47 [REDACTED]
}
