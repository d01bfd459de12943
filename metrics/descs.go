package metrics

import "github.com/prometheus/client_golang/prometheus"

// descs are the descriptors of the Collector's metrics.
type descs struct {
	// The scrape's own.
	up, snapshotErrors *prometheus.Desc
	// Per subscription (label subscription), from the snapshot.
	info, health, healthTerm, clients, activeClients, maxClients, eligible, status, limitedUntil, burnRate, lastActive *prometheus.Desc
	// Per subscription and window (labels subscription, window).
	cost, requests, tokens, used, budget, reset, exhaustion *prometheus.Desc
	// The pool's counters, from Stats.
	allocations, records, duplicates, tooOld, estimated, moves, staleReleases, storeErrors, storeRestores *prometheus.Desc
	// The notifications', from Stats.
	events, deliveries, drops, eventDuplicates, waiting *prometheus.Desc
	// The callers', described and sent only WithCallers.
	callers callerDescs
}

// descFunc makes a descriptor named authpool_<name>, with the labels given.
type descFunc func(name, help string, labels ...string) *prometheus.Desc

// newDescs returns the descriptors, with the constant labels l.
func newDescs(l prometheus.Labels) descs {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("authpool_"+name, help, labels, l)
	}
	var d descs
	d.up = desc("up", "Whether the last scrape read the pool's snapshot (1) or failed to (0).")
	d.snapshotErrors = desc("snapshot_errors_total",
		"Scrapes that failed to read the pool's snapshot: the store failed or timed out, or the pool was closed.")
	d.subscriptionDescs(desc)
	d.windowDescs(desc)
	d.poolDescs(desc)
	d.notificationDescs(desc)
	d.callers = newCallerDescs(desc)
	return d
}

// subscriptionDescs sets the descriptors of the per-subscription metrics.
func (d *descs) subscriptionDescs(desc descFunc) {
	sub := []string{"subscription"}
	d.info = desc("subscription_info", "A subscription's name and kind; always 1. The fallback's subscription is \"fallback\".",
		"subscription", "name", "kind")
	d.health = desc("subscription_health", "A subscription's health score, 0 (worst) to 100 (best).", sub...)
	d.healthTerm = desc("subscription_health_term",
		"A term of a subscription's health, in points: the penalties of the week's and the block's use, of the "+
			"clients holding a slot and of the burn rate (0 or less), and the idle bonus (0 or more). The health "+
			"is 100 plus their sum, clamped to 0..100.", "subscription", "term")
	d.clients = desc("subscription_clients", "The sessions of a subscription's clients, holding a slot or not.", sub...)
	d.activeClients = desc("subscription_active_clients",
		"The clients holding a slot of a subscription: active within the idle time, or within the prompt "+
			"cache's time to live their last request wrote. Its maximum caps them.", sub...)
	d.maxClients = desc("subscription_max_clients",
		"The most clients that may hold a slot of a subscription at once; absent when it has no maximum (the fallback).", sub...)
	d.eligible = desc("subscription_eligible", "Whether a subscription takes new clients (1) or not (0).", sub...)
	d.status = desc("subscription_status",
		"A subscription's status: 1 for the one it is in (active, limited, disabled), 0 for the others. "+
			"A limit whose time has passed shows as active.", "subscription", "status")
	d.limitedUntil = desc("subscription_limited_until_timestamp_seconds",
		"When a limited subscription returns to service, as a Unix time; absent unless limited.", sub...)
	d.burnRate = desc("subscription_burn_rate_usd_per_second",
		"A subscription's spending over the last 60 minutes (to the minute), in US dollars per second.", sub...)
	d.lastActive = desc("subscription_last_active_timestamp_seconds",
		"When a client of the subscription was last active, as a Unix time; absent if never.", sub...)
}

// windowDescs sets the descriptors of the per-window metrics.
func (d *descs) windowDescs(desc descFunc) {
	win := []string{"subscription", "window"}
	d.cost = desc("subscription_cost_usd",
		"What the pool recorded in a subscription's window (block: the 5-hour block; week: the rolling 7 days; "+
			"day: the fallback's UTC day), in US dollars.", win...)
	d.requests = desc("subscription_requests",
		"The requests the pool recorded in a subscription's window.", win...)
	d.tokens = desc("subscription_tokens",
		"The tokens of the requests the pool recorded in a subscription's window, by kind: input, output, "+
			"cache_write, cache_read.", "subscription", "window", "kind")
	d.used = desc("subscription_used_ratio",
		"The share of a window's budget used, 0 to 1 (may pass 1): cost over budget, or what the upstream "+
			"reported when that is more; absent when the window has neither a budget nor a report.", win...)
	d.budget = desc("subscription_budget_usd", "A window's budget in US dollars; absent when the window has none.", win...)
	d.reset = desc("subscription_reset_timestamp_seconds",
		"When a subscription's block or day ends and its use starts again from zero, as a Unix time; absent "+
			"when no block is running (anchored blocks) and for the rolling week.", win...)
	d.exhaustion = desc("subscription_exhaustion_timestamp_seconds",
		"When a window's budget runs out if spending goes on at the burn rate, as a Unix time; absent if it "+
			"does not run out before the window ends, or for the rolling week before its older spending leaves it "+
			"(not at this rate).", win...)
}

// poolDescs sets the descriptors of the pool's counters.
func (d *descs) poolDescs(desc descFunc) {
	d.allocations = desc("allocations_total",
		"Allocate's answers by outcome: sticky, new, moved, fallback, or refused as exhausted.",
		"outcome")
	d.records = desc("records_total", "Usages counted by Record and Charge.")
	d.duplicates = desc("records_deduplicated_total",
		"Usages Record and Charge refused as already recorded (a retried request, billed once).")
	d.tooOld = desc("records_too_old_total",
		"Usages Record and Charge refused as too old to tell from one already counted and forgotten (ErrUsageTooOld; see Config.UsageIDMemoryMiB).")
	d.estimated = desc("records_estimated_total",
		"Usages counted by Record and Charge at an estimated cost: their model had no price of its own (Usage.PricedAs).")
	d.moves = desc("rebalance_moves_total", "Idle clients Rebalance moved to a subscription with more room.")
	d.staleReleases = desc("rebalance_stale_releases_total", "Stale sessions Rebalance released.")
	d.storeErrors = desc("store_errors_total",
		"Store calls that failed (not the store's answers such as full or not found, nor cancelled calls).")
	d.storeRestores = desc("store_restores_total",
		"Times the pool found its store holding no subscription (a Redis that came back empty) and wrote the Config's again.")
}

// notificationDescs sets the descriptors of the notifications' metrics.
func (d *descs) notificationDescs(desc descFunc) {
	d.events = desc("notification_events_total", "Events queued for delivery to the notifiers.")
	d.deliveries = desc("notification_deliveries_total",
		"Deliveries of events to notifiers (one per event and notifier), by result: delivered or failed.",
		"result")
	d.drops = desc("notification_drops_total",
		"Events lost because a queue was full (one per notifier that lost it) or the pool closed first.")
	d.eventDuplicates = desc("notification_deduplicated_total",
		"Events not sent because another pool sharing the store had already reported them.")
	d.waiting = desc("notification_queue_length", "Deliveries waiting in the notification queues.")
}

// all returns every descriptor but the callers'.
func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.up, d.snapshotErrors,
		d.info, d.health, d.healthTerm, d.clients, d.activeClients, d.maxClients, d.eligible, d.status, d.limitedUntil, d.burnRate,
		d.lastActive,
		d.cost, d.requests, d.tokens, d.used, d.budget, d.reset, d.exhaustion,
		d.allocations, d.records, d.duplicates, d.tooOld, d.estimated, d.moves, d.staleReleases, d.storeErrors, d.storeRestores,
		d.events, d.deliveries, d.drops, d.eventDuplicates, d.waiting,
	}
}
