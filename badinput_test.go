package authpool_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
)

// TestBadInput is the pool's half of the table of docs/bad-input.md (the
// proxy's, the streams' and the transcripts' half is claude's
// TestBadInput): a case per row, named as the row. Each case gives the
// library one bad input and checks what it answers, exactly, and that the
// pool's Snapshot is the same before and after (where a row says it
// changes, the case checks how).
func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	huge := strings.Repeat("x", 1<<20) // a 1 MB client ID
	rec := func(client string, u authpool.Usage) func(*authpool.Pool, *clock) error {
		return func(p *authpool.Pool, clk *clock) error {
			if u.Time.IsZero() {
				u.Time = clk.Now()
			}
			return p.Record(ctx, client, u)
		}
	}
	// noTime is a Usage with no time: rec gives every other one the clock's.
	noTime := func(p *authpool.Pool, _ *clock) error {
		return p.Record(ctx, "alice", authpool.Usage{CostUSD: 1})
	}
	alloc := func(client string) func(*authpool.Pool, *clock) error {
		return func(p *authpool.Pool, _ *clock) error { _, err := p.Allocate(ctx, client); return err }
	}
	release := func(client string) func(*authpool.Pool, *clock) error {
		return func(p *authpool.Pool, _ *clock) error { return p.Release(ctx, client) }
	}
	update := func(id string, u authpool.SubscriptionUpdate) func(*authpool.Pool, *clock) error {
		return func(p *authpool.Pool, _ *clock) error { return p.UpdateSubscription(ctx, id, u) }
	}
	readConfig := func(text string) func(*authpool.Pool, *clock) error {
		return func(*authpool.Pool, *clock) error {
			f, err := configfile.Read(strings.NewReader(text), "pool.json")
			if diff := cmp.Diff(configfile.File{}, f); err != nil && diff != "" {
				t.Errorf("configfile.Read returned a file with its error (-zero +got):\n%s", diff)
			}
			return err
		}
	}
	tests := []struct {
		name string
		do   func(*authpool.Pool, *clock) error
		// want is the error's sentinel, nil for none; msg its whole text.
		want error
		msg  string
		// changed, when set, checks the change a row documents; nil means
		// the Snapshot must not change.
		changed func(t *testing.T, before, after authpool.Snapshot)
		// config, when set, changes the pool's Config from the rows' own.
		config func(*authpool.Config)
	}{{
		name: "malformed config (syntax error)",
		do:   readConfig(`{"maxClients": 10,}`),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json:1:19: invalid character '}' looking for beginning of object key string`,
	}, {
		name: "config with trailing data",
		do:   readConfig(`{"maxClients": 10} {}`),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json:1:20: invalid character '{' after top-level value`,
	}, {
		name: "empty config file",
		do:   readConfig(``),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json:1:1: unexpected end of JSON input`,
	}, {
		name: "unknown field in config",
		do:   readConfig(`{"maxClient": 10}`),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json: /maxClient: unknown field (did you mean "maxClients"?)`,
	}, {
		name: "huge number in config",
		do:   readConfig(`{"maxClients": 1e400}`),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json: /maxClients: number out of range`,
	}, {
		name: "negative number in config",
		do:   readConfig(`{"maxClients": -1}`),
		want: authpool.ErrInvalidConfig,
		msg:  `pool.json: /maxClients: must be >= 0`,
	}, {
		name: "negative cost",
		do:   rec("alice", authpool.Usage{CostUSD: -1}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.costUSD: amount -1 is negative: authpool: invalid argument`,
	}, {
		name: "NaN cost",
		do:   rec("alice", authpool.Usage{CostUSD: math.NaN()}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.costUSD: amount is NaN: authpool: invalid argument`,
	}, {
		name: "infinite cost",
		do:   rec("alice", authpool.Usage{CostUSD: math.Inf(1)}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.costUSD: amount +Inf is infinite: authpool: invalid argument`,
	}, {
		name: "huge cost",
		do:   rec("alice", authpool.Usage{CostUSD: 1e300}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.costUSD: amount 1e+300 is above the maximum of 1e+06: authpool: invalid argument`,
	}, {
		name: "negative tokens",
		do:   rec("alice", authpool.Usage{Tokens: authpool.Tokens{Input: -1}}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.tokens.input: -1 is outside 0..1099511627776: authpool: invalid argument`,
	}, {
		name: "huge tokens",
		do:   rec("alice", authpool.Usage{Tokens: authpool.Tokens{Output: 1 << 62}}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.tokens.output: 4611686018427387904 is outside 0..1099511627776: authpool: invalid argument`,
	}, {
		name: "usage without a time",
		do:   noTime,
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.time is zero: say when the request happened: authpool: invalid argument`,
	}, {
		name: "usage from the future",
		do:   rec("alice", authpool.Usage{Time: t0.Add(time.Hour), CostUSD: 1}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.time 2026-11-26 13:30:00 +0000 UTC is more than 5m0s after now (2026-11-26 12:30:00 +0000 UTC): authpool: invalid argument`,
	}, {
		name: "usage older than the week",
		do:   rec("alice", authpool.Usage{Time: t0.Add(-8 * 24 * time.Hour), CostUSD: 1}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record for client "alice": usage.time 2026-11-18 12:30:00 +0000 UTC is older than the week the pool keeps (since 2026-11-19 13:00:00 +0000 UTC): authpool: invalid argument`,
	}, {
		name:   "usage too old to tell apart",
		config: func(c *authpool.Config) { c.RememberUsageIDs = authpool.Duration(time.Hour) },
		do:     rec("alice", authpool.Usage{ID: "msg_old", Time: t0.Add(-2 * time.Hour), CostUSD: 1}),
		want:   authpool.ErrUsageTooOld,
		msg: `authpool: record for client "alice": usage "msg_old" at 2026-11-26T10:30:00Z is at or before 2026-11-26T11:30:00Z, ` +
			`the oldest usage time whose IDs the store still tells apart: it may have been counted already; ` +
			`to keep such IDs, raise Config.RememberUsageIDs (now 1h0m0s): authpool: usage older than the remembered usage IDs`,
	}, {
		name: "usage for an unknown subscription",
		do:   rec("alice", authpool.Usage{SubscriptionID: "nope", CostUSD: 1}),
		want: authpool.ErrNotFound,
		msg:  `authpool: record for client "alice": usage.subscriptionId "nope": authpool: subscription not found`,
	}, {
		name: "empty client ID: Allocate",
		do:   alloc(""),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: allocate: client ID is empty: authpool: invalid argument`,
	}, {
		name: "empty client ID: Record",
		do:   rec("", authpool.Usage{CostUSD: 1}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record: client ID is empty: authpool: invalid argument`,
	}, {
		name: "empty client ID: Release",
		do:   release(""),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: release: client ID is empty: authpool: invalid argument`,
	}, {
		name: "1 MB client ID: Allocate",
		do:   alloc(huge),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: allocate: client ID is 1048576 bytes long, more than 256: authpool: invalid argument`,
	}, {
		name: "1 MB client ID: Record",
		do:   rec(huge, authpool.Usage{CostUSD: 1}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: record: client ID is 1048576 bytes long, more than 256: authpool: invalid argument`,
	}, {
		name: "1 MB client ID: Release",
		do:   release(huge),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: release: client ID is 1048576 bytes long, more than 256: authpool: invalid argument`,
	}, {
		name: "client ID not UTF-8",
		do:   alloc("a\xffb"),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: allocate: client ID "a\xffb" is not valid UTF-8 (byte 1): authpool: invalid argument`,
	}, {
		name: "client ID with a control character",
		do:   alloc("a\nb"),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: allocate: client ID "a\nb" holds a control character (byte 1): authpool: invalid argument`,
	}, {
		name: "unknown client: Record",
		do:   rec("nobody", authpool.Usage{CostUSD: 1}),
		want: authpool.ErrUnknownClient,
		msg:  `authpool: record for client "nobody": authpool: unknown client`,
	}, {
		name: "unknown client: Release",
		do:   release("nobody"),
	}, {
		name: "update that sets no field",
		do:   update("s-a", authpool.SubscriptionUpdate{}),
		want: authpool.ErrInvalidConfig,
		msg: `update of subscription "s-a": the update sets no field: set at least one of name, kind, credential, ` +
			`credentialExpiresAt, maxClients, weeklyBudgetUSD, blockBudgetUSD`,
	}, {
		name: "update with bad fields",
		do: update("s-a", authpool.SubscriptionUpdate{Kind: ptr(authpool.Kind("ultra")), MaxClients: ptr(-1),
			WeeklyBudgetUSD: ptr(math.NaN()), Credential: ptr(authpool.Credential(""))}),
		want: authpool.ErrInvalidConfig,
		msg: "update of subscription \"s-a\": /kind: \"ultra\": must be pro, max5x, max20x or api\n" +
			"update of subscription \"s-a\": /credential: missing\n" +
			"update of subscription \"s-a\": /maxClients: -1: must be in 0..1073741824 (0 means the pool's default)\n" +
			"update of subscription \"s-a\": /weeklyBudgetUSD: NaN: must be in 0..1e+06",
	}, {
		name: "update of an unknown subscription",
		do:   update("nope", authpool.SubscriptionUpdate{MaxClients: ptr(2)}),
		want: authpool.ErrNotFound,
		msg:  `authpool: update subscription "nope": authpool: subscription not found`,
	}, {
		name: "update of the fallback",
		do:   update(authpool.FallbackID, authpool.SubscriptionUpdate{MaxClients: ptr(2)}),
		want: authpool.ErrInvalidArgument,
		msg:  `authpool: update subscription "fallback": the fallback comes from Config.Fallback: authpool: invalid argument`,
	}, {
		name: "reason quoting a credential, 1 MB long",
		do: func(p *authpool.Pool, clk *clock) error {
			return p.MarkLimited(ctx, "s-a", clk.Now().Add(time.Hour), "401 invalid x-api-key: "+secret+"-s-a "+huge)
		},
		changed: func(t *testing.T, before, after authpool.Snapshot) {
			r := status(t, after, "s-a").Status.Reason
			if !strings.HasPrefix(r, "401 invalid x-api-key: [REDACTED] xxx") || len(r) != bounds.MaxReasonLength || !strings.HasSuffix(r, "xx…") {
				t.Errorf("the reason kept is %d bytes: %.60q…; want %d, the credential redacted, cut with an ellipsis", len(r), r, bounds.MaxReasonLength)
			}
			if st := status(t, after, "s-a").Status; st.State != authpool.Limited {
				t.Errorf("s-a is %v, want limited", st.State)
			}
		},
	}, {
		name: "clock going backwards: Record before the last",
		do:   rec("alice", authpool.Usage{Time: t0.Add(-2 * time.Hour), CostUSD: 1}),
		changed: func(t *testing.T, before, after authpool.Snapshot) {
			// Counted: in the session and the week, not in the block
			// (12:00-17:00) it precedes; the session's last activity
			// does not go back.
			b, a := status(t, before, "s-a"), status(t, after, "s-a")
			if a.Week.CostUSD != b.Week.CostUSD+1 || a.Block.CostUSD != b.Block.CostUSD {
				t.Errorf("week $%v -> $%v, block $%v -> $%v; want the week +$1, the block the same",
					b.Week.CostUSD, a.Week.CostUSD, b.Block.CostUSD, a.Block.CostUSD)
			}
			bs, _ := session(before, "alice")
			as, _ := session(after, "alice")
			want := bs
			want.Requests, want.CostUSD = bs.Requests+1, bs.CostUSD+1
			if diff := cmp.Diff(want, as); diff != "" {
				t.Errorf("alice's session (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "clock going backwards: the pool's clock",
		do: func(p *authpool.Pool, clk *clock) error {
			clk.Set(t0.Add(-time.Hour))
			a, err := p.Allocate(ctx, "alice")
			if err == nil && (a.SubscriptionID != "s-a" || a.Outcome != authpool.OutcomeSticky) {
				t.Errorf("Allocate(alice) after the clock went back: %+v; want sticky on s-a", a)
			}
			return err
		},
		changed: func(t *testing.T, before, after authpool.Snapshot) {
			// The same pool, seen an hour earlier: the session's last
			// activity does not go back, nothing is counted.
			bs, _ := session(before, "alice")
			as, _ := session(after, "alice")
			if diff := cmp.Diff(bs, as); diff != "" {
				t.Errorf("alice's session (-before +after):\n%s", diff)
			}
			b, a := status(t, before, "s-a"), status(t, after, "s-a")
			if a.Week.CostUSD != b.Week.CostUSD || a.Clients != b.Clients {
				t.Errorf("s-a: week $%v -> $%v, clients %d -> %d; want the same", b.Week.CostUSD, a.Week.CostUSD, b.Clients, a.Clients)
			}
		},
	}}
	names := []string{}
	for _, tt := range tests {
		names = append(names, tt.name)
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			cfg := subs(sub("s-a", budgets(100, 20)))
			if tt.config != nil {
				tt.config(&cfg)
			}
			p := newPool(t, cfg, clk)
			allocate(t, p, "alice")
			spend(t, p, clk, "alice", 1)
			before := snapshot(t, p)

			err := tt.do(p, clk)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("error %v; want none", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("error %v; want one matching %v", err, tt.want)
			case err != nil && err.Error() != tt.msg:
				t.Errorf("error\n%s\nwant\n%s", err, tt.msg)
			}

			clk.Set(t0) // the snapshots are compared at the same instant
			after := snapshot(t, p)
			if tt.changed != nil {
				tt.changed(t, before, after)
			} else if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the pool changed (-before +after):\n%s", diff)
			}
		})
	}
	inBadInputDoc(t, names...)
}

// inBadInputDoc fails t for each name that is not a row of the table in
// docs/bad-input.md.
func inBadInputDoc(t *testing.T, names ...string) {
	t.Helper()
	b, err := os.ReadFile("docs/bad-input.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(b), "\n| "+name+" | ") {
			t.Errorf("docs/bad-input.md has no row %q", name)
		}
	}
}
