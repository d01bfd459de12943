package metrics

import (
	"context"
	"sync/atomic"

	"github.com/authpool/authpool/callerreport"
	"github.com/prometheus/client_golang/prometheus"
)

// CallerSource gives a Collector the reports of a proxy's callers kept in
// a store: *callerreport.Source is one.
type CallerSource interface {
	Reports(ctx context.Context) ([]callerreport.Report, error)
}

// WithCallers adds the metrics of a proxy's stored callers, read from src
// once per scrape (under the scrape's timeout): per caller and window
// (cap, 5h, day, week) its cost and requests, its cap and the share used,
// and the requests the proxy refused it by reason. Callers are few — an
// operator makes each — and their series are bounded: at most
// callerreport.MaxReports callers, the first by ID, ten series each and
// one per refusal reason met. A scrape whose reports fail counts
// authpool_caller_report_errors_total and sends no caller series; the
// pool's are sent all the same. Without this option a Collector has no
// caller metric.
func WithCallers(src CallerSource) Option {
	return func(c *Collector) { c.callers = &callerMetrics{src: src} }
}

// callerMetrics is what a Collector knows of the callers.
type callerMetrics struct {
	src      CallerSource
	failures atomic.Int64 // reports that failed
}

// callerDescs are the descriptors of the callers' metrics.
type callerDescs struct {
	cost, requests, capUSD, capUsed, refusals, errors *prometheus.Desc
}

func newCallerDescs(desc descFunc) callerDescs {
	win := []string{"caller", "window"}
	return callerDescs{
		cost: desc("caller_cost_usd",
			"What a proxy's stored caller spent in a window (cap: its cap's window, when it has a cap; 5h: the "+
				"last 5 hours; day: the UTC day; week: the last 7 days), in whole hours up to now, in US dollars.", win...),
		requests: desc("caller_requests", "The requests of a stored caller charged in a window.", win...),
		capUSD:   desc("caller_cap_usd", "A stored caller's cap over its cap window, in US dollars; absent without a cap.", "caller"),
		capUsed: desc("caller_cap_used_ratio",
			"The share of a stored caller's cap spent in its window, 0 to 1 (may pass 1); at 1 its requests are refused.", "caller"),
		refusals: desc("caller_refusals_total",
			"Requests of a caller this proxy refused since it started, by reason: capped, cap_busy, rate_limited, "+
				"exhausted, too_large, ...", "caller", "reason"),
		errors: desc("caller_report_errors_total", "Scrapes that failed to read the stored callers' reports."),
	}
}

func (d callerDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.cost, d.requests, d.capUSD, d.capUsed, d.refusals, d.errors}
}

// collectCallers sends the callers' metrics, read under ctx.
func (c *Collector) collectCallers(ctx context.Context, ch chan<- prometheus.Metric) {
	m, d := c.callers, &c.descs.callers
	reports, err := m.src.Reports(ctx)
	if err != nil {
		m.failures.Add(1)
	}
	ch <- prometheus.MustNewConstMetric(d.errors, prometheus.CounterValue, float64(m.failures.Load()))
	if err != nil {
		return
	}
	seen := make(map[string]bool, len(reports))
	for _, r := range reports[:min(len(reports), callerreport.MaxReports)] {
		if seen[r.ID] {
			continue // a registry refuses a series twice in a scrape
		}
		seen[r.ID] = true
		gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{r.ID}, labels...)...)
		}
		for _, w := range r.Windows {
			gauge(d.cost, w.CostUSD, w.Name)
			gauge(d.requests, float64(w.Requests), w.Name)
		}
		if r.Cap != nil {
			gauge(d.capUSD, r.Cap.USD)
			gauge(d.capUsed, r.Cap.Share)
		}
		for reason, n := range r.Refusals {
			ch <- prometheus.MustNewConstMetric(d.refusals, prometheus.CounterValue, float64(n), r.ID, reason)
		}
	}
}
