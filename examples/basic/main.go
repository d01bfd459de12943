// Command basic runs a simulated working day of a dozen clients through an
// authpool.Pool of three Claude subscriptions (a Max 20x, a Max 5x and a Pro)
// and a fallback API key, and prints who went where and why, and the day's
// totals. It drives the cycle a host drives: Allocate before a client's
// requests (the client stays where its prompt cache is warm), Record each
// response's cost, Release when the client leaves, Rebalance every five
// minutes, MarkLimited when the upstream answers with a quota 429. The pool
// runs into its 5-hour block budgets, so some clients spend a while on the
// fallback and a few wait when that is spent too.
//
// The pool comes from the example config file (credentials read from the
// files it names); everything runs in memory, on a clock the program moves a
// minute at a time, with seeded randomness: every run prints the same day.
//
//	go run ./examples/basic [-config configfile/testdata/pool.json]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
)

func main() {
	config := flag.String("config", "configfile/testdata/pool.json", "the pool's config file")
	flag.Parse()
	if err := run(os.Stdout, *config); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// The day, and the quota 429 that takes the Max 20x out of service.
var (
	start      = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	end        = start.Add(12 * time.Hour)
	limitAt    = start.Add(3*time.Hour + 10*time.Minute)
	limitUntil = start.Add(4*time.Hour + 40*time.Minute)
)

// prices are USD per million tokens: input, output, cache write, cache read.
var prices = map[string][4]float64{
	"claude-opus-4-5":   {5, 25, 6.25, 0.50},
	"claude-sonnet-4-5": {3, 15, 3.75, 0.30},
	"claude-haiku-4-5":  {1, 5, 1.25, 0.10},
}

// client is one person's day: a model, working hours (from, to, in hours
// since 08:00), at most how many requests a busy minute, and where the pool
// has it.
type client struct {
	id, model string
	from, to  int
	pace      int
	sub       string    // "" without a session
	busy      bool      // in a burst of work, or pausing
	next      time.Time // when the burst or the pause ends
}

func clients() []*client {
	c := func(id, model string, from, to, pace int) *client {
		return &client{id: id, model: model, from: from, to: to, pace: pace}
	}
	return []*client{
		c("ada", "claude-opus-4-5", 0, 10, 3), c("ben", "claude-sonnet-4-5", 0, 9, 2),
		c("cleo", "claude-opus-4-5", 0, 11, 2), c("dev", "claude-sonnet-4-5", 1, 10, 3),
		c("eli", "claude-haiku-4-5", 1, 9, 3), c("fay", "claude-sonnet-4-5", 1, 11, 2),
		c("gus", "claude-opus-4-5", 2, 8, 2), c("hana", "claude-sonnet-4-5", 2, 10, 2),
		c("ivo", "claude-opus-4-5", 3, 12, 1), c("jun", "claude-sonnet-4-5", 3, 12, 2),
		c("kai", "claude-haiku-4-5", 4, 11, 3), c("lea", "claude-opus-4-5", 5, 12, 3),
	}
}

func run(w io.Writer, configPath string) error {
	ctx := context.Background()
	file, err := configfile.Load(configPath) // its webhooks are left out: this example prints its story
	if err != nil {
		return err
	}
	cfg := file.Config
	// No upstream here answers a subscription at its plan's real limit with a
	// 429, which the pool would serve past a spent budget until: budgets are caps.
	cfg.StrictBudgets = true
	now := start
	pool, err := authpool.New(ctx, cfg, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		return err
	}
	defer pool.Close(ctx)
	rng := rand.New(rand.NewPCG(2026, 1126))
	say := func(format string, args ...any) { fmt.Fprintf(w, now.Format("15:04  ")+format+"\n", args...) }
	fmt.Fprintf(w, "A day of %d clients on the pool of %s; max-20x gets a quota 429 at %s.\n\n",
		len(clients()), configPath, limitAt.Format("15:04"))

	people := clients()
	for ; now.Before(end); now = now.Add(time.Minute) {
		if now.Equal(limitAt) {
			if err := pool.MarkLimited(ctx, "max-20x", limitUntil, "upstream 429: usage limit reached"); err != nil {
				return err
			}
			say("max-20x is limited until %s (a quota 429)", limitUntil.Format("15:04"))
		}
		for _, c := range people {
			if err := step(ctx, pool, c, now, rng, say); err != nil {
				return fmt.Errorf("%s: %w", c.id, err)
			}
		}
		if now.Minute()%5 == 0 {
			r, err := pool.Rebalance(ctx)
			if err != nil {
				return err
			}
			for _, m := range r.Moves {
				say("Rebalance moves idle %s from %s to %s (blocks at $%.2f and $%.2f)", m.ClientID, m.From, m.To, m.FromBlockUSD, m.ToBlockUSD)
			}
			for _, rel := range r.Released {
				say("Rebalance releases %s, idle since %s", rel.ClientID, rel.LastActive.Format("15:04"))
			}
		}
	}
	snap, err := pool.Snapshot(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nAt %s:\n", now.Format("15:04"))
	for _, st := range append(snap.Subscriptions, *snap.Fallback) {
		line := fmt.Sprintf("  %-9s week $%7.2f", st.ID, st.Week.CostUSD)
		if st.Day != nil {
			line = fmt.Sprintf("  %-9s day  $%7.2f of $%.2f", st.ID, st.Day.CostUSD, st.Day.BudgetUSD)
		} else {
			line += fmt.Sprintf(", block $%6.2f of $%.2f, health %3.0f", st.Block.CostUSD, st.Block.BudgetUSD, st.Health)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "Responses recorded twice, counted once: %d. Credentials print as %v.\n",
		pool.Stats().DuplicateRecords, cfg.Subscriptions[0].Credential)
	return nil
}

// step is one minute of a client: arrive or leave, pause, or work.
func step(ctx context.Context, pool *authpool.Pool, c *client, now time.Time, rng *rand.Rand, say func(string, ...any)) error {
	hour := int(now.Sub(start).Hours())
	if hour < c.from || hour >= c.to {
		if c.sub != "" {
			say("%s leaves %s (Release)", c.id, c.sub)
			c.sub = ""
			return pool.Release(ctx, c.id)
		}
		return nil
	}
	if !now.Before(c.next) { // a burst or a pause is over
		c.busy = !c.busy
		c.next = now.Add(time.Duration(5+rng.IntN(30)) * time.Minute)
	}
	if !c.busy {
		return nil
	}
	a, err := pool.Allocate(ctx, c.id)
	var ex *authpool.ExhaustedError
	if errors.As(err, &ex) {
		c.busy, c.next = false, now.Add(max(15*time.Minute, ex.RetryAt.Sub(now)))
		say("%s is refused (ErrExhausted): nothing can serve it; waits until %s", c.id, c.next.Format("15:04"))
		return nil
	} else if err != nil {
		return err
	}
	if a.Outcome != authpool.OutcomeSticky && a.SubscriptionID != c.sub {
		if a.Reason == "" { // a new client: OutcomeNew says it all
			say("%s → %s (%s)", c.id, a.SubscriptionID, a.Outcome)
		} else {
			say("%s → %s (%s: %s)", c.id, a.SubscriptionID, a.Outcome, a.Reason)
		}
	}
	c.sub = a.SubscriptionID
	for range 1 + rng.IntN(c.pace) {
		t := authpool.Tokens{Input: 50 + rng.Int64N(2_000), Output: 100 + rng.Int64N(3_000),
			CacheWrite: rng.Int64N(8_000), CacheRead: 20_000 + rng.Int64N(120_000)}
		p := prices[c.model]
		cost := (float64(t.Input)*p[0] + float64(t.Output)*p[1] + float64(t.CacheWrite)*p[2] + float64(t.CacheRead)*p[3]) / 1e6
		u := authpool.Usage{ID: fmt.Sprintf("msg_01%016x", rng.Uint64()), SubscriptionID: a.SubscriptionID,
			Time: now, CostUSD: cost, Tokens: t, Model: c.model}
		if err := pool.Record(ctx, c.id, u); err != nil {
			return err
		}
		if rng.IntN(100) == 0 { // the response arrives twice: the pool counts it once
			if err := pool.Record(ctx, c.id, u); err != nil {
				return err
			}
		}
	}
	return nil
}
