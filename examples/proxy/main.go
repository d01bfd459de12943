// Command proxy runs authpool's proxy on this machine: a drop-in base URL
// for Claude Code and the Anthropic SDKs in front of a pool of subscriptions,
// read with its callers (keys and caps) from a config file:
//
//	go run ./examples/proxy                                  # the example config, the real API
//	ANTHROPIC_BASE_URL=http://127.0.0.1:8787 ANTHROPIC_API_KEY=<a caller's key> claude
//
// Flags: -config, -listen (port 0 picks one, printed first), -upstream
// (tests point it at a local fake), -rebalance, -body-timeout, -quiet. The
// server bounds each request's headers and body, the idle time between
// requests and each write of an answer, never a whole stream (newServer).
// /status is the pool's live status page, /metrics its Prometheus metrics.
// On SIGINT or SIGTERM it lets the streams in flight finish (up to 30 s) and
// delivers the pool's queued notifications.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/statuspage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. It prints "listening on http://ADDR" first.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "configfile/testdata/pool.json", "the pool's config file")
	listen := fs.String("listen", "127.0.0.1:8787", "the address to listen on (loopback)")
	upstream := fs.String("upstream", proxy.DefaultUpstream, "the Anthropic API's base URL")
	every := fs.Duration("rebalance", time.Minute, "how often to Rebalance")
	quiet := fs.Bool("quiet", false, "log warnings only")
	bodyTimeout := fs.Duration("body-timeout", proxy.DefaultBodyTimeout, "how long a request's body may take to arrive (408 after)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	f, err := configfile.Load(*config)
	if err != nil {
		return err
	}
	opts, err := f.Options(nil) // the webhooks the file names
	if err != nil {
		return err
	}
	pool, err := authpool.New(ctx, f.Config, append(opts, authpool.WithLogger(logger))...)
	if err != nil {
		return err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = pool.Close(closing)
	}()
	handler, err := newHandler(pool, f, *upstream, *bodyTimeout, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if addr := ln.Addr().(*net.TCPAddr); !addr.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("%s is not a loopback address: this example serves this machine only", addr)
	}
	srv := newServer(handler, *bodyTimeout)
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	var wg sync.WaitGroup
	defer wg.Wait()
	rebalancing, stopRebalance := context.WithCancel(ctx)
	defer stopRebalance()
	wg.Go(func() {
		t := time.NewTicker(*every)
		defer t.Stop()
		for {
			select {
			case <-rebalancing.Done():
				return
			case <-t.C:
				if _, err := pool.Rebalance(rebalancing); err != nil {
					logger.Warn("rebalance failed", "error", err)
				}
			}
		}
	})
	return serve(ctx, srv, ln)
}

// newHandler returns the pages (/status, /metrics) and, for everything else,
// the proxy, pricing by the built-in table and the price file f names.
func newHandler(pool *authpool.Pool, f configfile.File, upstream string, bodyTimeout time.Duration, logger *slog.Logger) (http.Handler, error) {
	prices, err := claude.PricesWithFile(f.PriceFile)
	if err != nil {
		return nil, err
	}
	px, err := proxy.New(&proxy.Transport{
		Pool: pool, Logger: logger, Prices: prices,
		// The defaults, spelled out: a request goes to up to three
		// subscriptions before its caller gets the last answer, and the
		// pool's own 429s tell a client to wait only when it can serve
		// within a minute, the longest Claude Code waits (docs/proxy.md).
		MaxAttempts: proxy.DefaultMaxAttempts,
		RetryWithin: proxy.DefaultRetryWithin,
	}, f.Callers, upstream)
	if err != nil {
		return nil, err
	}
	px.Logger = logger
	px.BodyTimeout = bodyTimeout
	status := statuspage.New(pool, statuspage.WithLogger(logger))
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(pool))
	pages := map[string]http.Handler{"/status": status, "/metrics": promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			px.ServeHTTP(w, r) // it bounds each write itself (Proxy.WriteTimeout)
			return
		}
		// A page is a small answer of a known size: 10 s to write it.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second))
		page.ServeHTTP(w, r)
	}), nil
}

// serve serves on ln until ctx ends, then lets the requests in flight
// finish (up to 30 s).
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	draining, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(draining); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// newServer returns the example's server of handler, whose proxy gives a
// body bodyTimeout to arrive:
//
//   - ReadHeaderTimeout: a request's headers arrive within 10 s;
//   - ReadTimeout: the whole request within 10 s more than a body's time.
//     The proxy sets its body's own deadline (Proxy.BodyTimeout), and
//     net/http lifts the read deadline once the body is read: a long answer
//     is not cut;
//   - IdleTimeout: a connection between requests is kept 2 minutes (Claude
//     Code sends a conversation's turns on one);
//   - no WriteTimeout: it would bound the whole answer, which streams for
//     minutes; the proxy bounds each write (Proxy.WriteTimeout: a caller that
//     stops reading is cut), and the pages set a deadline of their own.
func newServer(handler http.Handler, bodyTimeout time.Duration) *http.Server {
	if bodyTimeout <= 0 {
		bodyTimeout = proxy.DefaultBodyTimeout
	}
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10*time.Second + bodyTimeout,
		IdleTimeout:       2 * time.Minute,
	}
}
