package h1

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// cancelCases are the moments a request's context can end; the server's
// handler blocks on hold at the matching point.
var cancelCases = []struct {
	name     string
	body     string // request body
	inBody   bool   // the cancellation comes after the response header
	canceled bool   // the context has ended before RoundTrip
}{
	{name: "before the request", canceled: true},
	{name: "writing the body", body: strings.Repeat("b", 1<<20)},
	{name: "waiting for headers"},
	{name: "mid-body", inBody: true},
}

// cancelHandler answers as cancelCases need: it reads no request body,
// and writes the header and a first chunk when inBody, before waiting for
// hold.
func cancelHandler(hold <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ok") != "" {
			return
		}
		if r.URL.Query().Get("inBody") != "" {
			io.WriteString(w, "first chunk")
			w.(http.Flusher).Flush()
		}
		<-hold
	}
}

// checkCanceled runs a request whose context is canceled at the case's
// moment and checks the error wraps context.Canceled.
func checkCanceled(t *testing.T, tr *Transport, url string, tc int) {
	t.Helper()
	c := cancelCases[tc]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.canceled {
		cancel()
	} else {
		time.AfterFunc(50*time.Millisecond, cancel)
	}
	if c.inBody {
		url += "?inBody=1"
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	resp, err := tr.RoundTrip(req)
	if c.inBody {
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping context.Canceled", err)
	}
}

// TestCancel checks that ending the context ends the exchange at any
// point, with an error wrapping context.Canceled, and leaves no goroutine
// behind: the bubble's http.Server and Transport run on an in-memory
// network, and synctest.Test fails if a goroutine is still blocked at the
// end.
func TestCancel(t *testing.T) {
	t.Parallel()
	for i, c := range cancelCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				hold := make(chan struct{})
				pn := newPipeNet()
				srv := &http.Server{Handler: cancelHandler(hold)}
				go srv.Serve(pn)
				tr := &Transport{Proxy: noProxy, DialContext: pn.DialContext}

				do(t, tr, http.MethodGet, "http://fake.test/?ok=1", nil, nil) // so the next reuses a connection
				checkCanceled(t, tr, "http://fake.test/", i)
				want := 0 // the canceled exchange's connection is closed
				if c.canceled {
					want = 1 // no exchange started: the first request's stays
				}
				if n := tr.idle.idleLen(connKey{addr: "fake.test:80"}); n != want {
					t.Errorf("%d idle connections after a canceled request, want %d", n, want)
				}

				close(hold)
				tr.CloseIdleConnections()
				srv.Close()
				time.Sleep(time.Second) // (fake) time for the server's connections to wind down
			})
		})
	}
}

// TestCancelTCP runs the cancellation cases over real sockets.
func TestCancelTCP(t *testing.T) {
	t.Parallel()
	for i, c := range cancelCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			ts, _ := newServer(t, plainServer, cancelHandler(hold))
			defer close(hold)
			checkCanceled(t, newTransport(t), ts.URL, i)
		})
	}
}

// TestResponseHeaderTimeout checks the wait for a response header is
// bounded, and that the connection is not reused.
func TestResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{})
		pn := newPipeNet()
		srv := &http.Server{Handler: cancelHandler(hold)}
		go srv.Serve(pn)
		tr := &Transport{Proxy: noProxy, DialContext: pn.DialContext, ResponseHeaderTimeout: 5 * time.Second}

		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, "http://fake.test/", nil)
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, errHeaderTimeout) {
			t.Errorf("err = %v, want %v", err, errHeaderTimeout)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("RoundTrip returned after %v, want 5s", d)
		}
		close(hold)
		tr.CloseIdleConnections()
		srv.Close()
		time.Sleep(time.Second)
	})
}
