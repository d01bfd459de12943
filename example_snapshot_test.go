package authpool_test

import (
	"context"
	"fmt"

	"github.com/authpool/authpool"
)

// A reader of the subscriptions alone, such as a metrics scrape, takes the
// snapshot without the sessions: the store's sessions are not read.
func ExamplePool_Snapshot_withoutSessions() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false)
	defer p.Close(ctx)
	for _, client := range []string{"alice", "bob", "carol"} {
		_, _ = p.Allocate(ctx, client)
	}

	snap, _ := p.Snapshot(ctx, authpool.WithoutSessions())
	for _, s := range snap.Subscriptions {
		fmt.Printf("%s: %d client(s)\n", s.ID, s.Clients)
	}
	fmt.Println("sessions:", snap.Sessions)
	// Output:
	// max-a: 2 client(s)
	// pro-b: 1 client(s)
	// sessions: []
}
