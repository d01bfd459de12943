package h1

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestKeepAlive checks that sequential requests share one connection,
// over plain TCP and TLS, including against a server that offers HTTP/2.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind serverKind
	}{
		{name: "http", kind: plainServer},
		{name: "https", kind: tlsServer},
		{name: "https, server offers h2", kind: h2Server},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, conns := newServer(t, tt.kind, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(jsonBody)))
				io.WriteString(w, jsonBody)
			}))
			tr := newTransport(t)
			if tt.kind != plainServer {
				tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
			}
			for i := range 100 {
				resp, body := do(t, tr, http.MethodGet, ts.URL, nil, nil)
				if body != jsonBody || resp.ProtoMajor != 1 {
					t.Fatalf("request %d: %s, body %q", i, resp.Proto, body)
				}
				if tt.kind != plainServer && (resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2") {
					t.Fatalf("request %d: TLS state %+v, want no h2", i, resp.TLS)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("server saw %d connections for 100 requests, want 1", n)
			}
			// Each body was read to EOF and then closed: put back once.
			key := connKey{tls: tt.kind != plainServer, addr: ts.Listener.Addr().String()}
			if n := tr.idle.idleLen(key); n != 1 {
				t.Errorf("%d idle connections, want 1", n)
			}
		})
	}
}

// TestEarlyClose checks Close before EOF: a small rest is drained and the
// connection reused; a large or endless rest closes the connection, at once.
func TestEarlyClose(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2*drainLimit)
	small := strings.Repeat("y", 16<<10)
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantConns int64
	}{
		{name: "small content-length rest reused", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(small)))
				io.WriteString(w, small)
			}},
		{name: "small chunked rest reused", wantConns: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, small)
				w.(http.Flusher).Flush()
				io.WriteString(w, small)
			}},
		{name: "large content-length rest not reused", wantConns: 2,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				io.WriteString(w, big)
			}},
		{name: "large chunked rest not reused", wantConns: 2,
			handler: func(w http.ResponseWriter, r *http.Request) {
				for range 4 {
					io.WriteString(w, big[:drainLimit])
					w.(http.Flusher).Flush()
				}
			}},
		{name: "endless stream not reused", wantConns: 2,
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/next" {
					return
				}
				for r.Context().Err() == nil {
					if _, err := io.WriteString(w, "data: tick\n\n"); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					time.Sleep(time.Millisecond)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, conns := newServer(t, plainServer, tt.handler)
			tr := newTransport(t)
			req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp.Body.Close()
			if d := time.Since(start); d > time.Second {
				t.Errorf("Close took %v", d)
			}
			resp.Body.Close() // twice is harmless
			if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
				t.Errorf("Read after Close succeeded")
			}
			do(t, tr, http.MethodGet, ts.URL+"/next", nil, nil)
			if n := conns.Load(); n != tt.wantConns {
				t.Errorf("server saw %d connections, want %d", n, tt.wantConns)
			}
		})
	}
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// TestStaleConn checks requests on a connection the server closed while
// it was idle, or closed on receiving the next request: a replayable
// request is retried once on a new connection; any other fails rather than
// being sent twice.
func TestStaleConn(t *testing.T) {
	t.Parallel()
	// closeAfterOne answers one request per connection then closes it,
	// though the response says nothing of it.
	closeAfterOne := func(_ int, c net.Conn) { respondEach(c, okResponse, 1) }
	tests := []struct {
		name    string
		method  string
		body    string
		getBody bool
		header  http.Header
		wantErr bool
	}{
		{name: "get retried", method: http.MethodGet},
		{name: "post without GetBody fails", method: http.MethodPost, body: "once", wantErr: true},
		{name: "post with GetBody fails (not idempotent)", method: http.MethodPost, body: "once", getBody: true, wantErr: true},
		{name: "post with GetBody and Idempotency-Key retried", method: http.MethodPost, body: "twice", getBody: true,
			header: http.Header{"Idempotency-Key": {"k1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var bodies []string // what the server read, in order
			url, conns := rawServer(t, func(n int, c net.Conn) {
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					b, _ := io.ReadAll(req.Body)
					mu.Lock()
					bodies = append(bodies, string(b))
					mu.Unlock()
					if n == 1 && i == 1 {
						return // read the second request, then close
					}
					io.WriteString(c, okResponse)
				}
			})
			tr := newTransport(t)
			do(t, tr, http.MethodGet, url, nil, nil)
			req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
			if !tt.getBody {
				req.GetBody = nil
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := tr.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			want := []string{"", tt.body}
			if err == nil {
				resp.Body.Close()
				want = append(want, tt.body)
				if n := conns.Load(); n != 2 {
					t.Errorf("server saw %d connections, want 2", n)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(want, bodies); diff != "" {
				t.Errorf("request bodies the server read (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("server closes after each response", func(t *testing.T) {
		t.Parallel()
		url, conns := rawServer(t, closeAfterOne)
		tr := newTransport(t)
		for i := range 20 {
			if _, body := do(t, tr, http.MethodGet, url, nil, nil); body != "ok" {
				t.Fatalf("request %d: body %q", i, body)
			}
			if i%2 == 0 {
				time.Sleep(5 * time.Millisecond) // let the FIN arrive: the probe catches it
			}
		}
		if n := conns.Load(); n != 20 {
			t.Errorf("server saw %d connections, want 20", n)
		}
	})
	t.Run("server without keep-alives", func(t *testing.T) {
		t.Parallel()
		ts, conns := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}))
		ts.Config.SetKeepAlivesEnabled(false)
		tr := newTransport(t)
		for range 5 {
			do(t, tr, http.MethodPost, ts.URL, strings.NewReader("body"), nil)
		}
		if n := conns.Load(); n != 5 {
			t.Errorf("server saw %d connections, want 5", n)
		}
	})
}

// TestIdlePool checks MaxIdleConnsPerHost, IdleConnTimeout (on take and
// on put) and CloseIdleConnections, in a bubble with a fake clock.
func TestIdlePool(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pn := newPipeNet()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-release
			}
		})}
		go srv.Serve(pn)
		dials := 0
		tr := &Transport{Proxy: noProxy, MaxIdleConnsPerHost: 3, IdleConnTimeout: 10 * time.Second,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials++
				return pn.DialContext(ctx, network, addr)
			}}
		key := connKey{addr: "fake.test:80"}
		check := func(step string, wantDials, wantIdle int) {
			t.Helper()
			if dials != wantDials || tr.idle.idleLen(key) != wantIdle {
				t.Errorf("%s: %d dials, %d idle; want %d, %d", step, dials, tr.idle.idleLen(key), wantDials, wantIdle)
			}
		}

		var bodies []io.ReadCloser
		for range 5 {
			req, _ := http.NewRequest(http.MethodGet, "http://fake.test/hold", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, resp.Body)
		}
		close(release)
		for _, b := range bodies {
			io.Copy(io.Discard, b)
			b.Close()
		}
		check("five at once, then idle", 5, 3)
		do(t, tr, http.MethodGet, "http://fake.test/", nil, nil)
		check("one more", 5, 3)

		time.Sleep(6 * time.Second)
		do(t, tr, http.MethodGet, "http://fake.test/", nil, nil)
		check("6s later", 5, 3)
		time.Sleep(6 * time.Second) // the two below the top are 12s idle
		do(t, tr, http.MethodGet, "http://fake.test/", nil, nil)
		check("12s later: put drops the stale", 5, 1)
		time.Sleep(11 * time.Second)
		do(t, tr, http.MethodGet, "http://fake.test/", nil, nil)
		check("23s later: take finds it stale", 6, 1)

		tr.CloseIdleConnections()
		check("CloseIdleConnections", 6, 0)
		do(t, tr, http.MethodGet, "http://fake.test/", nil, nil)
		check("after CloseIdleConnections", 7, 1)

		tr.CloseIdleConnections()
		srv.Close()
		time.Sleep(time.Second)
	})
}

// TestStreaming checks that a streamed body reaches the caller as it is
// written: the first event is read before the server writes the last.
func TestStreaming(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	ts, _ := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-hold
		io.WriteString(w, "event: message_stop\ndata: {}\n\n")
	}))
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(`{"stream":true}`))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "event: message_start\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
	close(hold)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: {}\n\nevent: message_stop\ndata: {}\n\n"; string(rest) != want {
		t.Errorf("rest = %q, want %q", rest, want)
	}
}

// TestConcurrent runs 64 goroutines of 200 requests each on one
// Transport; run it with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	ts, _ := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("n")) // echo, so bodies cannot mix up
		if r.URL.Query().Get("chunked") == "" {
			return
		}
		w.(http.Flusher).Flush()
		io.WriteString(w, "!")
	}))
	tr := newTransport(t)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 200 {
				n := fmt.Sprintf("%d-%d", g, i)
				q := "?n=" + n
				want := n
				if i%3 == 0 {
					q += "&chunked=1"
					want += "!"
				}
				req, _ := http.NewRequest(http.MethodGet, ts.URL+q, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				var buf bytes.Buffer
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || buf.String() != want {
					t.Errorf("body %q, %v; want %q", buf.String(), err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
