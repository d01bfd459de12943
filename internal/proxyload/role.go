//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// roleFlag starts the arguments of a child process; its value is
// roleUpstream or roleProxy.
const roleFlag = "-role"

// The children's roles.
const (
	roleUpstream = "upstream"
	roleProxy    = "proxy"
)

// subscriptions is how many subscriptions the proxy's pool shares.
const subscriptions = 4

// callerKey is the key the caller of worker i sends to the proxy.
func callerKey(i int) string { return fmt.Sprintf("proxyload-caller-%03d-key-0123456789abcdef", i) }

// callerID is the ID of the caller of worker i.
func callerID(i int) string { return fmt.Sprintf("worker-%03d", i) }

// serveRole runs a child: it serves its role on a loopback port, prints the
// address as its first line, and serves until stdin ends (the load
// generator closed it, or died).
func serveRole(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("proxyload child", flag.ContinueOnError)
	role := fs.String("role", "", "upstream or proxy")
	upstream := fs.String("upstream", "", "the proxy's upstream URL")
	callers := fs.Int("callers", 1, "how many callers the proxy serves")
	capped := fs.Bool("cap", false, "give every caller a spending cap")
	bare := fs.Bool("bare", false, "serve a bare httputil.ReverseProxy instead")
	cpuprofile := fs.String("cpuprofile", "", "write the CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	var handler http.Handler
	var pool *authpool.Pool
	switch *role {
	case roleUpstream:
		handler = fakeanthropic.NewInstant(fakeanthropic.InstantConfig{FlushEachEvent: true})
	case roleProxy:
		if *bare {
			target, err := url.Parse(*upstream)
			if err != nil {
				return err
			}
			handler = bareProxy(target, proxy.NewBaseTransport())
			break
		}
		var err error
		if pool, err = newPool(ctx, *callers); err != nil {
			return err
		}
		defer pool.Close(ctx)
		t := &proxy.Transport{Pool: pool}
		if handler, err = proxy.New(t, newCallers(*callers, *capped), *upstream); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown role %q", *role)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if _, err := fmt.Fprintln(stdout, ln.Addr()); err != nil {
		srv.Close()
		return err
	}
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(ended)
	}()
	select {
	case <-ended:
		srv.Close()
		return nil
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	}
}

// bareProxy returns a reverse proxy to target, sending with base, with
// nothing of authpool: the floor that net/http's server,
// httputil.ReverseProxy and the upstream client set on this machine. Like
// proxy.Proxy it reads a request's body before forwarding it (an HTTP/1
// server drains an unread body when the response starts, which breaks a
// streamed one: golang/go#40747).
func bareProxy(target *url.URL, base http.RoundTripper) http.Handler {
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport:  base,
		BufferPool: &buffers{},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		p.ServeHTTP(w, r)
	})
}

// newPool returns the proxy's pool: Max 20x subscriptions with budgets no
// run comes near, each able to hold every caller.
func newPool(ctx context.Context, callers int) (*authpool.Pool, error) {
	cfg := authpool.Config{MaxClients: max(callers, authpool.Config{}.WithDefaults().MaxClients)}
	for i := range subscriptions {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID:              fmt.Sprintf("max20x-%d", i+1),
			Kind:            authpool.KindMax20x,
			Credential:      authpool.Credential(fmt.Sprintf("sk-ant-oat01-proxyload-%d-0123456789abcdef", i+1)),
			WeeklyBudgetUSD: 1e6,
			BlockBudgetUSD:  1e6,
		})
	}
	return authpool.New(ctx, cfg)
}

// newCallers returns the proxy's callers, one per load worker; capped gives
// each a cap it never reaches (the proxy then keeps its spending).
func newCallers(n int, capped bool) []proxy.Caller {
	callers := make([]proxy.Caller, n)
	for i := range callers {
		callers[i] = proxy.Caller{ID: callerID(i), Key: authpool.Credential(callerKey(i))}
		if capped {
			callers[i].CapUSD = 1e6
		}
	}
	return callers
}

// buffers lends the bare proxy its copy buffers, as proxy.Proxy's own pool
// does.
type buffers struct{ pool sync.Pool }

func (b *buffers) Get() []byte {
	if p, ok := b.pool.Get().(*[32 << 10]byte); ok {
		return p[:]
	}
	return new([32 << 10]byte)[:]
}

func (b *buffers) Put(p []byte) {
	if len(p) == 32<<10 {
		b.pool.Put((*[32 << 10]byte)(p))
	}
}
