package h1

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestBadResponses checks that a broken response is an error and its
// connection is not reused.
func TestBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		inBody   bool // the error comes from reading the body
		wantErr  error
		wantText string
	}{
		{name: "garbage status line", raw: "HTTP/1.1 abc\r\n\r\n", wantText: "malformed HTTP status code"},
		{name: "too many 1xx", raw: strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", max1xx+1) + okResponse,
			wantText: "informational responses"},
		{name: "truncated body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", inBody: true,
			wantErr: io.ErrUnexpectedEOF},
		{name: "truncated chunked body", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf", inBody: true,
			wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, conns := rawServer(t, func(n int, c net.Conn) {
				if n == 1 {
					respondEach(c, tt.raw, 1)
					return
				}
				respondEach(c, okResponse, 0)
			})
			tr := newTransport(t)
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			resp, err := tr.RoundTrip(req)
			if tt.inBody {
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantText):
				t.Fatalf("err = %v, want it to say %q", err, tt.wantText)
			}
			do(t, tr, http.MethodGet, url, nil, nil)
			if n := conns.Load(); n != 2 {
				t.Errorf("server saw %d connections, want 2", n)
			}
		})
	}
}

// failingConn is a connection whose writes fail, without writing
// anything, once fail is set: a reset the client sees before sending.
type failingConn struct {
	net.Conn
	fail *atomic.Bool
}

func (c failingConn) Write(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, syscall.EPIPE
	}
	return c.Conn.Write(p)
}

// TestNothingWritten checks the retry of a request none of which reached
// a reused connection: any request whose body can be sent again is
// retried, as with net/http.
func TestNothingWritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		getBody bool
		wantErr bool
	}{
		{name: "post with GetBody retried", getBody: true},
		{name: "post without GetBody fails", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			var mu sync.Mutex
			ts, conns := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, string(b))
				mu.Unlock()
			}))
			var fail atomic.Bool
			var d net.Dialer
			tr := newTransport(t)
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				return failingConn{c, &fail}, err
			}
			do(t, tr, http.MethodPost, ts.URL, strings.NewReader("first"), nil)
			fail.Store(true)
			req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader("second"))
			if !tt.getBody {
				req.GetBody = nil
			} else {
				inner := req.GetBody
				req.GetBody = func() (io.ReadCloser, error) {
					fail.Store(false) // the new connection works
					return inner()
				}
			}
			resp, err := tr.RoundTrip(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			want := "first"
			if err == nil {
				resp.Body.Close()
				want += ",second"
				if n := conns.Load(); n != 2 {
					t.Errorf("server saw %d connections, want 2", n)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if s := strings.Join(got, ","); s != want {
				t.Errorf("server read bodies %q, want %q", s, want)
			}
		})
	}
}

// TestGzipBody checks the decoded body's edge cases.
func TestGzipBody(t *testing.T) {
	t.Parallel()
	ts, conns := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/invalid" {
			io.WriteString(w, "not gzip at all")
			return
		}
		w.Write(gzipped(strings.Repeat(jsonBody, 100)))
	}))
	tr := newTransport(t)
	get := func(path string) io.ReadCloser {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Uncompressed {
			t.Fatal("response not decoded")
		}
		return resp.Body
	}

	b := get("/invalid")
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, gzip.ErrHeader) {
		t.Errorf("reading invalid gzip: err = %v, want %v", err, gzip.ErrHeader)
	}
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, gzip.ErrHeader) {
		t.Errorf("second read of invalid gzip: err = %v, want %v", err, gzip.ErrHeader)
	}
	b.Close()

	get("/").Close() // before any Read: drained, reused

	b = get("/")
	if _, err := io.ReadFull(b, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b.Close()
	if _, err := b.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close succeeded")
	}

	b = get("/")
	if got, err := io.ReadAll(b); err != nil || string(got) != strings.Repeat(jsonBody, 100) {
		t.Errorf("body %d bytes, %v", len(got), err)
	}
	b.Close()
	if n := conns.Load(); n != 1 {
		t.Errorf("server saw %d connections, want 1 (bad gzip is no reason to drop a connection)", n)
	}
}

// TestCloseDuringRead checks that Close aborts a Read blocked on the
// server, plain and gzip-decoded.
func TestCloseDuringRead(t *testing.T) {
	t.Parallel()
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			defer close(hold)
			ts, _ := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if gz {
					w.Header().Set("Content-Encoding", "gzip")
					b := gzipped(jsonBody)
					w.Write(b[:20]) // the header and a little
				} else {
					io.WriteString(w, "start")
				}
				w.(http.Flusher).Flush()
				<-hold
			}))
			req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
			resp, err := newTransport(t).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error)
			go func() {
				_, err := io.ReadAll(resp.Body)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond) // let the Read block
			resp.Body.Close()
			select {
			case err := <-done:
				if err == nil {
					t.Error("Read ended without an error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not abort the Read")
			}
		})
	}
}

// TestRequestBodyClosed checks that RoundTrip closes the request body
// exactly once, whatever happens.
func TestRequestBodyClosed(t *testing.T) {
	t.Parallel()
	ts, _ := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	errDial := errors.New("dial refused")
	tests := []struct {
		name    string
		tr      *Transport
		wantErr error
	}{
		{name: "success", tr: &Transport{Proxy: noProxy}},
		{name: "dial error", wantErr: errDial, tr: &Transport{Proxy: noProxy,
			DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, errDial }}},
		{name: "proxy error", wantErr: errDial, tr: &Transport{Proxy: func(*http.Request) (*url.URL, error) { return nil, errDial }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer tt.tr.CloseIdleConnections()
			body := newCloseCounter("payload")
			req, _ := http.NewRequest(http.MethodPost, ts.URL, body)
			resp, err := tt.tr.RoundTrip(req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				resp.Body.Close()
			}
			if n := body.closed.Load(); n != 1 {
				t.Errorf("request body closed %d times, want 1", n)
			}
		})
	}
}
