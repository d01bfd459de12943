// Command authpool-sim answers "how many subscriptions do I need?" and
// "how does authpool compare with its peers?": it replays a week of work
// through an authpool.Pool on a virtual clock — or through a model of a
// peer's policy — for several pool sizes, policies and seeds side by side,
// and prints what users feel and operators watch (requests served and
// refused, fallback money, cache continuity and what broken caches cost,
// prepaid capacity left unused, how rebalancing narrows gaps, spread,
// failover, health) with the targets each meets. See package sim for the
// model and the exact definition of every number.
//
//	go run ./cmd/authpool-sim                               # the standard workload, sizes 1..10, every policy and peer
//	go run ./cmd/authpool-sim -sizes 5-9 -svg out.svg       # and a chart
//	go run ./cmd/authpool-sim -sizes 6 -seeds 1-5 -json     # a JSON object per run, a line each
//	go run ./cmd/authpool-sim -grid -sizes 6-8              # search the policy grid for the best policy
//	go run ./cmd/authpool-sim -trace ~/.claude              # replay Claude Code transcripts instead
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/authpool/authpool/claude/transcript"
	"github.com/authpool/authpool/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "authpool-sim:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	sizes    []int
	policies []sim.Policy
	grid     bool
	seeds    []uint64
	json     bool
	agents   int
	trace    string
	svg      string
	fallback float64
	noise    float64
	parallel int
}

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("authpool-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "1-10", "pool sizes: subscriptions, as a list and ranges (\"3,5-8\")")
	known := append(sim.Policies(), sim.Peers()...)
	policies := fs.String("policies", "", "policies to compare, comma-separated (default all: "+names(known)+")")
	seeds := fs.String("seeds", "1", "seeds of the workload, the limits' noise and the random peer, as a list and ranges (\"1-5\"): a run each")
	var o options
	fs.BoolVar(&o.grid, "grid", false, "compare the policies of the grid search instead of the named ones, and name the best")
	fs.BoolVar(&o.json, "json", false, "print a JSON object per run (policy, size, seed), a line each, instead of the table")
	fs.IntVar(&o.agents, "agents", 40, "the standard workload's agents (its arrival rate scales with them)")
	fs.StringVar(&o.trace, "trace", "", "replay the Claude Code transcripts under this directory (holding projects/) instead")
	fs.StringVar(&o.svg, "svg", "", "write a chart of the results to this file")
	fs.Float64Var(&o.fallback, "fallback", 50, "the fallback API key's daily budget in USD (0: no fallback)")
	fs.Float64Var(&o.noise, "noise", 0.1, "each upstream window's limit is the plan's times a factor in [1-noise, 1+noise]")
	fs.IntVar(&o.parallel, "parallel", runtime.GOMAXPROCS(0), "runs at once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return o, err
	}
	if o.seeds, err = parseSeeds(*seeds); err != nil {
		return o, err
	}
	o.policies = known
	if o.grid {
		o.policies = append([]sim.Policy{{Name: "default"}}, sim.Grid()...)
	}
	if *policies != "" {
		var chosen []sim.Policy
		for name := range strings.SplitSeq(*policies, ",") {
			i := slices.IndexFunc(o.policies, func(p sim.Policy) bool { return p.Name == name })
			if i < 0 {
				return o, fmt.Errorf("-policies: unknown policy %q (known: %s)", name, names(o.policies))
			}
			chosen = append(chosen, o.policies[i])
		}
		o.policies = chosen
	}
	return o, nil
}

// parseSizes parses "3,5-8".
func parseSizes(s string) ([]int, error) {
	var sizes []int
	err := parseList(s, 1000, func(a, b uint64) error {
		if a < 1 {
			return errors.New("want numbers from 1 to 1000 and ranges such as 5-8")
		}
		for n := int(a); n <= int(b); n++ {
			if !slices.Contains(sizes, n) {
				sizes = append(sizes, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("-sizes: %w", err)
	}
	slices.Sort(sizes)
	return sizes, nil
}

// parseSeeds parses "1-5,9": at most 1000 seeds, in order.
func parseSeeds(s string) ([]uint64, error) {
	var seeds []uint64
	err := parseList(s, math.MaxUint64, func(a, b uint64) error {
		if b-a >= 1000 || len(seeds)+int(b-a) >= 1000 {
			return errors.New("want at most 1000 seeds")
		}
		for n := a; ; n++ {
			if !slices.Contains(seeds, n) {
				seeds = append(seeds, n)
			}
			if n == b {
				return nil
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("-seeds: %w", err)
	}
	slices.Sort(seeds)
	return seeds, nil
}

// parseList parses a comma-separated list of numbers up to most and
// ranges ("3,5-8"), calling add with each range (a number is a range of
// one).
func parseList(s string, most uint64, add func(a, b uint64) error) error {
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil || b < a || b > most {
			return fmt.Errorf("%q: want numbers up to %d and ranges such as 5-8", part, most)
		}
		if err := add(a, b); err != nil {
			return fmt.Errorf("%q: %w", part, err)
		}
	}
	return nil
}

func names(ps []sim.Policy) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return strings.Join(s, ",")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	var results []sim.Result
	var w *sim.Workload
	for _, seed := range o.seeds {
		if w == nil || o.trace == "" { // a trace is the same for every seed
			if w, err = workload(ctx, o, seed); err != nil {
				return err
			}
		}
		if !o.json {
			fmt.Fprintf(stdout, "workload %s, seed %d: %d sessions (%d dropped: every agent busy), %d requests, $%.2f, from %s for %s\n",
				w.Name, seed, len(w.Sessions), w.Dropped, w.Requests(), w.CostUSD(), w.Start.Format("Mon 2006-01-02 15:04 MST"), w.Length)
		}
		rs, err := sim.Sweep{
			Scenario: sim.Scenario{Workload: w, FallbackDailyUSD: o.fallback, LimitNoise: o.noise, Seed: seed},
			Sizes:    o.sizes, Policies: o.policies, Parallel: o.parallel,
		}.Run(ctx)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	if o.json {
		if err := sim.WriteJSON(stdout, results); err != nil {
			return err
		}
	} else if err := report(stdout, results); err != nil {
		return err
	}
	if o.svg != "" {
		f, err := os.Create(o.svg)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("authpool-sim: %s workload, %d requests in %s", w.Name, w.Requests(), w.Length)
		if len(o.seeds) > 1 {
			title = fmt.Sprintf("authpool-sim: %s workload, %s a seed, seeds %s (means)", w.Name, w.Length, seedList(o.seeds))
		}
		if err := errors.Join(sim.WriteSVG(f, title, results, sim.DefaultTargets()), f.Close()); err != nil {
			return err
		}
	}
	return nil
}

// workload returns the trace, or the standard workload drawn with seed.
func workload(ctx context.Context, o options, seed uint64) (*sim.Workload, error) {
	if o.trace != "" {
		return sim.ReadTrace(ctx, o.trace, transcript.Roots([]string{o.trace})...)
	}
	std := sim.Standard()
	std.PeakSessionsPerHour *= float64(o.agents) / float64(std.Agents)
	std.Agents = o.agents
	return std.Generate(seed)
}

// report writes the table and the best policy.
func report(w io.Writer, results []sim.Result) error {
	fmt.Fprintln(w)
	if err := sim.WriteTable(w, results, sim.DefaultTargets()); err != nil {
		return err
	}
	if best, ok := sim.Best(results, sim.DefaultTargets()); ok {
		_, err := fmt.Fprintf(w, "best: %s with %d subscriptions ($%.2f on the fallback, mean over %d seeds)\n",
			best.Policy, best.Subscriptions, best.FallbackUSD, len(best.Runs))
		return err
	}
	_, err := fmt.Fprintln(w, "best: no policy meets every target at any size tried")
	return err
}

// seedList writes seeds as a list: "1-5" for a range.
func seedList(seeds []uint64) string {
	if n := len(seeds); n > 1 && seeds[n-1]-seeds[0] == uint64(n-1) {
		return fmt.Sprintf("%d-%d", seeds[0], seeds[n-1])
	}
	var s []string
	for _, seed := range seeds {
		s = append(s, strconv.FormatUint(seed, 10))
	}
	return strings.Join(s, ",")
}
