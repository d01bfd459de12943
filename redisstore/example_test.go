package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/redisstore"
)

// This example shares one pool between every process that runs it: each
// makes its own client and Store on the same Redis and prefix. (It needs a
// Redis, so it is compiled but not run.)
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // calls end at their context's deadline
	})
	defer rdb.Close()

	p, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
		},
	}, authpool.WithStore(redisstore.New(rdb, redisstore.WithPrefix("myapp"))))
	if err != nil {
		fmt.Println(err) // errors.Is(err, store.ErrUnavailable) when Redis cannot be reached
		return
	}
	defer p.Close(ctx)

	callCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	a, err := p.Allocate(callCtx, "client-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.SubscriptionID)
}
