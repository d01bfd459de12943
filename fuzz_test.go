package authpool_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// FuzzRecord drives Allocate and Record with arbitrary client IDs, usage IDs,
// models, costs, token counts and times. Whatever the input, the pool
// either refuses it with ErrInvalidArgument and changes
// nothing, or counts it exactly: the session's and the subscription's cost
// grow by the cost rounded to the nanodollar, once per usage ID.
//
//	go test -run '^$' -fuzz FuzzRecord .
func FuzzRecord(f *testing.F) {
	f.Add("alice", "msg_01", "claude-sonnet-4-5", 0.0412, int64(12), int64(640), int64(5210), int64(18300), int64(-90))
	f.Add("", "", "", 0.0, int64(0), int64(0), int64(0), int64(0), int64(0))
	f.Add("bob\x00", "msg\n", "m\xff", math.NaN(), int64(-1), int64(0), int64(0), int64(0), int64(0))
	f.Add("carol", "msg_02", "x", math.Inf(1), int64(1)<<41, int64(0), int64(0), int64(0), int64(400))
	f.Add("dave", "msg_03", "x", -0.01, int64(0), int64(0), int64(0), int64(0), int64(-168*3600))
	f.Add("erin", "msg_04", "x", 999999.999999999, int64(0), int64(0), int64(0), int64(0), int64(-167*3600))
	f.Fuzz(func(t *testing.T, client, id, model string, cost float64, in, out, cw, cr, offset int64) {
		ctx := context.Background()
		clk := newClock(t0)
		p := newPool(t, subs(sub("s-a", budgets(100, 10)), sub("s-b")), clk)
		if _, err := p.Allocate(ctx, client); err != nil {
			if !errors.Is(err, authpool.ErrInvalidArgument) {
				t.Fatalf("Allocate(%q) = %v, want success or ErrInvalidArgument", client, err)
			}
			return
		}
		u := authpool.Usage{
			ID: id, Model: model, CostUSD: cost, Time: t0.Add(time.Duration(offset) * time.Second),
			Tokens: authpool.Tokens{Input: in, Output: out, CacheWrite: cw, CacheRead: cr},
		}
		before := snapshot(t, p)
		for try := range 2 {
			err := p.Record(ctx, client, u)
			after := snapshot(t, p)
			if err != nil {
				if !errors.Is(err, authpool.ErrInvalidArgument) {
					t.Fatalf("Record(%q, %+v) = %v, want success or ErrInvalidArgument", client, u, err)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Fatalf("a refused Record changed the pool (-before +after):\n%s", diff)
				}
				return
			}
			want, convErr := store.FromUSD(cost)
			if convErr != nil {
				t.Fatalf("Record accepted a cost FromUSD refuses: %v", convErr)
			}
			if try == 1 && id == "" {
				want *= 2 // without an ID a repeat counts again; with one, once
			}
			total, sessions := billed(after)
			if sessions != want {
				t.Fatalf("after %d Record(s) of $%v the session cost %d nanodollars, want %d", try+1, cost, sessions, want)
			}
			if total != want {
				t.Fatalf("after %d Record(s) of $%v the subscriptions' weeks hold %d nanodollars, want %d", try+1, cost, total, want)
			}
		}
	})
}

// FuzzConfig decodes arbitrary JSON into a Config and builds a pool from it:
// New either refuses it with ErrInvalidConfig, listing each problem, or
// returns a pool that holds exactly the configured subscriptions.
//
//	go test -run '^$' -fuzz FuzzConfig .
func FuzzConfig(f *testing.F) {
	f.Add(`{"subscriptions":[{"id":"a","kind":"pro","credential":"sk-x","weeklyBudgetUSD":50}],"block":{"fixed":true,"hours":5}}`)
	f.Add(`{"subscriptions":[{"id":"a","kind":"pro","credential":"k"},{"id":"a","kind":"api","credential":"k"}]}`)
	f.Add(`{"maxClients":-1,"weeklyThreshold":2,"sessions":{"idleAfter":"10m","staleAfter":"5m"},"rebalance":{"maxMoves":-3}}`)
	f.Add(`{"fallback":{"credential":"sk-f","dailyBudgetUSD":0},"health":{"weekly":-1,"burnCap":1e308}}`)
	f.Add(`{"refreshInterval":"-1s","rememberUsageIds":"1h","block":{"fixed":"yes"}}`)
	f.Fuzz(func(t *testing.T, text string) {
		var cfg authpool.Config
		if err := json.Unmarshal([]byte(text), &cfg); err != nil {
			return
		}
		p, err := authpool.New(context.Background(), cfg, authpool.WithClock(newClock(t0).Now))
		if err != nil {
			var ce *authpool.ConfigError
			if !errors.Is(err, authpool.ErrInvalidConfig) || !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("New(%s) = %v, want a *ConfigError listing its problems", text, err)
			}
			return
		}
		defer p.Close(context.Background())
		list, err := p.Subscriptions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(cfg.Subscriptions) {
			t.Fatalf("New(%s) made a pool of %d subscriptions, want %d", text, len(list), len(cfg.Subscriptions))
		}
	})
}
