// Package authpool shares several Claude subscriptions (Pro, Max, API keys)
// among many clients.
//
// A [Pool] picks a subscription for each client and keeps the client there
// while it works, so the prompt cache stays warm; counts every request's cost
// against the subscription's 5-hour block and rolling week; steers new and
// idle clients to the healthiest subscription; takes a limited subscription
// out of service until its limit resets; and falls back to a plain API key,
// with its own daily cap, when every subscription is spent.
//
// # Quick start
//
//	p, err := authpool.New(ctx, authpool.Config{
//		Subscriptions: []authpool.Subscription{
//			{ID: "max-a", Kind: authpool.KindMax20x, Credential: tokenA, WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
//			{ID: "max-b", Kind: authpool.KindMax5x, Credential: tokenB, WeeklyBudgetUSD: 250, BlockBudgetUSD: 35},
//		},
//		Fallback: &authpool.Fallback{Credential: apiKey, DailyBudgetUSD: 50},
//	})
//	...
//	a, err := p.Allocate(ctx, clientID) // sticky; else healthiest; else fallback; else ErrExhausted
//	... call Claude with a.Credential.Reveal() ...
//	err = p.Record(ctx, clientID, authpool.Usage{ID: msgID, Time: t, CostUSD: cost, Tokens: tokens, Model: model})
//	err = p.Release(ctx, clientID) // when the client is done
//
// and, on the host's own ticker (the pool keeps no timer of its own):
//
//	report, err := p.Rebalance(ctx) // moves idle clients off dear blocks, releases stale sessions
//
// # Windows and health
//
// Usage is kept per subscription in hourly buckets, never as a list of
// requests: a subscription's state has the same size however much it
// records. A 5-hour block starts on the hour, either at the first activity
// after the previous block ended (what Claude does) or on a fixed UTC grid
// ([BlockPolicy].Fixed); the week is the last 168 hourly buckets.
// Beside them, the cost of each of the last 60 minutes gives the burn rate:
// the spending of the last 60 minutes, exact to the minute.
//
// A subscription's health (0 to 100) is a pure function of its numbers:
//
//	100 - 50*week share - 30*block share - 5*clients - burn penalty + idle bonus
//
// (see [HealthWeights]). Allocate prefers the healthiest eligible
// subscription; Snapshot reports health and its terms, use, requests and
// tokens per window, the burn rate and the time at which each budget runs
// out at that rate (a rolling week within the week, or not at this rate).
//
// # Stores
//
// The pool keeps its state in a [store.Store]: [memstore] (the default) for
// one process, or a shared store for several. Selection reads a picture of
// the subscriptions at most Config.RefreshInterval old; capacity and status
// are checked by the store atomically, so limits hold across processes:
// package redisstore shares one pool among processes through Redis. With
// [WithSealer] the store holds credentials sealed (AES-256-GCM, package
// [seal]), never in clear; [Pool.UpdateCredential] replaces one, for every
// process, without moving a client. With [WithRefresher] the pool refreshes
// OAuth tokens before they expire (Subscription.CredentialExpiresAt), from
// [Pool.Rebalance] or [Pool.RefreshCredentials]: one pool among those
// sharing the store calls the host's [RefreshFunc] per token and expiry.
//
// # Config files and notifications
//
// A [Config] is a Go value; package configfile reads one from a JSON file
// (checked against a JSON schema, its secrets read from the environment or
// files), with the webhooks the file names. Events go to the log of
// Config.Notify and to each [Notifier] given with [WithNotifier]: package
// webhook's signed POSTs among them.
//
// # Time
//
// Every computation takes its time from one clock, [WithClock], so tests and
// simulations step through weeks in microseconds.
//
// # Errors
//
// Errors wrap the package's sentinels ([ErrExhausted], [ErrUnknownClient],
// [ErrInvalidArgument], ...); test for them with errors.Is. Bad input is refused
// with an error that names the field and the value, and changes nothing.
// Credentials never appear in errors, logs, JSON or fmt output: a
// [Credential] prints as [REDACTED].
package authpool
