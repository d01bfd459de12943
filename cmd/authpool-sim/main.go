// Command authpool-sim answers "how many subscriptions do I need?": it
// replays a week of work through an authpool.Pool on a virtual clock, for
// several pool sizes and policies side by side, and prints what operators
// watch (success rate, health, cost spread, rebalancing, failover, hours
// limited, money spent on the fallback) with the targets each run meets. See
// package sim for the model and the exact definition of every number.
//
//	go run ./cmd/authpool-sim                          # the standard workload, sizes 1..10, the named policies
//	go run ./cmd/authpool-sim -sizes 5-9 -svg out.svg  # and a chart
//	go run ./cmd/authpool-sim -grid -sizes 6-8         # search the policy grid for the best policy
//	go run ./cmd/authpool-sim -trace ~/.claude         # replay Claude Code transcripts instead
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	seed     uint64
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
	policies := fs.String("policies", "", "named policies to compare, comma-separated (default all: "+names(sim.Policies())+")")
	var o options
	fs.BoolVar(&o.grid, "grid", false, "compare the policies of the grid search instead of the named ones, and name the best")
	fs.Uint64Var(&o.seed, "seed", 1, "the seed of the workload and of the limits' noise")
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
	o.policies = sim.Policies()
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
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 1 || b < a || b > 1000 {
			return nil, fmt.Errorf("-sizes: %q: want numbers from 1 to 1000 and ranges such as 5-8", part)
		}
		for n := a; n <= b; n++ {
			if !slices.Contains(sizes, n) {
				sizes = append(sizes, n)
			}
		}
	}
	slices.Sort(sizes)
	return sizes, nil
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
	var w *sim.Workload
	if o.trace != "" {
		w, err = sim.ReadTrace(ctx, o.trace, transcript.Roots([]string{o.trace})...)
	} else {
		std := sim.Standard()
		std.PeakSessionsPerHour *= float64(o.agents) / float64(std.Agents)
		std.Agents = o.agents
		w, err = std.Generate(o.seed)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workload %s: %d sessions (%d dropped: every agent busy), %d requests, $%.2f, from %s for %s\n\n",
		w.Name, len(w.Sessions), w.Dropped, w.Requests(), w.CostUSD(), w.Start.Format("Mon 2006-01-02 15:04 MST"), w.Length)
	results, err := sim.Sweep{
		Scenario: sim.Scenario{Workload: w, FallbackDailyUSD: o.fallback, LimitNoise: o.noise, Seed: o.seed},
		Sizes:    o.sizes, Policies: o.policies, Parallel: o.parallel,
	}.Run(ctx)
	if err != nil {
		return err
	}
	if err := sim.WriteTable(stdout, results, sim.DefaultTargets()); err != nil {
		return err
	}
	if best, ok := sim.Best(results, sim.DefaultTargets()); ok {
		fmt.Fprintf(stdout, "best: %s with %d subscriptions ($%.2f on the fallback)\n", best.Policy, best.Subscriptions, best.FallbackUSD)
	} else {
		fmt.Fprintln(stdout, "best: no policy meets every target at any size tried")
	}
	if o.svg != "" {
		f, err := os.Create(o.svg)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("authpool-sim: %s workload, %d requests in %s", w.Name, w.Requests(), w.Length)
		if err := errors.Join(sim.WriteSVG(f, title, results, sim.DefaultTargets()), f.Close()); err != nil {
			return err
		}
	}
	return nil
}
