// Package metrics exports an authpool.Pool to Prometheus: a
// prometheus.Collector whose gauges come from one snapshot per scrape
// (each subscription's health, clients and those holding a slot, status,
// block, weekly and daily use
// and budget, when they reset and when they run out) and whose counters come
// from Pool.Stats (allocations by outcome, records, rebalancing, store
// errors, notifications).
//
// The snapshot leaves out the sessions (authpool.WithoutSessions), which no
// metric needs, so a scrape reads the store's subscriptions and never its
// sessions: its cost grows with the subscriptions, not the clients
// (BenchmarkScrape measures one scrape of 100 subscriptions holding 10,000
// sessions; docs/performance.md has the figures).
//
// Money is in US dollars, with the suffix _usd as in the pool's own fields
// (CostUSD, BudgetUSD); times are Unix timestamps in seconds
// (_timestamp_seconds), so that "time to reset" is a query away:
// authpool_subscription_reset_timestamp_seconds - time(). Labels name
// subscriptions, windows, states and outcomes, never clients: the number of
// series grows with the subscriptions only. WithCallers adds a proxy's
// stored callers (label caller), which an operator makes one by one: a few
// series each, for at most callerreport.MaxReports callers.
//
// Only this package imports github.com/prometheus/client_golang; package
// authpool does not.
package metrics
