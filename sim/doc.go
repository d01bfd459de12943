// Package sim answers "how many subscriptions do I need?" and "how does
// authpool compare with its peers?": it replays a workload through a real
// authpool.Pool on a virtual clock — or through a model of a peer's policy
// — a week in a second or two, and measures what users feel and operators
// watch.
//
// # The model
//
// A [Workload] is fixed before the pool runs: sessions (each a pool client)
// and their requests, each with a time, a cost and the session's context
// size. [Synthetic.Generate] draws one from distributions (Poisson
// arrivals shaped by the working week, log-normal session lengths, bursts
// and pauses within a session, log-normal costs, contexts that grow with
// each request; [Standard] is the standard workload), and [ReadTrace]
// reads one from Claude Code transcripts. Every size and policy of a
// [Sweep] replays the same requests.
//
// [Run] drives an [Allocator] — the policy under test: a real
// authpool.Pool (memstore, WithClock on the virtual clock), or one of the
// [Peers] — with a discrete-event loop: a heap of events (a session's next
// request, a session's end, the host's tick) handled in time order, ties in
// a fixed order, so a run is deterministic. For each request it plays the
// host: ask the allocator where it goes, send it to the simulated upstream,
// report what it cost. The upstream (one per subscription) keeps
// Anthropic's side of the account: its own 5-hour windows (anchored at the
// first request, as Claude's are) and week, with limits that are the
// [Plan]'s times a noise factor ([Scenario].LimitNoise), since the pool's
// budgets are only an estimate of the real limits. Past a limit the
// upstream answers 429 with its window's reset: the host tells the
// allocator (the pool's MarkLimited) and asks again, a failover. The
// fallback API key has a spending cap per UTC day. A prompt cache belongs
// to an account: a session moved while its cache is warm writes its
// context to the new account's cache, at the model's cache-write price
// rather than its cache-read price, and that is added to the request's
// cost. Every RebalanceEvery (a minute) the host ticks the allocator: the
// pool's Snapshot, then Rebalance.
//
// # The metrics
//
// Each is defined exactly on its [Result] field: requests served by
// subscriptions and by the fallback, and refused (client-visible 429s);
// the money spent on the fallback; cache continuity and what broken caches
// cost; prepaid capacity left unused at the weekly resets; how much of the
// gap between the subscriptions' block shares is gone a tick later; the
// cost spread; the failover rate; the hours limited; and, for the pool,
// its own average health, reported only. [DefaultTargets] returns the
// production targets of the design authpool replaces; [WriteTable],
// [WriteJSON] and [WriteSVG] show the runs and which meet them.
package sim
