// Package sim answers "how many subscriptions do I need?": it replays a
// workload through a real authpool.Pool on a virtual clock, a week in a
// second or two, and measures what operators watch.
//
// # The model
//
// A [Workload] is fixed before the pool runs: sessions (each a pool client)
// and their requests, each with a time and a cost. [Synthetic.Generate]
// draws one from distributions (Poisson arrivals shaped by the working
// week, log-normal session lengths, bursts and pauses within a session,
// log-normal costs; [Standard] is the standard workload), and [ReadTrace]
// reads one from Claude Code transcripts. Every size and policy of a
// [Sweep] replays the same requests.
//
// [Run] drives an authpool.Pool (memstore, WithClock on the virtual clock)
// with a discrete-event loop: a heap of events (a session's next request,
// a session's end, the host's Rebalance tick) handled in time order, ties
// in a fixed order, so a run is deterministic. For each request it plays
// the host: Allocate, send the request to the simulated upstream, Record
// its cost. The upstream (one per subscription) keeps Anthropic's side of
// the account: its own 5-hour windows (anchored at the first request, as
// Claude's are) and week, with limits that are the [Plan]'s times a noise
// factor ([Scenario].LimitNoise), since the pool's budgets are only an
// estimate of the real limits. Past a limit the upstream answers 429: the
// host calls MarkLimited until the window ends and allocates again, a
// failover. Every RebalanceEvery (a minute) the host takes a Snapshot, then
// calls Rebalance.
//
// # The metrics
//
// Each is defined exactly on its [Result] field: the success rate (requests
// served by a subscription or the fallback), the average health (the
// pool's own Snapshot health, averaged over subscriptions and over the
// whole week), the cost spread (the coefficient of variation of what each
// subscription served), the share of gaps closed by rebalancing (of the
// Rebalance calls that found an idle client on a block at least [GapUSD]
// poorer in room than an eligible one, those that moved one), the failover
// rate, the hours limited and the money spent on the fallback.
// [DefaultTargets] returns the production targets of the design authpool
// replaces; [WriteTable] and [WriteSVG] show which runs meet them.
package sim
