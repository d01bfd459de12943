package proxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authpool/authpool/claude/proxy"
)

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return &countingConn{Conn: c, writes: &l.writes}, err
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// An SSE answer whose upstream sent it whole reaches the caller in one
// write to the connection, headers, events and end together, and the
// upstream gets the request, headers and body, in one write too: no flush
// of the headers alone, none after the stream's last bytes, which the
// server sends with its end.
func TestProxyWholeStreamInOneWrite(t *testing.T) {
	t.Parallel()
	stream := func(i int64) string {
		return "event: message_start\n" + `data: {"type":"message_start","message":{"id":"msg_whole_` + strconv.FormatInt(i, 10) + `","type":"message","role":"assistant","model":"` + model +
			`","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"output_tokens":1}}}` + "\n\n" +
			"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}` + "\n\n" +
			"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
	}
	var answered atomic.Int64
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		stream := stream(answered.Add(1))
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(stream)))
		_, _ = io.WriteString(w, stream) // one write, at the handler's end
	}))
	toUpstream := &countingListener{Listener: upstream.Listener}
	upstream.Listener = toUpstream
	upstream.Start()
	t.Cleanup(upstream.Close)

	p := newProxied(t, frontSubs)
	var requestWrites atomic.Int64 // the proxy's, to the upstream
	dialer := &net.Dialer{}
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, writes: &requestWrites}, nil
	}}
	t.Cleanup(base.CloseIdleConnections)
	px, err := proxy.New(&proxy.Transport{Pool: p.pool, Base: base}, frontCallers, upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewUnstartedServer(px)
	toCaller := &countingListener{Listener: ps.Listener}
	ps.Listener = toCaller
	ps.Start()
	t.Cleanup(ps.Close)

	body := `{"model":"` + model + `","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	for i := range 3 {
		callerWrites, upstreamWrites, requests := toCaller.writes.Load(), toUpstream.writes.Load(), requestWrites.Load()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ps.URL+"/v1/messages", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Api-Key", keyBob)
		resp, err := ps.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || string(got) != stream(int64(i+1)) {
			t.Fatalf("request %d: %d %q, %v; want 200 and the stream", i, resp.StatusCode, got, err)
		}
		if n := toCaller.writes.Load() - callerWrites; n != 1 {
			t.Errorf("request %d: the answer took %d writes to the caller's connection; want 1", i, n)
		}
		if n := requestWrites.Load() - requests; n != 1 {
			t.Errorf("request %d: the request took %d writes to the upstream's connection; want 1", i, n)
		}
		if n := toUpstream.writes.Load() - upstreamWrites; n != 1 {
			t.Errorf("request %d: the upstream's answer took %d writes; want 1 (the test's upstream is off)", i, n)
		}
	}
	if s := p.session(t, "bob"); s.Requests != 3 || s.Tokens.Output != 3*7 {
		t.Errorf("bob's session: %d requests, %+v; want 3, each with its usage", s.Requests, s.Tokens)
	}
}
