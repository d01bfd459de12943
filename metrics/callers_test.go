package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/store"
)

// callerNames are the callers' metrics.
var callerNames = []string{
	"authpool_caller_cost_usd", "authpool_caller_requests", "authpool_caller_cap_usd", "authpool_caller_cap_used_ratio",
	"authpool_caller_refusals_total", "authpool_caller_report_errors_total",
}

// callerSource returns the callers of a store at t0 + 30 min (13:00), the
// scenario pool's time: ci, capped at $20 over 5 hours, spent $4 at 9:10
// and $6 at 12:40, and $2.50 two days ago; ops, capped at $1 over 2 hours,
// spent $1.20 at 12:50; free, without a cap, 10 cents at 12:55. The proxy
// refused ci twice for its rate and ops three times for its cap.
func callerSource(t *testing.T) *callerreport.Source {
	t.Helper()
	ctx := t.Context()
	st := memstore.New()
	for i, c := range []store.Caller{{ID: "ci", Cap: 20e9}, {ID: "ops", Cap: 1e9, CapWindowHours: 2}, {ID: "free"}} {
		c.KeyHash[0], c.Created = byte(i+1), t0.AddDate(0, -1, 0)
		if err := st.CreateCaller(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, 26+d, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		id   string
		at   time.Time
		cost store.Nanodollars
	}{{"ci", day(0, 9, 10), 4e9}, {"ci", day(0, 12, 40), 6e9}, {"ci", day(-2, 17, 0), 2.5e9}, {"ops", day(0, 12, 50), 1.2e9},
		{"free", day(0, 12, 55), 0.1e9}} {
		if _, err := st.ChargeCaller(ctx, c.id, store.Charge{At: c.at, Cost: c.cost, Session: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	return &callerreport.Source{Store: st, Now: func() time.Time { return t0.Add(30 * time.Minute) },
		Refusals: func() []callerreport.Refusal {
			return []callerreport.Refusal{{Caller: "ci", Reason: "rate_limited", Count: 2}, {Caller: "ops", Reason: "capped", Count: 3}}
		}}
}

// TestCollectorCallersGolden: the callers' series of a scrape, in
// testdata/collect_callers.golden.prom (go test -update rewrites it).
func TestCollectorCallersGolden(t *testing.T) {
	p, _ := scenarioPool(t)
	c := metrics.NewCollector(p, metrics.WithCallers(callerSource(t)))
	golden := filepath.Join("testdata", "collect_callers.golden.prom")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), "authpool_caller_") {
				if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(c, f, callerNames...); err != nil {
		t.Errorf("the callers' series differ from %s (go test -update rewrites it):\n%v", golden, err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
}

// TestCollectorCallersSeries counts each caller metric's series: a window
// per caller (and the cap's for the capped), the cap's for the capped, a
// refusal per reason counted. A pedantic registry checks that each was
// described. Without WithCallers there is none, and the pool's series are
// as they were.
func TestCollectorCallersSeries(t *testing.T) {
	p, _ := scenarioPool(t)
	with, without := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	with.MustRegister(metrics.NewCollector(p, metrics.WithCallers(callerSource(t))))
	without.MustRegister(metrics.NewCollector(p))
	for _, tt := range []struct {
		metric      string
		with, alone int
	}{
		{"authpool_caller_cost_usd", 11, 0}, // cap, 5h, day, week of ci and ops; 5h, day, week of free
		{"authpool_caller_requests", 11, 0},
		{"authpool_caller_cap_usd", 2, 0},
		{"authpool_caller_cap_used_ratio", 2, 0},
		{"authpool_caller_refusals_total", 2, 0},
		{"authpool_caller_report_errors_total", 1, 0},
		{"authpool_subscription_info", 3, 3},
	} {
		for _, r := range []struct {
			reg  *prometheus.Registry
			want int
			name string
		}{{with, tt.with, "WithCallers"}, {without, tt.alone, "without"}} {
			got, err := testutil.GatherAndCount(r.reg, tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			if got != r.want {
				t.Errorf("%s, %s: %d series, want %d", r.name, tt.metric, got, r.want)
			}
		}
	}
	described := func(c prometheus.Collector) int {
		ch := make(chan *prometheus.Desc, 100)
		c.Describe(ch)
		close(ch)
		return len(ch)
	}
	if a, b := described(metrics.NewCollector(p)), described(metrics.NewCollector(p, metrics.WithCallers(callerSource(t)))); b != a+len(callerNames) {
		t.Errorf("described: %d without callers, %d with; want %d more", a, b, len(callerNames))
	}
}

// reportsFunc is a CallerSource of a function.
type reportsFunc func(context.Context) ([]callerreport.Report, error)

func (f reportsFunc) Reports(ctx context.Context) ([]callerreport.Report, error) { return f(ctx) }

// TestCollectorCallersFail: reports that fail or outlast the timeout are
// counted, send no caller series and fail nothing else.
func TestCollectorCallersFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  reportsFunc
	}{
		{"the store is unavailable", func(context.Context) ([]callerreport.Report, error) {
			return nil, fmt.Errorf("callerreport: callers: %w", store.ErrUnavailable)
		}},
		{"the store does not answer in time", func(ctx context.Context) ([]callerreport.Report, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := scenarioPool(t)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(metrics.NewCollector(p, metrics.WithCallers(tc.src), metrics.WithTimeout(20*time.Millisecond)))
			for range 2 {
				if _, err := reg.Gather(); err != nil {
					t.Fatalf("Gather: %v", err)
				}
			}
			// Two scrapes, and the comparison's own: 3 failed.
			want := `
# HELP authpool_caller_report_errors_total Scrapes that failed to read the stored callers' reports.
# TYPE authpool_caller_report_errors_total counter
authpool_caller_report_errors_total 3
# HELP authpool_up Whether the last scrape read the pool's snapshot (1) or failed to (0).
# TYPE authpool_up gauge
authpool_up 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "authpool_caller_report_errors_total", "authpool_up"); err != nil {
				t.Error(err)
			}
			if n, err := testutil.GatherAndCount(reg, "authpool_caller_cost_usd", "authpool_caller_refusals_total"); err != nil || n != 0 {
				t.Errorf("caller series after failed reports: %d, %v; want none", n, err)
			}
		})
	}
}

// TestCollectorCallersBounded: a source of more than MaxReports callers
// (one of them twice) gives series of the first MaxReports only, and a
// scrape that does not fail.
func TestCollectorCallersBounded(t *testing.T) {
	p, _ := scenarioPool(t)
	var many []callerreport.Report
	for i := range callerreport.MaxReports + 50 {
		id := fmt.Sprintf("c%04d", i)
		if i == 1 {
			id = "c0000"
		}
		many = append(many, callerreport.Report{ID: id, Cap: &callerreport.CapUse{USD: 1}})
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(p, metrics.WithCallers(reportsFunc(func(context.Context) ([]callerreport.Report, error) {
		return many, nil
	}))))
	n, err := testutil.GatherAndCount(reg, "authpool_caller_cap_usd")
	if err != nil {
		t.Fatal(err)
	}
	if want := callerreport.MaxReports - 1; n != want {
		t.Errorf("%d callers' series, want %d (the first %d reports, one twice)", n, want, callerreport.MaxReports)
	}
}
