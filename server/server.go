package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/metrics"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/statuspage"
	"github.com/authpool/authpool/store"
)

// Options are what a server takes besides its config file.
type Options struct {
	// Logger gets the request log and the server's, the pool's and the
	// proxy's logs. The default writes JSON lines to standard error.
	Logger *slog.Logger
	// Keyring seals the credentials the store keeps (authpool.WithSealer).
	// A Redis store needs one; cmd/authpool reads it from AUTHPOOL_SEAL_KEYS
	// (seal.ParseKeys). The default is none: credentials are kept as they
	// are, which only the in-memory store allows.
	Keyring *seal.Keyring
	// Store, when set, is the store in place of the one the config file
	// names: a host's own, or one store two servers share in a test. The
	// server does not close it.
	Store store.Store
	// Clock is the time of the pool, the OAuth client and the usage poller.
	// The default is time.Now.
	Clock func() time.Time
	// HTTPClient sends the OAuth requests (refresh, usage). The default is
	// claude/oauth's.
	HTTPClient *http.Client
	// Upstream sends the proxied requests (proxy.Transport.Base). The
	// default is proxy.NewBaseTransport's.
	Upstream http.RoundTripper
	// Listener, when set, is served in place of a listener on the config's
	// address (with TLS when the config has it).
	Listener net.Listener
}

// Server is a running pool behind one listener (see the package
// documentation). Make it with New, then call Serve once.
type Server struct {
	cfg  configfile.Server // with its defaults
	log  *slog.Logger
	now  func() time.Time
	pool *authpool.Pool
	// store is the pool's store as kept (credentials sealed, with a
	// keyring): /readyz reads it.
	store  store.Store
	poller *usagePoller
	close  func() error // the store's

	adminToken, statusToken *token

	handler http.Handler
	proxy   *proxy.Proxy // its refusals are logged when Serve stops
	http    *http.Server
	ln      net.Listener
	url     string

	inflight sync.WaitGroup // the requests being served
	draining atomic.Bool    // set once Serve stops accepting
	served   atomic.Bool
}

// closeTimeout bounds the delivery of the pool's queued notifications when
// the server stops.
const closeTimeout = 10 * time.Second

// New builds a server from a config file: its store, its pool (the file's
// subscriptions, fallback, policy and webhooks, with the OAuth refresher of
// claude/oauth for the subscriptions that have a refresh token), its proxy
// (the file's callers), status page, metrics and admin API, and binds its
// listener. The server section is checked again (Server.Validate), so
// that what flags changed is checked too. What New built is let go when
// Serve returns; on an error, at once.
func New(ctx context.Context, f configfile.File, opts Options) (*Server, error) {
	if err := f.Server.Validate(); err != nil {
		return nil, err
	}
	cfg := f.Server.WithDefaults()
	s := &Server{cfg: cfg, log: opts.Logger, now: opts.Clock,
		adminToken: newToken(cfg.AdminToken), statusToken: newToken(cfg.StatusToken)}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	var tlsConfig *tls.Config
	if cfg.TLS != nil {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: /server/tls: the certificate and key do not load: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if err := s.build(ctx, f, opts); err != nil {
		return nil, err
	}
	if err := s.listen(opts.Listener, tlsConfig); err != nil {
		s.release(ctx)
		return nil, err
	}
	return s, nil
}

// build makes the store, the pool and the handler.
func (s *Server) build(ctx context.Context, f configfile.File, opts Options) error {
	p, err := openPool(ctx, f, s.cfg, opts, s.log, s.now)
	if err != nil {
		return err
	}
	s.pool, s.store, s.close = p.pool, p.store, p.close
	s.poller = &usagePoller{pool: p.pool, store: p.opened, client: p.oauth, now: s.now, log: s.log,
		every: time.Duration(s.cfg.UsagePoll.Every), jitter: time.Duration(s.cfg.UsagePoll.Jitter),
		quietFor: time.Duration(s.cfg.UsagePoll.QuietFor)}
	prices, err := claude.PricesWithFile(f.PriceFile)
	if err == nil {
		s.handler, err = s.buildHandler(f, prices, opts.Upstream)
	}
	if err != nil {
		s.release(ctx)
		return err
	}
	return nil
}

// buildHandler makes the proxy, the pages and the admin API, and routes
// them. The proxy knows the config file's callers and, when the store keeps
// callers, the store's; the pages and the admin API report the store's.
func (s *Server) buildHandler(f configfile.File, prices *claude.Prices, upstream http.RoundTripper) (http.Handler, error) {
	t := &proxy.Transport{Pool: s.pool, Base: upstream, Prices: prices, Logger: s.log}
	px, err := proxy.New(t, f.Callers, s.cfg.Upstream)
	if err != nil {
		return nil, err
	}
	files := newFileCallers(f.Callers)
	stored := newStoredCallers(s.store, f.Config, px, s.now)
	rl := &requestLog{log: s.log}
	px.Logger, px.Identify, px.OnDone, px.Stored = s.log, files.Identify, rl.onDone, stored.proxy
	s.proxy = px
	pageOpts := []statuspage.Option{statuspage.WithLogger(s.log)}
	var metricOpts []metrics.Option
	if stored.store != nil {
		pageOpts = append(pageOpts, statuspage.WithCallers(stored.report))
		metricOpts = append(metricOpts, metrics.WithCallers(stored.report))
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics.NewCollector(s.pool, metricOpts...)); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	metricsPage := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
	adm := &admin{pool: s.pool, log: s.log, now: s.now, callers: stored, fileIDs: fileIDs(f.Callers)}
	return s.routes(rl.wrap(px), statuspage.New(s.pool, pageOpts...), metricsPage, adm), nil
}

// listen binds the listener (or takes ln) and makes the http.Server.
func (s *Server) listen(ln net.Listener, tlsConfig *tls.Config) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("server: /server/listen: %w", err)
		}
	}
	s.ln = ln
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	s.url = scheme + "://" + ln.Addr().String()
	s.http = &http.Server{
		Handler: s.handler,
		// A request's headers within 10 s; its body within the proxy's
		// body timeout (net/http lifts the deadline once the body is
		// read: a long answer is not cut); a connection between requests
		// kept 2 minutes (Claude Code sends a conversation's turns on
		// one). No WriteTimeout: it would bound a whole answer, and a
		// stream runs for minutes; the proxy bounds each write, and the
		// pages set a deadline of their own.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10*time.Second + proxy.DefaultBodyTimeout,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// URL returns the server's base URL: http:// or https:// and the address it
// listens on (a port 0 resolved), what `authpool serve` prints first.
func (s *Server) URL() string { return s.url }

// Handler returns the server's handler, for tests that serve it
// themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Pool returns the server's pool.
func (s *Server) Pool() *authpool.Pool { return s.pool }

// Serve serves until ctx ends, then stops accepting, lets the requests in
// flight finish within shutdownGrace (cutting those left after it), stops
// rebalancing and polling, closes the pool (delivering its queued
// notifications, for up to 10 s) and the store, and returns nil. Every
// goroutine it started has ended by then. It returns an error at once if
// the listener fails. It may be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice")
	}
	var wg sync.WaitGroup
	work, stopWork := context.WithCancel(ctx)
	wg.Go(func() { s.rebalanceLoop(work) })
	if !s.cfg.UsagePoll.Off {
		wg.Go(func() { s.poller.run(work) })
	}
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(s.ln, "", "")
		} else {
			errc <- s.http.Serve(s.ln)
		}
	}()
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.LogAttrs(ctx, slog.LevelInfo, "server: stopping: no new connections; the requests in flight may finish",
		slog.Duration("grace", time.Duration(s.cfg.ShutdownGrace)))
	s.drain(ctx)
	if failed == nil {
		<-errc // http.ErrServerClosed
	}
	s.proxy.FlushRefusals() // no request is in flight: the last refusals are logged now, not by a timer after
	stopWork()
	wg.Wait()
	s.release(ctx)
	s.log.LogAttrs(ctx, slog.LevelInfo, "server: stopped")
	if failed != nil && !errors.Is(failed, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", failed)
	}
	return nil
}

// drain stops accepting and waits for the requests in flight, up to
// shutdownGrace; then cuts those left and waits for their handlers to end.
func (s *Server) drain(ctx context.Context) {
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(s.cfg.ShutdownGrace))
	defer cancel()
	if err := s.http.Shutdown(grace); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "server: shutdown grace passed: cutting the requests still in flight",
			slog.Duration("grace", time.Duration(s.cfg.ShutdownGrace)))
		_ = s.http.Close()
	}
	s.inflight.Wait() // handlers of cut connections end once their writes fail
}

// release closes the pool (delivering its queued notifications) and the
// store.
func (s *Server) release(ctx context.Context) {
	closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if s.pool != nil {
		if err := s.pool.Close(closing); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "server: closing the pool dropped notifications", slog.String("error", err.Error()))
		}
	}
	if s.close != nil {
		if err := s.close(); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "server: closing the store failed", slog.String("error", err.Error()))
		}
	}
	if s.ln != nil && !s.served.Load() {
		_ = s.ln.Close()
	}
}

// rebalanceLoop refreshes the credentials about to expire at once, then
// calls Rebalance (which refreshes them too) every rebalanceEvery until
// ctx ends.
func (s *Server) rebalanceLoop(ctx context.Context) {
	if _, err := s.pool.RefreshCredentials(ctx); err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "server: refreshing credentials failed", slog.String("error", err.Error()))
	}
	t := time.NewTicker(time.Duration(s.cfg.RebalanceEvery))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.rebalance(ctx)
		}
	}
}

// rebalance calls Rebalance once and logs what it did.
func (s *Server) rebalance(ctx context.Context) {
	r, err := s.pool.Rebalance(ctx)
	failed := 0
	for _, c := range r.Credentials {
		if c.Err != nil {
			failed++
		}
	}
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.LogAttrs(ctx, slog.LevelWarn, "server: rebalance failed", slog.String("error", err.Error()))
	case err != nil:
	case len(r.Moves)+len(r.Released)+len(r.Credentials) > 0:
		s.log.LogAttrs(ctx, slog.LevelInfo, "server: rebalanced", slog.Int("moved", len(r.Moves)),
			slog.Int("released", len(r.Released)), slog.Int("refreshed", len(r.Credentials)-failed),
			slog.Int("refreshFailed", failed))
	}
}
