package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ExampleNewCollector registers a pool's collector with a registry and
// serves it at /metrics, where Prometheus scrapes it.
func ExampleNewCollector() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	pool, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
		},
	}, authpool.WithClock(func() time.Time { return now })) // the default clock is time.Now
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(pool, metrics.WithTimeout(2*time.Second)))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux) // in a service: http.ListenAndServe(addr, mux)
	defer srv.Close()

	for range 3 {
		if _, err := pool.Allocate(ctx, "alice"); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := pool.Record(ctx, "alice", authpool.Usage{ID: "msg_1", Time: now, CostUSD: 35}); err != nil {
		fmt.Println(err)
		return
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if line := lines.Text(); strings.HasPrefix(line, "authpool_allocations_total") ||
			strings.HasPrefix(line, "authpool_subscription_used_ratio") || strings.HasPrefix(line, "authpool_up") {
			fmt.Println(line)
		}
	}
	// Output:
	// authpool_allocations_total{outcome="exhausted"} 0
	// authpool_allocations_total{outcome="fallback"} 0
	// authpool_allocations_total{outcome="moved"} 0
	// authpool_allocations_total{outcome="new"} 1
	// authpool_allocations_total{outcome="sticky"} 2
	// authpool_subscription_used_ratio{subscription="max-a",window="block"} 0.25
	// authpool_subscription_used_ratio{subscription="max-a",window="week"} 0.035
	// authpool_up 1
}

// ExampleWithCallers adds the metrics of a proxy's stored callers: their
// spending per window, their caps and the proxy's refusals.
func ExampleWithCallers() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := memstore.New() // the store the pool and the proxy share
	pool, err := authpool.New(ctx, authpool.Config{
		Subscriptions: []authpool.Subscription{{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a"}},
	}, authpool.WithStore(st), authpool.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(ctx)
	_ = st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: proxy.HashCallerKey("apk-example"), Cap: 20e9, Created: now})
	_, _ = st.ChargeCaller(ctx, "ci", store.Charge{At: now, Cost: 5e9, Session: "build-7"})

	// A server gives the Source its proxy's refusals: Refusals: px.CallerRefusals.
	callers := &callerreport.Source{Store: st, Now: clock}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(pool, metrics.WithCallers(callers)))
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		if mf.GetName() != "authpool_caller_cost_usd" && mf.GetName() != "authpool_caller_cap_used_ratio" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			fmt.Println(mf.GetName(), strings.Join(labels, " "), m.GetGauge().GetValue())
		}
	}
	// Output:
	// authpool_caller_cap_used_ratio caller=ci 0.25
	// authpool_caller_cost_usd caller=ci window=5h 5
	// authpool_caller_cost_usd caller=ci window=cap 5
	// authpool_caller_cost_usd caller=ci window=day 5
	// authpool_caller_cost_usd caller=ci window=week 5
}
