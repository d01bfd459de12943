package authpool_test

import (
	"context"
	"fmt"
	"time"

	"github.com/authpool/authpool"
)

// A pool refreshes an OAuth token ten minutes before it expires, from the
// host's own Rebalance ticker; the client keeps its subscription and gets
// the new token on its next Allocate.
func ExampleWithRefresher() {
	ctx := context.Background()
	now := exampleStart // 08:00

	// refresh exchanges the refresh token the pool keeps for a new access
	// token and a new refresh token (here: made up; claude/oauth's Client
	// has a real one), and says when the access token expires.
	refresh := func(ctx context.Context, subscriptionID string, current authpool.Token) (authpool.Token, error) {
		fmt.Printf("refreshing %s's token with %s\n", subscriptionID, current.Refresh.Reveal())
		return authpool.Token{Access: "sk-ant-oat01-example-a-2", Refresh: "sk-ant-ort01-example-a-2",
			ExpiresAt: now.Add(8 * time.Hour)}, nil
	}
	p, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{{ID: "max-a", Kind: authpool.KindMax20x,
			Credential: "sk-ant-oat01-example-a", CredentialExpiresAt: exampleStart.Add(time.Hour),
			RefreshToken: "sk-ant-ort01-example-a"}},
	}, authpool.WithClock(func() time.Time { return now }), authpool.WithRefresher(refresh, 10*time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)
	a, _ := p.Allocate(ctx, "alice")
	fmt.Println("08:00", a.SubscriptionID, a.Credential.Reveal())

	for _, at := range []time.Duration{40 * time.Minute, 50 * time.Minute, 51 * time.Minute} {
		now = exampleStart.Add(at)
		if _, err := p.Allocate(ctx, "alice"); err != nil { // alice at work
			fmt.Println(err)
			return
		}
		report, err := p.Rebalance(ctx) // on the host's ticker
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range report.Credentials {
			fmt.Printf("%s %s: expired at %s, now expires at %s\n", now.Format("15:04"), r.SubscriptionID,
				r.ExpiresAt.Format("15:04"), r.NewExpiresAt.Format("15:04"))
		}
	}
	a, _ = p.Allocate(ctx, "alice")
	fmt.Println(now.Format("15:04"), a.SubscriptionID, a.Outcome, a.Credential.Reveal())
	// Output:
	// 08:00 max-a sk-ant-oat01-example-a
	// refreshing max-a's token with sk-ant-ort01-example-a
	// 08:50 max-a: expired at 09:00, now expires at 16:50
	// 08:51 max-a sticky sk-ant-oat01-example-a-2
}
