package authpool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// exampleStart is the time every example's clock starts at.
var exampleStart = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

// examplePool returns a pool on the default in-memory store whose clock
// reads *now, with a Max 20x and a Pro (unless subs says otherwise) and,
// if fallback, a fallback API key with a $40 daily cap.
func examplePool(now *time.Time, fallback bool, subs ...authpool.Subscription) *authpool.Pool {
	if len(subs) == 0 {
		subs = []authpool.Subscription{
			{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "pro-b", Kind: authpool.KindPro, Credential: "sk-ant-oat01-example-b", WeeklyBudgetUSD: 50, BlockBudgetUSD: 10},
		}
	}
	cfg := authpool.Config{Subscriptions: subs}
	if fallback {
		cfg.Fallback = &authpool.Fallback{Credential: "sk-ant-api03-example", DailyBudgetUSD: 40}
	}
	p, err := authpool.New(context.Background(), cfg, authpool.WithClock(func() time.Time { return *now }))
	if err != nil {
		panic(err)
	}
	return p
}

// exampleUsage is a Sonnet 4.5 request at t: 2,000 input tokens, 800 output,
// 1,500 written to the cache and 30,000 read from it, at $3, $15, $3.75 and
// $0.30 per million.
func exampleUsage(id string, t time.Time) authpool.Usage {
	tokens := authpool.Tokens{Input: 2_000, Output: 800, CacheWrite: 1_500, CacheRead: 30_000}
	cost := (2_000*3 + 800*15 + 1_500*3.75 + 30_000*0.30) / 1e6
	return authpool.Usage{ID: id, Time: t, CostUSD: cost, Tokens: tokens, Model: "claude-sonnet-4-5"}
}

func ExampleNew() {
	ctx := context.Background()
	now := exampleStart
	p, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "pro-b", Kind: authpool.KindPro, Credential: "sk-ant-oat01-example-b", WeeklyBudgetUSD: 50, BlockBudgetUSD: 10, MaxClients: 3},
		},
		Fallback: &authpool.Fallback{Credential: "sk-ant-api03-example", DailyBudgetUSD: 40},
	}, authpool.WithClock(func() time.Time { return now })) // the default clock is time.Now
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)

	subs, _ := p.Subscriptions(ctx)
	for _, s := range subs {
		fmt.Printf("%s: %s, %s, up to %d clients, $%.0f a block, $%.0f a week\n",
			s.ID, s.Kind, s.Credential, s.MaxClients, s.BlockBudgetUSD, s.WeeklyBudgetUSD)
	}
	// Output:
	// max-a: max20x, [REDACTED], up to 15 clients, $140 a block, $1000 a week
	// pro-b: pro, [REDACTED], up to 3 clients, $10 a block, $50 a week
}

func ExamplePool_Allocate() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false)
	defer p.Close(ctx)

	for _, client := range []string{"alice", "alice", "bob"} {
		a, err := p.Allocate(ctx, client)
		if err != nil {
			fmt.Println(err)
			return
		}
		// Send the client's requests with a.Credential.Reveal().
		fmt.Printf("%s: %s on %s", client, a.Outcome, a.SubscriptionID)
		if a.Reason != "" { // why it is not sticky
			fmt.Printf(" (%s)", a.Reason)
		}
		fmt.Println()
	}
	// Output:
	// alice: new on max-a
	// alice: sticky on max-a
	// bob: new on pro-b
}

func ExamplePool_Record() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false)
	defer p.Close(ctx)

	a, _ := p.Allocate(ctx, "alice")
	u := exampleUsage("msg_01ExampleA", now)
	u.SubscriptionID = a.SubscriptionID // bill where the request went, even if alice moves meanwhile
	fmt.Println(p.Record(ctx, "alice", u))
	fmt.Println(p.Record(ctx, "alice", u)) // a retry of the same message: counted once

	u.CostUSD = -1
	err := p.Record(ctx, "alice", u)
	fmt.Println(errors.Is(err, authpool.ErrInvalidArgument))

	snap, _ := p.Snapshot(ctx)
	s := snap.Sessions[0]
	fmt.Printf("%s: %d request, $%.6f, %d tokens\n", s.ClientID, s.Requests, s.CostUSD, s.Tokens.Total())
	fmt.Printf("%s block: $%.6f\n", snap.Subscriptions[0].ID, snap.Subscriptions[0].Block.CostUSD)
	fmt.Println("duplicates:", p.Stats().DuplicateRecords)
	// Output:
	// <nil>
	// <nil>
	// true
	// alice: 1 request, $0.032625, 34300 tokens
	// max-a block: $0.032625
	// duplicates: 1
}

func ExamplePool_Release() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false)
	defer p.Close(ctx)

	_, _ = p.Allocate(ctx, "alice")
	fmt.Println(p.Release(ctx, "alice"))
	fmt.Println(p.Release(ctx, "alice")) // Release is idempotent

	err := p.Record(ctx, "alice", exampleUsage("msg_01ExampleB", now))
	fmt.Println(errors.Is(err, authpool.ErrUnknownClient))

	snap, _ := p.Snapshot(ctx)
	fmt.Println("sessions:", len(snap.Sessions), "clients on max-a:", snap.Subscriptions[0].Clients)
	// Output:
	// <nil>
	// <nil>
	// true
	// sessions: 0 clients on max-a: 0
}

func ExamplePool_Rebalance() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false,
		authpool.Subscription{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", BlockBudgetUSD: 140},
		authpool.Subscription{ID: "max-b", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-b", BlockBudgetUSD: 140})
	defer p.Close(ctx)

	// alice spends $12 on max-a, bob $1 on max-b; then both go quiet.
	for _, c := range []struct {
		client string
		cost   float64
	}{{"alice", 12}, {"bob", 1}} {
		a, _ := p.Allocate(ctx, c.client)
		fmt.Printf("%s on %s\n", c.client, a.SubscriptionID)
		_ = p.Record(ctx, c.client, authpool.Usage{Time: now, CostUSD: c.cost})
	}

	now = now.Add(10 * time.Minute) // idle (5 minutes) but not stale (30)
	report, err := p.Rebalance(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range report.Moves {
		fmt.Printf("moved %s: %s ($%.2f) -> %s ($%.2f), %s\n", m.ClientID, m.From, m.FromBlockUSD, m.To, m.ToBlockUSD, m.Reason)
	}
	a, _ := p.Allocate(ctx, "alice")
	fmt.Printf("alice: %s on %s\n", a.Outcome, a.SubscriptionID)
	// Output:
	// alice on max-a
	// bob on max-b
	// moved alice: max-a ($12.00) -> max-b ($1.00), block room gap
	// alice: sticky on max-b
}

func ExamplePool_MarkLimited() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, true,
		authpool.Subscription{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", BlockBudgetUSD: 140})
	defer p.Close(ctx)

	a, _ := p.Allocate(ctx, "alice")
	fmt.Printf("%s: %s on %s\n", now.Format("15:04"), a.Outcome, a.SubscriptionID)

	// The upstream answered 429: the subscription's limit resets at 09:30.
	_ = p.MarkLimited(ctx, "max-a", exampleStart.Add(90*time.Minute), "upstream 429: usage limit reached")
	snap, _ := p.Snapshot(ctx)
	st := snap.Subscriptions[0].Status
	fmt.Printf("max-a: %s until %s (%s)\n", st.State, st.Until.Format("15:04"), st.Reason)
	a, _ = p.Allocate(ctx, "alice")
	fmt.Printf("%s: %s on %s, from %s\n", now.Format("15:04"), a.Outcome, a.SubscriptionID, a.From)

	now = exampleStart.Add(90 * time.Minute) // max-a is back in service by itself
	a, _ = p.Allocate(ctx, "alice")
	fmt.Printf("%s: %s on %s, from %s (%s)\n", now.Format("15:04"), a.Outcome, a.SubscriptionID, a.From, a.Reason)
	// Output:
	// 08:00: new on max-a
	// max-a: limited until 09:30 (upstream 429: usage limit reached)
	// 08:00: fallback on fallback, from max-a
	// 09:30: moved on max-a, from fallback (back from fallback)
}

func ExamplePool_Snapshot() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false)
	defer p.Close(ctx)

	a, _ := p.Allocate(ctx, "alice")
	now = now.Add(20 * time.Minute)
	_ = p.Record(ctx, "alice", authpool.Usage{ID: "msg_01ExampleC", Time: now, CostUSD: 7})

	snap, _ := p.Snapshot(ctx)
	for _, s := range snap.Subscriptions {
		block := "no block running"
		if !s.Block.Start.IsZero() {
			block = fmt.Sprintf("block %s-%s $%.2f of $%.0f (%.0f%%)", s.Block.Start.Format("15:04"),
				s.Block.End.Format("15:04"), s.Block.CostUSD, s.Block.BudgetUSD, s.Block.Percent)
		}
		fmt.Printf("%s: %s, health %.1f, %d client(s), %s\n", s.ID, s.Status.State, s.Health, s.Clients, block)
	}
	for _, s := range snap.Sessions {
		activity := "active"
		if s.Idle {
			activity = "idle"
		}
		fmt.Printf("%s: %s on %s, $%.2f\n", s.ClientID, activity, s.SubscriptionID, s.CostUSD)
	}

	// Credentials never print: not from an Allocation, nor in JSON.
	fmt.Println(a.Credential)
	b, _ := json.Marshal(a)
	fmt.Println(string(b))
	b, _ = json.Marshal(snap)
	fmt.Println(strings.Contains(string(b), "sk-ant"))
	// Output:
	// max-a: active, health 93.2, 1 client(s), block 08:00-13:00 $7.00 of $140 (5%)
	// pro-b: active, health 100.0, 0 client(s), no block running
	// alice: active on max-a, $7.00
	// [REDACTED]
	// {"clientId":"alice","subscriptionId":"max-a","kind":"max20x","credential":"[REDACTED]","outcome":"new"}
	// false
}

// An Allocate that finds every subscription spent and no fallback returns
// an *ExhaustedError, which says when to try again. A budget is an estimate
// of the plan's limit: the pool keeps a subscription whose budget it counts
// as spent in use until the upstream refuses it (a 429, MarkLimited), unless
// Config.StrictBudgets makes budgets caps.
func ExamplePool_Allocate_exhausted() {
	ctx := context.Background()
	now := exampleStart
	p := examplePool(&now, false,
		authpool.Subscription{ID: "pro-b", Kind: authpool.KindPro, Credential: "sk-ant-oat01-example-b", BlockBudgetUSD: 10})
	defer p.Close(ctx)

	_, _ = p.Allocate(ctx, "alice")
	now = now.Add(40 * time.Minute)
	_ = p.Record(ctx, "alice", authpool.Usage{Time: now, CostUSD: 10.5}) // the 5-hour block's budget is spent
	a, _ := p.Allocate(ctx, "bob")
	fmt.Println("bob on", a.SubscriptionID, "past its budget:", a.OverThreshold)

	// The upstream answers 429 until the block resets at 13:00.
	_ = p.MarkLimited(ctx, "pro-b", now.Add(4*time.Hour+20*time.Minute), "5-hour limit reached")
	_, err := p.Allocate(ctx, "carol")
	var ex *authpool.ExhaustedError
	if errors.As(err, &ex) {
		fmt.Println(errors.Is(err, authpool.ErrExhausted))
		fmt.Println("retry at", ex.RetryAt.Format("15:04"), "because", ex.Reasons)
		fmt.Println(err)
	}
	// Output:
	// bob on pro-b past its budget: true
	// true
	// retry at 13:00 because map[limited:1]
	// authpool: no subscription can take client "carol" (1 limited); the first is expected back at 2026-11-26T13:00:00Z
}
