package h1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReverseProxy runs h1 under httputil.ReverseProxy, as the proxy
// does: a streamed response with an Early Hints response first reaches the
// client whole, the 103 forwarded, over one upstream connection.
func TestReverseProxy(t *testing.T) {
	t.Parallel()
	const stream = "event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n"
	backend, conns := newServer(t, plainServer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Link", "</hint>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Echo", string(b))
		for ev := range strings.SplitAfterSeq(stream, "\n\n") {
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
	}))
	u, _ := url.Parse(backend.URL)
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: newTransport(t),
	})
	defer front.Close()
	client := &http.Transport{Proxy: noProxy}
	defer client.CloseIdleConnections()

	for i := range 5 {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, h.Get("Link"))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace),
			http.MethodPost, front.URL+"/v1/messages", strings.NewReader(`{"stream":true}`))
		resp, err := client.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != stream {
			t.Fatalf("request %d: body %q, %v", i, b, err)
		}
		if got := resp.Header.Get("X-Echo"); got != `{"stream":true}` {
			t.Errorf("request %d: upstream read body %q", i, got)
		}
		if diff := cmp.Diff([]string{"</hint>; rel=preload"}, hints); diff != "" {
			t.Errorf("request %d: 1xx responses forwarded (-want +got):\n%s", i, diff)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want 1", n)
	}
}
