package sim

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"
)

// targetLetters name the targets in a table's "met" column, in Met's order:
// Success, Health, Cost spread, Gaps closed, Failover.
const targetLetters = "SHCGF"

// MetString returns which targets r meets as five letters, each replaced by
// "-" when missed: "SHCGF" meets all, "S-CG-" misses health and failover.
func (t Targets) MetString(r Result) string {
	b := []byte(targetLetters)
	for i, ok := range t.Met(r) {
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// WriteTable writes results as a text table, a row each, with every metric
// and the targets each meets (see MetString), then, per policy, the fewest
// subscriptions meeting them all.
func WriteTable(w io.Writer, results []Result, t Targets) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tsubs\trequests\tsuccess\thealth\tspread\tgaps closed\tfailover\t429s\tlimited h\tfallback $\tmet\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.1f\t%.1f%%\t%.0f%% of %d\t%.2f%%\t%d\t%.1f\t%.2f\t%s\t\n",
			r.Policy, r.Subscriptions, r.Requests, 100*r.SuccessRate, r.AvgHealth, 100*r.CostCV,
			100*r.GapsClosedShare, r.Gaps, 100*r.FailoverRate, r.Refusals, r.LimitedHours, r.FallbackUSD, t.MetString(r))
	}
	tw.Flush() // writes to a bytes.Buffer: cannot fail
	fmt.Fprintf(&buf, "\ntargets: S success > %.0f%%, H health > %.0f, C spread < %.0f%%, G gaps closed > %.0f%%, F failover < %.0f%%\n",
		100*t.MinSuccess, t.MinHealth, 100*t.MaxCostCV, 100*t.MinGapsClosed, 100*t.MaxFailover)
	smallest := Smallest(results, t)
	for _, name := range policyNames(results) {
		if n := smallest[name]; n > 0 {
			fmt.Fprintf(&buf, "%s: %d subscriptions meet every target\n", name, n)
		} else {
			fmt.Fprintf(&buf, "%s: no size tried meets every target\n", name)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
