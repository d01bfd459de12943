// Command multiinstance shows two authpool pools sharing one Redis through
// package redisstore, as two replicas of a service would: a client keeps its
// subscription through either, usage recorded by both adds up (a usage
// recorded twice counts once), and one's Rebalance is what the other sees.
// The pools share nothing but the Redis (each has its own client; redisstore's
// TestMultiProcess runs real processes) and a clock the story moves. Each run
// uses a fresh key prefix and deletes its keys at the end:
//
//	go run ./examples/multiinstance [-redis redis://127.0.0.1:6379/0] [-json]
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/redisstore"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "multiinstance:", err)
		os.Exit(1)
	}
}

// config is the pool both replicas build. The credentials are placeholders:
// nothing here goes upstream.
func config() authpool.Config {
	return authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-20x", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "max-5x", Kind: authpool.KindMax5x, Credential: "sk-ant-oat01-example-b", WeeklyBudgetUSD: 250, BlockBudgetUSD: 35},
		},
		Rebalance: authpool.RebalancePolicy{MinGapUSD: 5, MaxMoves: 3},
	}
}

// Result is what a run showed, as -json prints it.
type Result struct {
	Prefix string   `json:"prefix"`
	Story  []string `json:"story"`
	// Alice is where A, then B, placed alice; AliceUSD her session's cost
	// as each sees it; Duplicates the resent usages B refused.
	Alice      [2]authpool.Allocation `json:"alice"`
	AliceUSD   [2]float64             `json:"aliceUSD"`
	Duplicates int64                  `json:"duplicates"`
	// Moves are A's Rebalance moves; BobOnB is where B then placed bob.
	Moves  []authpool.Move     `json:"moves"`
	BobOnB authpool.Allocation `json:"bobOnB"`
	// Sessions is how many sessions each sees at the end.
	Sessions    [2]int `json:"sessions"`
	KeysDeleted int    `json:"keysDeleted"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("multiinstance", flag.ContinueOnError)
	url := fs.String("redis", "redis://127.0.0.1:6379/0", "the Redis both pools share")
	asJSON := fs.Bool("json", false, "print the facts as JSON instead of the story")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts, err := redis.ParseURL(*url)
	if err != nil {
		return fmt.Errorf("-redis %q: %w", *url, err)
	}
	opts.ContextTimeoutEnabled, opts.DialerRetries = true, 1
	res := &Result{Prefix: "example/multiinstance/" + rand.Text()[:8]}
	say := func(format string, args ...any) { res.Story = append(res.Story, fmt.Sprintf(format, args...)) }

	var clock atomic.Int64 // both pools' clock, Unix nanoseconds
	clock.Store(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	var pools [2]*authpool.Pool
	for i := range pools {
		rdb := redis.NewClient(opts) // one client each, as two processes have
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("no Redis answers at %s: %w (start one: redis-server --port 6379)", *url, err)
		}
		p, err := authpool.New(ctx, config(), authpool.WithClock(now),
			authpool.WithStore(redisstore.New(rdb, redisstore.WithPrefix(res.Prefix))))
		if err != nil {
			return err
		}
		defer p.Close(context.WithoutCancel(ctx))
		pools[i] = p
	}
	storyErr := tell(ctx, pools, &clock, res, say)
	n, cleanErr := deleteKeys(ctx, opts, res.Prefix)
	res.KeysDeleted = n
	if err := errors.Join(storyErr, cleanErr); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err = fmt.Fprintln(stdout, strings.Join(res.Story, "\n"))
	return err
}

// tell plays the story on pools A and B and fills res.
func tell(ctx context.Context, pools [2]*authpool.Pool, clock *atomic.Int64, res *Result, say func(string, ...any)) error {
	a, b := pools[0], pools[1]
	say("Two pools, A and B, share one Redis under the prefix %q.", res.Prefix)
	for i, p := range pools {
		al, err := p.Allocate(ctx, "alice")
		if err != nil {
			return err
		}
		res.Alice[i] = al
		say("%c: alice → %s (%s)", 'A'+i, al.SubscriptionID, al.Outcome)
	}
	record := func(p *authpool.Pool, client, id string, usd float64) error {
		return p.Record(ctx, client, authpool.Usage{ID: id, Time: time.Unix(0, clock.Load()), CostUSD: usd, Model: "claude-sonnet-4-5"})
	}
	if err := errors.Join(record(a, "alice", "msg_A", 1.20), record(b, "alice", "msg_B", 0.80), record(b, "alice", "msg_A", 1.20)); err != nil {
		return err
	}
	res.Duplicates = b.Stats().DuplicateRecords
	snaps, err := snapshots(ctx, pools)
	if err != nil {
		return err
	}
	for i, snap := range snaps {
		for _, s := range snap.Sessions {
			res.AliceUSD[i] += s.CostUSD // alice's is the only session
		}
	}
	say("A records $1.20 and B $0.80 for alice; B records A's usage again: refused (%d duplicate).", res.Duplicates)
	say("A sees alice's session at $%.2f, B at $%.2f.", res.AliceUSD[0], res.AliceUSD[1])
	bob, err := b.Allocate(ctx, "bob")
	if err = errors.Join(err, record(b, "bob", "msg_B2", 31)); err != nil {
		return err
	}
	say("B: bob → %s (%s), records $31.00 for him.", bob.SubscriptionID, bob.Outcome)
	clock.Add(int64(10 * time.Minute)) // bob and alice idle now
	_, err = a.Allocate(ctx, "alice")
	if err = errors.Join(err, record(a, "alice", "msg_A2", 0.40)); err != nil {
		return err
	}
	report, err := a.Rebalance(ctx)
	if err != nil {
		return err
	}
	res.Moves = report.Moves
	for _, m := range report.Moves {
		say("10 minutes later alice is back through A; A's Rebalance moves idle %s %s → %s.", m.ClientID, m.From, m.To)
	}
	if res.BobOnB, err = b.Allocate(ctx, "bob"); err != nil {
		return err
	}
	say("B: bob → %s (%s): the move A made.", res.BobOnB.SubscriptionID, res.BobOnB.Outcome)
	if err := errors.Join(b.Release(ctx, "alice"), a.Release(ctx, "bob")); err != nil {
		return err
	}
	if snaps, err = snapshots(ctx, pools); err != nil {
		return err
	}
	res.Sessions = [2]int{len(snaps[0].Sessions), len(snaps[1].Sessions)}
	say("B releases alice, A releases bob: A sees %d sessions, B %d.", res.Sessions[0], res.Sessions[1])
	return nil
}

// snapshots returns each pool's snapshot.
func snapshots(ctx context.Context, pools [2]*authpool.Pool) (snaps [2]authpool.Snapshot, err error) {
	for i, p := range pools {
		if snaps[i], err = p.Snapshot(ctx); err != nil {
			return snaps, err
		}
	}
	return snaps, nil
}

// deleteKeys deletes the keys under prefix, found with KEYS: fine for the
// end of a demo, never for a service.
func deleteKeys(ctx context.Context, opts *redis.Options, prefix string) (int, error) {
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, "{"+prefix+"}:*").Result()
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	return len(keys), rdb.Unlink(ctx, keys...).Err()
}
