package soak

import (
	"fmt"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// report is what a soak run did and measured, for people.
type report struct {
	plan                              plan
	ran                               time.Duration
	all                               *tally
	samples                           []sample
	outages                           []outage
	mid, final                        []authpool.Snapshot
	midStats, finalStats              []authpool.Stats
	hook                              *slowHook
	stored                            store.Nanodollars
	storedReqs                        int64
	closeErrs                         []string
	redisLog                          int64 // go-redis's log lines (failed dials)
	goroutinesBefore, goroutinesAfter int
}

func (r *report) String() string {
	var b strings.Builder
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	secs := r.ran.Seconds()
	a := r.all

	pf("== soak: %v of load, %d pools, %d workers, %d clients, paced at %.0f ops/s ==",
		r.ran.Round(time.Second), numPools, numWorkers, r.plan.Clients, r.plan.Rate)
	total := a.calls()
	pf("operations: %d (%.0f/s)", total, float64(total)/secs)
	pf("  %-20s %10s %9s  %s", "kind", "calls", "per s", "errors")
	for k := range numOps {
		var errs []string
		for c := range numErrs {
			if n := a.errs[k][c]; n > 0 {
				errs = append(errs, fmt.Sprintf("%s %d", errNames[c], n))
			}
		}
		pf("  %-20s %10d %9.1f  %s", opNames[k], a.ops[k], float64(a.ops[k])/secs, strings.Join(errs, ", "))
	}
	pf("errors by class:")
	for c := range numErrs {
		pf("  %-24s %d", errNames[c], a.errors(c))
	}

	var dups int64
	for _, s := range r.finalStats {
		dups += s.DuplicateRecords
	}
	pf("totals:")
	pf("  acknowledged  %d n$ ($%.6f) in %d requests", a.acked, a.acked.USD(), a.ackedReqs)
	pf("  uncertain     %d n$ in %d requests (failed mid-outage without an ID, or not resent in time)", a.uncertain, a.uncertainReqs)
	pf("  stored        %d n$ ($%.6f) in %d requests: acknowledged + %d n$, + %d requests",
		r.stored, r.stored.USD(), r.storedReqs, r.stored-a.acked, r.storedReqs-a.ackedReqs)
	pf("  resent IDs accepted and not counted: %d; usages resent after a failure: %d; duplicates the pools refused: %d",
		a.resendsAcked, a.retries, dups)

	pf("outages: %d; during them %d calls failed with ErrUnavailable and %d with a deadline passed between two store calls; "+
		"while Redis was up %d and %d; go-redis logged %d failed dials",
		len(r.outages), a.errors(errOutage), a.errors(errOutageDeadline), a.errors(errUnavailable), a.errors(errDeadline), r.redisLog)
	for i, o := range r.outages {
		pf("  %2d at %4.0fs  %-5s down %6v, every pool working %v later", i+1, o.At.Seconds(), o.Kind,
			o.Down.Round(time.Millisecond), o.Recovered.Round(time.Millisecond))
	}

	pf("samples (after runtime.GC; judged from %v on):", r.plan.WarmUp)
	pf("  %6s %10s %10s %8s %8s %7s %7s %9s", "at", "goroutines", "heap MiB", "DBSIZE", "ID keys", "claims", "others", "ops/s")
	for i, s := range r.samples {
		rate := 0.0
		if i > 0 {
			p := r.samples[i-1]
			rate = float64(s.Ops-p.Ops) / (s.At - p.At).Seconds()
		}
		pf("  %5.0fs %10d %10.1f %8d %8d %7d %7d %9.0f", s.At.Seconds(), s.Goroutines, float64(s.Heap)/(1<<20), s.Keys, s.IDKeys,
			s.ClaimKeys, s.StateKeys, rate)
	}
	if n := len(r.samples); n > 0 {
		first, mid, last := r.samples[0], r.samples[n/2], r.samples[n-1]
		pf("  start %v / middle %v / end %v: goroutines %d / %d / %d, heap %.1f / %.1f / %.1f MiB, "+
			"keys %d / %d / %d (usage IDs %d / %d / %d, claims %d / %d / %d, others %d / %d / %d)",
			first.At.Round(time.Second), mid.At.Round(time.Second), last.At.Round(time.Second),
			first.Goroutines, mid.Goroutines, last.Goroutines,
			float64(first.Heap)/(1<<20), float64(mid.Heap)/(1<<20), float64(last.Heap)/(1<<20),
			first.Keys, mid.Keys, last.Keys, first.IDKeys, mid.IDKeys, last.IDKeys,
			first.ClaimKeys, mid.ClaimKeys, last.ClaimKeys, first.StateKeys, mid.StateKeys, last.StateKeys)
	}

	if len(r.final) > 0 {
		pf("subscriptions at the end (pool 0's Snapshot): clients/max, block and week use, status")
		subs := r.final[0].Subscriptions
		if f := r.final[0].Fallback; f != nil {
			subs = append(subs, *f)
		}
		for _, s := range subs {
			pf("  %-8s %-6s %2d/%-2d  block $%8.4f of $%7.2f (%5.1f %%)  week $%8.4f (%5.1f %%)  %s %s",
				s.ID, s.Kind, s.Clients, s.MaxClients, s.Block.CostUSD, s.Block.BudgetUSD, s.Block.Percent,
				s.Week.CostUSD, s.Week.Percent, s.Status.State, s.Ineligible)
		}
	}
	pf("notifications (all pools): %s (middle: %s)", stats(notifications(r.finalStats)), stats(notifications(r.midStats)))
	var types []string
	for i, t := range eventTypes {
		if n := r.hook.byType[i].Load(); n > 0 {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
	}
	pf("  webhook (%v a delivery): received %d (%s), refused %d, abandoned by the sender %d",
		r.hook.delay, r.hook.received.Load(), strings.Join(types, ", "), r.hook.bad.Load(), r.hook.canceled.Load())
	pf("close (2 s each; a pool still holding events returns the deadline and drops them): %d errors %v; goroutines %d before the test, %d after closing everything",
		len(r.closeErrs), r.closeErrs, r.goroutinesBefore, r.goroutinesAfter)
	return b.String()
}

func stats(n authpool.NotificationStats) string {
	return fmt.Sprintf("emitted %d, delivered %d, failed %d, dropped %d, deduplicated %d, waiting %d",
		n.Emitted, n.Delivered, n.Failed, n.Dropped, n.Deduplicated, n.Waiting)
}
