//go:build linux

// Command proxyload measures what authpool's proxy (package claude's Proxy
// and Transport in front of an in-memory pool) adds to a request, against a
// direct baseline to the same upstream:
//
//	go run ./internal/proxyload                  # the defaults: 7 rounds, a little over a minute
//	go run ./internal/proxyload -rounds 3 -duration 1s -json
//
// Three processes share the machine, so that the proxy's CPU time and memory
// are its own: the program runs itself again as an upstream (package
// fakeanthropic's Instant, which answers at once, served on loopback) and as
// the proxy (four Max 20x subscriptions, one caller per load worker, no caps
// unless -cap), and stays the load generator. Each child prints its address
// on its first line of output and exits when its standard input closes (and,
// through Pdeathsig, when the load generator dies).
//
// The load generator sends POST /v1/messages with a small realistic body,
// "stream": false (JSON) or true (SSE), over keep-alive HTTP/1.1 connections
// of its own (one per worker, requests prepared once, responses parsed by
// hand), and reads each response to its end, checking its status and that it
// holds the upstream's message. The direct baseline and the proxy get the
// same client, so that both pay the same client cost. Each round measures,
// for JSON and for SSE:
//
//   - at concurrency 1, -n requests to each target, interleaved request by
//     request (direct then proxy, then proxy then direct, ...), so that
//     whatever drifts hits both: latency p50 and p99 of each, and their
//     difference, the latency the proxy adds;
//   - at concurrency -c, -duration on each target, one after the other
//     (which goes first alternates from round to round): requests per second,
//     latency, and how many cores each process used, and the machine's other
//     processes (from /proc/stat), so that a noisy run shows;
//   - the proxy's CPU time per request (from its per-process CPU clock,
//     nanosecond-precise), and its resident memory (VmRSS, and the peak
//     VmHWM) after the round.
//
// A warm-up before the first round is not measured. The summary is the
// median of each figure over the rounds, with the targets beside
// them, the machine, and the command. Every process keeps the default
// GOMAXPROCS (the machine's cores). An error (a status other than 200, a
// response without its message, a connection failure) is counted, reported,
// and makes the program exit with status 1.
//
// -bare puts a bare httputil.ReverseProxy (no pool, no usage read; the same
// upstream client, proxy.NewBaseTransport) in the proxy's place, to show
// how much of the proxy's cost is net/http's.
// -cpuprofile FILE writes the proxy process's CPU profile, over the whole
// run, for go tool pprof.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "proxyload:", err)
		}
		os.Exit(1)
	}
}

// options are the load generator's flags.
type options struct {
	rounds     int
	n          int
	duration   time.Duration
	c          int
	warmup     time.Duration
	json       bool
	cap        bool
	bare       bool
	cpuprofile string
}

// run runs the program with args: a child's role when args start with
// -role, else the load generator.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == roleFlag {
		return serveRole(args, stdin, stdout)
	}
	var o options
	fs := flag.NewFlagSet("proxyload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 7, "measured `rounds`; the summary is the median over them")
	fs.IntVar(&o.n, "n", 2000, "requests to each target per concurrency-1 phase")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "how long each concurrency-c phase runs on each target")
	fs.IntVar(&o.c, "c", 64, "the concurrency of the throughput phases (workers, each with its connection and caller)")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "how long each throughput phase runs in the unmeasured warm-up")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON (progress goes to standard error)")
	fs.BoolVar(&o.cap, "cap", false, "give every caller a (never reached) spending cap, so that the proxy keeps its cap ledger")
	fs.BoolVar(&o.bare, "bare", false, "measure a bare httputil.ReverseProxy in place of authpool's proxy: the floor of net/http")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the proxy process's CPU profile to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	case o.rounds < 1 || o.n < 1 || o.c < 1 || o.duration <= 0 || o.warmup < 0:
		return errors.New("-rounds, -n, -c and -duration must be positive, -warmup not negative")
	}
	command := strings.TrimSpace("go run ./internal/proxyload " + strings.Join(args, " "))
	stderr = &syncWriter{w: stderr} // the children's standard error is copied to it too
	progress := stdout
	if o.json {
		progress = stderr
	}
	res, err := measure(ctx, o, progress, stderr)
	if err != nil {
		return err
	}
	res.Command = command
	if o.json {
		return res.writeJSON(stdout)
	}
	res.writeTable(stdout)
	return nil
}

// syncWriter serializes writes to w. It has no ReadFrom, so that exec's
// copying of a child's output goes through Write too.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer, alone.
func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
