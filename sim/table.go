package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// targetLetters name the targets of the verdict in a table's "met" column,
// in Met's order: Success, Cost spread, Gaps narrowed, Failover.
const targetLetters = "SCGF"

// MetString returns which targets of the verdict r meets as four letters,
// each replaced by "-" when missed: "SCGF" meets all, "S-G-" misses the
// spread and failover. Health is not among them: it is reported only.
func (t Targets) MetString(r Result) string {
	return t.metString(func(i int) bool { return t.Met(r)[i] })
}

func (t Targets) metString(met func(i int) bool) string {
	b := []byte(targetLetters)
	for i := range b {
		if !met(i) {
			b[i] = '-'
		}
	}
	return string(b)
}

// Summary is one row of a table: the runs of a policy and a pool size,
// one a seed, with the means of their figures.
type Summary struct {
	Policy        string
	Peer          bool
	Subscriptions int
	// Runs are the results summarized, in the order given.
	Runs []Result
	// SubscriptionShare is the mean over Runs of SubscriptionRequests /
	// Requests (1 without requests): the share of requests subscriptions
	// served.
	SubscriptionShare float64
	// The means over Runs of their Result's figures of the same name.
	SuccessRate, Client429s, FallbackUSD, CacheContinuity, BrokenCacheUSD float64
	UnusedPrepaidUSD, GapReduction, AvgHealth, CostCV, FailoverRate       float64
	Upstream429s, LimitedHours, SubscriptionRequests, CostUSD             float64
}

// MeetsAll says whether every run meets every target of the verdict.
func (s Summary) MeetsAll(t Targets) bool {
	for _, r := range s.Runs {
		if !t.MeetsAll(r) {
			return false
		}
	}
	return true
}

// met says whether every run meets target i (Met's order).
func (s Summary) met(t Targets, i int) bool {
	for _, r := range s.Runs {
		if !t.Met(r)[i] {
			return false
		}
	}
	return true
}

// Summarize groups results by policy and pool size, in order of first
// appearance, each group's figures the means over its runs (its seeds).
func Summarize(results []Result) []Summary {
	var out []Summary
	type key struct {
		policy string
		subs   int
	}
	at := make(map[key]int)
	for _, r := range results {
		key := key{r.Policy, r.Subscriptions}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, Summary{Policy: r.Policy, Peer: r.Peer, Subscriptions: r.Subscriptions})
		}
		out[i].Runs = append(out[i].Runs, r)
	}
	for i := range out {
		s := &out[i]
		n := float64(len(s.Runs))
		for _, r := range s.Runs {
			share := 1.0
			if r.Requests > 0 {
				share = float64(r.SubscriptionRequests) / float64(r.Requests)
			}
			s.SubscriptionShare += share / n
			s.SuccessRate += r.SuccessRate / n
			s.Client429s += float64(r.Client429s) / n
			s.FallbackUSD += r.FallbackUSD / n
			s.CacheContinuity += r.CacheContinuity / n
			s.BrokenCacheUSD += r.BrokenCacheUSD / n
			s.UnusedPrepaidUSD += r.UnusedPrepaidUSD / n
			s.GapReduction += r.GapReduction / n
			s.AvgHealth += r.AvgHealth / n
			s.CostCV += r.CostCV / n
			s.FailoverRate += r.FailoverRate / n
			s.Upstream429s += float64(r.Upstream429s) / n
			s.LimitedHours += r.LimitedHours / n
			s.SubscriptionRequests += float64(r.SubscriptionRequests) / n
			s.CostUSD += r.CostUSD / n
		}
	}
	return out
}

// WriteTable writes results as a text table, a row for each policy and
// pool size (the means over its seeds, when there are several), with the
// targets every seed meets (see MetString), then, per policy, the fewest
// subscriptions meeting them all. "by subs" is the share of requests the
// subscriptions served. A peer has no health: "-".
func WriteTable(w io.Writer, results []Result, t Targets) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tsubs\tseeds\tsuccess\tby subs\tclient 429s\tfallback $\tcache kept\tbroken cache $\tunused prepaid $\t"+
		"gap reduction\tspread\tfailover\tupstream 429s\tlimited h\thealth\tmet\t")
	for _, s := range Summarize(results) {
		health := "-"
		if !s.Peer {
			health = fmt.Sprintf("%.1f", s.AvgHealth)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f%%\t%.2f%%\t%.1f\t%.2f\t%.2f%%\t%.2f\t%.0f\t%.1f%%\t%.1f%%\t%.2f%%\t%.1f\t%.1f\t%s\t%s\t\n",
			s.Policy, s.Subscriptions, len(s.Runs), 100*s.SuccessRate, 100*s.SubscriptionShare, s.Client429s, s.FallbackUSD, 100*s.CacheContinuity,
			s.BrokenCacheUSD, s.UnusedPrepaidUSD, 100*s.GapReduction, 100*s.CostCV, 100*s.FailoverRate, s.Upstream429s,
			s.LimitedHours, health, t.metString(func(i int) bool { return s.met(t, i) }))
	}
	tw.Flush() // writes to a bytes.Buffer: cannot fail
	fmt.Fprintf(&buf, "\ntargets (met by every seed): S success > %.0f%%, C spread < %.0f%%, G gap reduction > %.0f%%, F failover < %.0f%%; "+
		"health (> %.0f in the design replaced) is reported only\n",
		100*t.MinSuccess, 100*t.MaxCostCV, 100*t.MinGapReduction, 100*t.MaxFailover, t.MinHealth)
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

// WriteJSON writes each result as a JSON object on a line of its own
// (JSON Lines), in the order given.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
