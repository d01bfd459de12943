package h1

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is what a caller sees of a response.
type result struct {
	Status           string
	Proto            string
	ContentLength    int64
	TransferEncoding []string
	Uncompressed     bool
	Close            bool
	Header           http.Header
	Body             string
	Trailer          http.Header
}

func summarize(resp *http.Response, body string) result {
	h := resp.Header.Clone()
	h.Del("Date")
	return result{
		Status: resp.Status, Proto: resp.Proto, ContentLength: resp.ContentLength,
		TransferEncoding: resp.TransferEncoding, Uncompressed: resp.Uncompressed,
		Close: resp.Close, Header: h, Body: body, Trailer: resp.Trailer,
	}
}

func gzipped(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

const jsonBody = `{"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"Hello!"}],"usage":{"input_tokens":12,"output_tokens":6}}`

// TestResponses checks that each kind of response reaches the caller as
// the server sent it and exactly as net/http's Transport presents it.
func TestResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   string
		header   http.Header
		handler  http.HandlerFunc
		wantBody string
	}{
		{name: "json with content-length", wantBody: jsonBody,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(jsonBody)))
				w.Header().Add("X-Multi", "a")
				w.Header().Add("X-Multi", "b")
				io.WriteString(w, jsonBody)
			}},
		{name: "chunked", wantBody: "first;second",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "first;")
				w.(http.Flusher).Flush()
				io.WriteString(w, "second")
			}},
		{name: "trailers", wantBody: "data",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "data")
				w.(http.Flusher).Flush()
				w.Header().Set("X-Sum", "42")
			}},
		{name: "gzip decoded", wantBody: jsonBody,
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept-Encoding") != "gzip" {
					http.Error(w, "no gzip asked", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzipped(jsonBody))
			}},
		{name: "gzip passed through when the caller asked",
			header:   http.Header{"Accept-Encoding": {"gzip, br"}},
			wantBody: string(gzipped(jsonBody)),
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzipped(jsonBody))
			}},
		{name: "103 early hints skipped", wantBody: "final",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Link", "</style.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "final")
			}},
		{name: "head", method: http.MethodHead,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Length", "600")
			}},
		{name: "no content",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}},
		{name: "error status", wantBody: "nope\n",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "nope", http.StatusTooManyRequests)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, conns := newServer(t, plainServer, tt.handler)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			nt := &http.Transport{Proxy: noProxy}
			defer nt.CloseIdleConnections()
			want := summarize(do(t, nt, method, ts.URL, nil, tt.header))
			tr := newTransport(t)
			for range 3 { // the second and third on the reused connection
				got := summarize(do(t, tr, method, ts.URL, nil, tt.header))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("h1 and net/http differ (-net/http +h1):\n%s", diff)
				}
				if got.Body != tt.wantBody {
					t.Fatalf("body = %q, want %q", got.Body, tt.wantBody)
				}
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("server saw %d connections, want 2 (one per transport)", n)
			}
		})
	}
}

// TestRawResponses checks responses written byte by byte (reason
// phrases, spacing, HTTP/1.0, close-delimited bodies) against what the
// server sent and against net/http.
func TestRawResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		keepAlive bool // the response leaves the connection open
		want      result
	}{
		{name: "custom reason phrase and repeated headers", keepAlive: true,
			raw: "HTTP/1.1 299 Fine Thing\r\nX-Multi: a\r\nx-multi: b\r\nX-Space:   padded value  \r\nContent-Length: 5\r\n\r\nhello",
			want: result{Status: "299 Fine Thing", Proto: "HTTP/1.1", ContentLength: 5, Body: "hello",
				Header: http.Header{"X-Multi": {"a", "b"}, "X-Space": {"padded value"}, "Content-Length": {"5"}}}},
		{name: "close-delimited HTTP/1.0",
			raw: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
			want: result{Status: "200 OK", Proto: "HTTP/1.0", ContentLength: -1, Close: true, Body: "until the end",
				Header: http.Header{"Content-Type": {"text/plain"}}}},
		{name: "close-delimited HTTP/1.1",
			raw: "HTTP/1.1 200 OK\r\n\r\nstreamed to close",
			want: result{Status: "200 OK", Proto: "HTTP/1.1", ContentLength: -1, Close: true, Body: "streamed to close",
				Header: http.Header{}}},
		{name: "chunked with trailer", keepAlive: true,
			raw: "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n",
			want: result{Status: "200 OK", Proto: "HTTP/1.1", ContentLength: -1, TransferEncoding: []string{"chunked"},
				Body: "abcde", Header: http.Header{}, Trailer: http.Header{"X-Sum": {"9"}}}},
		{name: "connection close", raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			want: result{Status: "200 OK", Proto: "HTTP/1.1", ContentLength: 2, Close: true, Body: "ok",
				Header: http.Header{"Content-Length": {"2"}}}}, // ReadResponse removes Connection: close
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, conns := rawServer(t, func(_ int, c net.Conn) {
				max := 1
				if tt.keepAlive {
					max = 0
				}
				respondEach(c, tt.raw, max)
			})
			tr := newTransport(t)
			for range 2 {
				got := summarize(do(t, tr, http.MethodGet, url, nil, http.Header{"Accept-Encoding": {"identity"}}))
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("response (-want +got):\n%s", diff)
				}
			}
			wantConns := int64(2)
			if tt.keepAlive {
				wantConns = 1
			}
			if n := conns.Load(); n != wantConns {
				t.Errorf("server saw %d connections, want %d", n, wantConns)
			}
			nt := &http.Transport{Proxy: noProxy}
			defer nt.CloseIdleConnections()
			if diff := cmp.Diff(tt.want, summarize(do(t, nt, http.MethodGet, url, nil, http.Header{"Accept-Encoding": {"identity"}}))); diff != "" {
				t.Errorf("net/http differs from the wanted result (-want +net/http):\n%s", diff)
			}
		})
	}
}

// sent is what a server read of a request.
type sent struct {
	Method, RequestURI, Host string
	Header                   http.Header
	ContentLength            int64
	TransferEncoding         []string
	Body                     string
	Trailer                  http.Header
}

// TestRequestAsSent checks that the server reads each request as the
// caller made it, exactly as it reads net/http's, and that RoundTrip leaves
// the request unchanged.
func TestRequestAsSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		body       func() io.Reader
		header     http.Header
		wantHeader http.Header
	}{
		{name: "get with repeated headers", method: http.MethodGet,
			header: http.Header{"X-Multi": {"one", "two"}, "Authorization": {"Bearer tok"}, "Anthropic-Version": {"2023-06-01"}},
			wantHeader: http.Header{"X-Multi": {"one", "two"}, "Authorization": {"Bearer tok"}, "Anthropic-Version": {"2023-06-01"},
				"Accept-Encoding": {"gzip"}, "User-Agent": {"Go-http-client/1.1"}}},
		{name: "post with length", method: http.MethodPost,
			body:   func() io.Reader { return strings.NewReader(jsonBody) },
			header: http.Header{"Content-Type": {"application/json"}, "Accept-Encoding": {"br"}, "User-Agent": {"claude-cli/1.0"}},
			wantHeader: http.Header{"Content-Type": {"application/json"}, "Accept-Encoding": {"br"}, "User-Agent": {"claude-cli/1.0"},
				"Content-Length": {strconv.Itoa(len(jsonBody))}}},
		{name: "post chunked", method: http.MethodPost,
			body:       func() io.Reader { return io.MultiReader(strings.NewReader("part1,"), strings.NewReader("part2")) },
			header:     http.Header{"Accept-Encoding": {"identity"}},
			wantHeader: http.Header{"Accept-Encoding": {"identity"}, "User-Agent": {"Go-http-client/1.1"}}},
		{name: "head", method: http.MethodHead,
			wantHeader: http.Header{"User-Agent": {"Go-http-client/1.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan sent, 1)
			url, _ := rawServer(t, func(_ int, c net.Conn) {
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					b, _ := io.ReadAll(req.Body)
					got <- sent{req.Method, req.RequestURI, req.Host, req.Header, req.ContentLength,
						req.TransferEncoding, string(b), req.Trailer}
					io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
				}
			})
			send := func(rt http.RoundTripper) sent {
				var body io.Reader
				if tt.body != nil {
					body = tt.body()
				}
				req, _ := http.NewRequest(tt.method, url+"/v1/messages?beta=true", body)
				for k, v := range tt.header {
					req.Header[k] = v
				}
				before := req.Header.Clone()
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if diff := cmp.Diff(before, req.Header); diff != "" {
					t.Errorf("RoundTrip changed the request header (-before +after):\n%s", diff)
				}
				if resp.Request != req {
					t.Errorf("resp.Request is not the request")
				}
				return <-got
			}
			h1 := send(newTransport(t))
			if diff := cmp.Diff(tt.wantHeader, h1.Header); diff != "" {
				t.Errorf("header as the server read it (-want +got):\n%s", diff)
			}
			nt := &http.Transport{Proxy: noProxy}
			defer nt.CloseIdleConnections()
			if diff := cmp.Diff(send(nt), h1); diff != "" {
				t.Errorf("h1 and net/http requests differ (-net/http +h1):\n%s", diff)
			}
		})
	}
}

// fakeRoundTripper answers every request with status 299 and counts its
// requests and CloseIdleConnections calls.
type fakeRoundTripper struct {
	mu        sync.Mutex
	requests  int
	closeIdle int
}

func (f *fakeRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody(req)
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	return &http.Response{StatusCode: 299, Body: http.NoBody, Request: req}, nil
}

func (f *fakeRoundTripper) CloseIdleConnections() {
	f.mu.Lock()
	f.closeIdle++
	f.mu.Unlock()
}

// TestFallback checks which requests go to Fallback.
func TestFallback(t *testing.T) {
	t.Parallel()
	ts, _ := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	proxyURL, _ := url.Parse("http://proxy.example:3128")
	viaProxy := func(*http.Request) (*url.URL, error) { return proxyURL, nil }
	tests := []struct {
		name         string
		url          string
		header       http.Header
		proxy        func(*http.Request) (*url.URL, error)
		wantFallback bool
	}{
		{name: "plain http", url: ts.URL},
		{name: "proxy configured", url: ts.URL, proxy: viaProxy, wantFallback: true},
		{name: "upgrade", url: ts.URL, header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}, wantFallback: true},
		{name: "expect 100-continue", url: ts.URL, header: http.Header{"Expect": {"100-continue"}}, wantFallback: true},
		{name: "other scheme", url: "ftp://example.com/file", wantFallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeRoundTripper{}
			tr := &Transport{Proxy: noProxy, Fallback: fake}
			if tt.proxy != nil {
				tr.Proxy = tt.proxy
			}
			defer tr.CloseIdleConnections()
			resp, _ := do(t, tr, http.MethodPost, tt.url, strings.NewReader("x"), tt.header)
			if got := resp.StatusCode == 299; got != tt.wantFallback {
				t.Errorf("fallback used = %v (status %d), want %v", got, resp.StatusCode, tt.wantFallback)
			}
			tr.CloseIdleConnections()
			if fake.closeIdle != 1 {
				t.Errorf("fallback's CloseIdleConnections called %d times, want 1", fake.closeIdle)
			}
		})
	}
}
