// Command cli runs a few prompts for several clients through the Claude Code
// CLI, each on the subscription an authpool.Pool gives it, with
// cli.Runner: the CLI gets the subscription's credential in its
// environment (and no other), the pool records what each run cost, and a run
// that hits a limit (a quota 429, an overload, a refused credential) takes
// its subscription out of service and runs once more on another one. It
// prints who ran where, what it cost and what happened, then the pool.
//
// The pool comes from the example config file (configfile/testdata/pool.json;
// its webhook is left out). Its credentials are placeholders: with the real
// CLI, give a config of your own, or each run is refused (401) and each
// subscription disabled in turn.
//
//	go run ./examples/cli                                    # from the repository's root, the claude on PATH
//	go run ./examples/cli -config my-pool.json -claude ~/.local/bin/claude -stream
//
// The CLI's environment is this program's, credentials aside: set
// ANTHROPIC_BASE_URL to run it against a proxy or a fake upstream.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/cli"
	"github.com/authpool/authpool/configfile"
)

func main() {
	var o options
	flag.StringVar(&o.config, "config", "configfile/testdata/pool.json", "the pool's config file")
	flag.StringVar(&o.claude, "claude", "claude", "the Claude Code CLI: a path, or a name in PATH")
	flag.BoolVar(&o.stream, "stream", false, "read the CLI's output as it comes (--output-format stream-json)")
	flag.Parse()
	logs := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), os.Stdout, logs, o); err != nil {
		fmt.Fprintln(os.Stderr, "cli:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	config, claude string
	stream         bool
}

// job is a prompt a client runs.
type job struct{ client, prompt string }

// jobs are the prompts, in the order the report lists them.
var jobs = []job{
	{"alice", "Reply with one word: the capital of France."},
	{"bob", "Reply with one word: the opposite of cold."},
	{"carol", "Reply with a number only: six times seven."},
	{"dave", "Reply with one word: the colour of a clear sky."},
	{"alice", "Reply with one word: the capital of Italy."},
	{"erin", "Reply with one word: the largest planet."},
	{"bob", "Reply with one word: the opposite of up."},
}

// run runs the jobs and prints what happened to w; the pool and the runner
// log to logs.
func run(ctx context.Context, w io.Writer, logs *slog.Logger, o options) error {
	if _, err := exec.LookPath(o.claude); err != nil {
		return fmt.Errorf("%w (install Claude Code, or give its path with -claude)", err)
	}
	f, err := configfile.Load(o.config)
	if err != nil {
		return err
	}
	cfg := f.Config // without f.Options: offline, no event leaves this machine
	pool, err := authpool.New(ctx, cfg, authpool.WithLogger(logs))
	if err != nil {
		return err
	}
	defer pool.Close(context.Background())
	prices, err := claude.PricesWithFile(f.PriceFile) // for what Claude Code did not price
	if err != nil {
		return err
	}
	runner := &cli.Runner{Pool: pool, Command: o.claude, Stream: o.stream, Logger: logs, Prices: prices}
	// Each client runs its prompts in order; the clients run at once.
	results, errs := make([]cli.RunResult, len(jobs)), make([]error, len(jobs))
	byClient := map[string][]int{}
	var clients []string
	for i, j := range jobs {
		if byClient[j.client] == nil {
			clients = append(clients, j.client)
		}
		byClient[j.client] = append(byClient[j.client], i)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for _, i := range byClient[c] {
				results[i], errs[i] = runner.Run(ctx, c, jobs[i].prompt)
			}
			if err := pool.Release(ctx, c); err != nil {
				logs.Warn("release", "client", c, "err", err)
			}
		})
	}
	wg.Wait()
	return report(ctx, w, pool, results, errs)
}

// report prints a line per job (where it ran, what it cost, its verdict and
// what happened), the totals and the failures, then the pool's subscriptions.
func report(ctx context.Context, w io.Writer, pool *authpool.Pool, results []cli.RunResult, errs []error) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tRAN ON\tCOST\tVERDICT\tWHAT HAPPENED")
	var failed []string
	var total float64
	for i, j := range jobs {
		res, err := results[i], errs[i]
		var where []string
		for _, a := range res.Attempts {
			where = append(where, a.Allocation.SubscriptionID)
		}
		if len(where) == 0 {
			where = []string{"-"}
		}
		what := reply(res.Result.Text)
		switch {
		case err != nil && len(res.Attempts) == 0:
			what = "not run: " + short(err)
		case err != nil:
			what = "failed: " + short(err)
		case res.Retried:
			what = fmt.Sprintf("%s (after %s on %s)", what, res.Attempts[0].Verdict.Kind, where[0])
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", j.client, err))
		}
		total += res.CostUSD()
		fmt.Fprintf(tw, "%s\t%s\t$%.6f\t%s\t%s\n", j.client, strings.Join(where, " → "), res.CostUSD(), res.Verdict.Kind, what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d runs, %d failed, $%.6f in all.\n", len(jobs), len(failed), total)
	for _, f := range failed {
		fmt.Fprintln(w, "  "+f)
	}
	snap, err := pool.Snapshot(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "SUBSCRIPTION\tKIND\tSTATUS\tBLOCK COST")
	subs := snap.Subscriptions
	if snap.Fallback != nil {
		subs = append(subs, *snap.Fallback)
	}
	for _, s := range subs {
		st := s.Status.State.String()
		if s.Status.State == authpool.Limited {
			st += " until " + s.Status.Until.UTC().Format("2006-01-02 15:04:05") + " UTC"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t$%.6f\n", s.ID, s.Kind, st, s.Block.CostUSD)
	}
	return tw.Flush()
}

// reply is a run's answer on one short line.
func reply(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 40 {
		text = string(r[:39]) + "…"
	}
	if text == "" {
		return "-"
	}
	return fmt.Sprintf("%q", text)
}

// short is an error without the part that names the client and the
// subscription (the table says them).
func short(err error) string {
	if re, ok := errors.AsType[*cli.RunError](err); ok {
		err = re.Err
	}
	msg := strings.TrimPrefix(err.Error(), "claude: ")
	if r := []rune(msg); len(r) > 60 {
		msg = string(r[:59]) + "…"
	}
	return msg
}
