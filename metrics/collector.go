package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultTimeout is how long a scrape waits for the pool's snapshot by
// default.
const DefaultTimeout = 5 * time.Second

// Collector is a prometheus.Collector of one Pool: register it with a
// prometheus.Registerer. Each scrape takes one snapshot of the pool
// without its sessions (Pool.Snapshot and authpool.WithoutSessions:
// one read of the store's subscriptions, however many clients there are)
// for the gauges, and reads Pool.Stats for the counters. A
// failed snapshot (a store down, a closed pool) is counted in
// authpool_snapshot_errors_total and sets authpool_up to 0; the counters
// are reported all the same, the gauges of that scrape are not. A Collector
// is safe for concurrent use.
type Collector struct {
	pool     *authpool.Pool
	timeout  time.Duration
	failures atomic.Int64   // snapshots that failed
	callers  *callerMetrics // nil without WithCallers

	descs descs
}

// Option configures a Collector.
type Option func(*Collector)

// WithTimeout bounds how long a scrape waits for the pool's snapshot: past
// it the scrape reports the snapshot failed. The default is DefaultTimeout.
// A d of 0 or less leaves the default.
func WithTimeout(d time.Duration) Option {
	return func(c *Collector) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithConstLabels adds labels to every metric, e.g. {"pool": "eu"} to tell
// apart several pools registered with one registry.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *Collector) { c.descs = newDescs(l) }
}

// NewCollector returns a Collector of p.
func NewCollector(p *authpool.Pool, opts ...Option) *Collector {
	c := &Collector{pool: p, timeout: DefaultTimeout, descs: newDescs(nil)}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Describe sends the descriptors of every metric the Collector may report.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs.all() {
		ch <- d
	}
	if c.callers != nil {
		for _, d := range c.descs.callers.all() {
			ch <- d
		}
	}
}

// Collect takes a snapshot of the pool and sends its metrics, and the
// callers' when it has them (WithCallers).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	snap, err := c.pool.Snapshot(ctx, authpool.WithoutSessions())
	up := 1.0
	if err != nil {
		c.failures.Add(1)
		up = 0
	} else {
		c.collectSnapshot(ch, snap)
	}
	d := &c.descs
	ch <- prometheus.MustNewConstMetric(d.up, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(d.snapshotErrors, prometheus.CounterValue, float64(c.failures.Load()))
	c.collectStats(ch, c.pool.Stats())
	if c.callers != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		c.collectCallers(ctx, ch)
	}
}

// collectSnapshot sends the gauges of every subscription and the fallback.
func (c *Collector) collectSnapshot(ch chan<- prometheus.Metric, snap authpool.Snapshot) {
	for _, st := range snap.Subscriptions {
		c.collectSubscription(ch, st)
	}
	if snap.Fallback != nil {
		c.collectSubscription(ch, *snap.Fallback)
	}
}

// states are the values of the status label, in order.
var states = [...]authpool.State{authpool.Active, authpool.Limited, authpool.Disabled}

// collectSubscription sends one subscription's gauges.
func (c *Collector) collectSubscription(ch chan<- prometheus.Metric, st authpool.SubscriptionStatus) {
	d := &c.descs
	id := st.ID
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{id}, labels...)...)
	}
	timestamp := func(desc *prometheus.Desc, t time.Time, labels ...string) {
		if !t.IsZero() {
			gauge(desc, seconds(t), labels...)
		}
	}
	gauge(d.info, 1, st.Name, string(st.Kind))
	gauge(d.health, st.Health)
	for _, t := range []struct {
		term   string
		points float64
	}{
		{"weekly", st.HealthTerms.Weekly}, {"block", st.HealthTerms.Block}, {"clients", st.HealthTerms.Clients},
		{"burn", st.HealthTerms.Burn}, {"idle", st.HealthTerms.Idle},
	} {
		gauge(d.healthTerm, t.points, t.term)
	}
	gauge(d.clients, float64(st.Clients))
	gauge(d.activeClients, float64(st.ActiveClients))
	if st.MaxClients > 0 {
		gauge(d.maxClients, float64(st.MaxClients))
	}
	gauge(d.eligible, boolean(st.Eligible))
	for _, s := range states {
		gauge(d.status, boolean(st.Status.State == s), s.String())
	}
	if st.Status.State == authpool.Limited {
		timestamp(d.limitedUntil, st.Status.Until)
	}
	gauge(d.burnRate, st.BurnRateUSDPerHour/3600)
	timestamp(d.lastActive, st.LastActive)
	windows := []struct {
		name string
		w    *authpool.UsageWindow
		// resets is whether the window ends at a reset: the rolling week
		// does not.
		resets bool
	}{{"block", &st.Block, true}, {"week", &st.Week, false}, {"day", st.Day, true}}
	for _, w := range windows {
		if w.w == nil {
			continue
		}
		gauge(d.cost, w.w.CostUSD, w.name)
		gauge(d.requests, float64(w.w.Requests), w.name)
		for _, k := range []struct {
			kind string
			n    int64
		}{
			{"input", w.w.Tokens.Input}, {"output", w.w.Tokens.Output},
			{"cache_write", w.w.Tokens.CacheWrite}, {"cache_read", w.w.Tokens.CacheRead},
		} {
			gauge(d.tokens, float64(k.n), w.name, k.kind)
		}
		if w.w.BudgetUSD > 0 || w.w.ReportedPercent > 0 {
			gauge(d.used, w.w.Percent/100, w.name)
		}
		if w.w.BudgetUSD > 0 {
			gauge(d.budget, w.w.BudgetUSD, w.name)
		}
		if w.resets && w.w.Active {
			timestamp(d.reset, w.w.End, w.name)
		}
		timestamp(d.exhaustion, w.w.ExhaustsAt, w.name)
	}
}

// collectStats sends the pool's counters.
func (c *Collector) collectStats(ch chan<- prometheus.Metric, s authpool.Stats) {
	d := &c.descs
	counter := func(desc *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	for _, o := range []authpool.Outcome{authpool.OutcomeSticky, authpool.OutcomeNew, authpool.OutcomeMoved, authpool.OutcomeFallback} {
		counter(d.allocations, s.Allocations[o], o.String())
	}
	counter(d.allocations, s.Exhausted, "exhausted")
	counter(d.records, s.Records)
	counter(d.duplicates, s.DuplicateRecords)
	counter(d.tooOld, s.TooOldRecords)
	counter(d.estimated, s.EstimatedUsages)
	counter(d.moves, s.RebalanceMoves)
	counter(d.staleReleases, s.StaleReleases)
	counter(d.storeErrors, s.StoreErrors)
	counter(d.storeRestores, s.StoreRestores)
	n := s.Notifications
	counter(d.events, n.Emitted)
	counter(d.deliveries, n.Delivered, "delivered")
	counter(d.deliveries, n.Failed, "failed")
	counter(d.drops, n.Dropped)
	counter(d.eventDuplicates, n.Deduplicated)
	ch <- prometheus.MustNewConstMetric(d.waiting, prometheus.GaugeValue, float64(n.Waiting))
}

// seconds returns t as a Unix timestamp in seconds.
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
