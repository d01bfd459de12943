package fakeanthropic_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

func TestInstant(t *testing.T) {
	t.Parallel()
	u := fakeanthropic.Usage{Input: 5, Output: 6, CacheWrite5m: 7, CacheWrite1h: 8, CacheRead: 9}
	tests := []struct {
		name   string
		cfg    fakeanthropic.InstantConfig
		body   string
		stream bool
		want   claude.MessageUsage
	}{
		{"json", fakeanthropic.InstantConfig{Usage: u, Model: "m"}, jsonBody, false,
			claude.MessageUsage{Model: "m", Counts: counts(u), StopReason: "end_turn", Complete: true}},
		{"stream", fakeanthropic.InstantConfig{Usage: u, Model: "m"}, streamBody, true,
			claude.MessageUsage{Model: "m", Counts: counts(u), StopReason: "end_turn", Complete: true}},
		{"stream flushed per event", fakeanthropic.InstantConfig{Usage: u, Model: "m", FlushEachEvent: true}, streamBody, true,
			claude.MessageUsage{Model: "m", Counts: counts(u), StopReason: "end_turn", Complete: true}},
		{"defaults", fakeanthropic.InstantConfig{}, `{"stream" :	true}`, true,
			claude.MessageUsage{Model: fakeanthropic.DefaultModel, Counts: counts(fakeanthropic.DefaultUsage), StopReason: "end_turn", Complete: true}},
		{"stream false", fakeanthropic.InstantConfig{}, `{"stream":false,"x":{"stream":1}}`, false,
			claude.MessageUsage{Model: fakeanthropic.DefaultModel, Counts: counts(fakeanthropic.DefaultUsage), StopReason: "end_turn", Complete: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := fakeanthropic.NewInstant(tt.cfg)
			ts := start(t, in)
			for i := 1; i <= 3; i++ {
				r, b := post(t, ts.URL, fakeanthropic.MessagesPath, tt.body)
				if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/event-stream") != tt.stream {
					t.Errorf("Content-Type %q for stream=%v", ct, tt.stream)
				}
				got, err := parse(t, tt.stream, b)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.want
				want.ID = fmt.Sprintf("msg_instant%016d", i)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("request %d (-want +got):\n%s", i, diff)
				}
			}
			if n := in.Count(); n != 3 {
				t.Errorf("Count %d, want 3", n)
			}
		})
	}
	t.Run("other paths", func(t *testing.T) {
		t.Parallel()
		ts := start(t, fakeanthropic.NewInstant(fakeanthropic.InstantConfig{Usage: u}))
		if r, b := post(t, ts.URL, fakeanthropic.CountTokensPath, jsonBody); r.StatusCode != 200 || string(b) != `{"input_tokens":29}` {
			t.Errorf("count_tokens: %d %s", r.StatusCode, b)
		}
		if r, _ := post(t, ts.URL, "/v1/other", jsonBody); r.StatusCode != 404 {
			t.Errorf("unknown path: %d", r.StatusCode)
		}
	})
}

// raceEnabled reports whether the test binary was built with -race, under
// which sync.Pool drops items on purpose (and so allocates).
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// discard is a minimal http.ResponseWriter and http.Flusher that keeps
// nothing but the header map, which it reuses.
type discard struct {
	h      http.Header
	n      int
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Flush()                      {}

// replay is a request body that can be rewound.
type replay struct{ bytes.Reader }

func (*replay) Close() error { return nil }

// direct calls h.ServeHTTP for body, reusing the request and the writer:
// what net/http would allocate is not counted.
type direct struct {
	h    http.Handler
	req  *http.Request
	body *replay
	data []byte
	w    *discard
}

func newDirect(h http.Handler, body string) *direct {
	d := &direct{h: h, body: &replay{}, data: []byte(body), w: &discard{h: http.Header{}}}
	d.req = httptest.NewRequest(http.MethodPost, fakeanthropic.MessagesPath, nil)
	return d
}

func (d *direct) serve() {
	d.body.Reset(d.data)
	d.req.Body = d.body
	clear(d.w.h)
	d.w.n = 0
	d.h.ServeHTTP(d.w, d.req)
}

func TestInstantDoesNotAllocate(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items under -race")
	}
	in := fakeanthropic.NewInstant(fakeanthropic.InstantConfig{FlushEachEvent: true})
	for _, body := range []string{jsonBody, streamBody} {
		d := newDirect(in, body)
		if allocs := testing.AllocsPerRun(1000, d.serve); allocs != 0 {
			t.Errorf("%d allocations per request, want 0 (body %s)", int(allocs), body)
		}
		if d.w.status != 200 || d.w.n == 0 {
			t.Errorf("status %d, %d bytes", d.w.status, d.w.n)
		}
	}
}

// BenchmarkServerJSON measures a non-streaming answer: Instant and Server
// called directly (what net/http adds is not counted), and Instant through
// a loopback connection with net/http's client and server.
func BenchmarkServerJSON(b *testing.B) { benchmarkServer(b, jsonBody) }

// BenchmarkServerSSE measures a streamed answer, as BenchmarkServerJSON.
func BenchmarkServerSSE(b *testing.B) { benchmarkServer(b, streamBody) }

func benchmarkServer(b *testing.B, body string) {
	b.Run("instant", func(b *testing.B) {
		d := newDirect(fakeanthropic.NewInstant(fakeanthropic.InstantConfig{}), body)
		b.ReportAllocs()
		for b.Loop() {
			d.serve()
		}
		b.SetBytes(int64(d.w.n))
	})
	if body == streamBody {
		b.Run("instant-flush-each-event", func(b *testing.B) {
			d := newDirect(fakeanthropic.NewInstant(fakeanthropic.InstantConfig{FlushEachEvent: true}), body)
			b.ReportAllocs()
			for b.Loop() {
				d.serve()
			}
			b.SetBytes(int64(d.w.n))
		})
	}
	b.Run("server", func(b *testing.B) {
		srv := &fakeanthropic.Server{}
		d := newDirect(srv, body)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d.serve()
			if i++; i%1024 == 0 {
				srv.Reset()
			}
		}
	})
	b.Run("instant-loopback", func(b *testing.B) {
		ts := start(b, fakeanthropic.NewInstant(fakeanthropic.InstantConfig{}))
		client := ts.Client()
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequest(http.MethodPost, ts.URL+fakeanthropic.MessagesPath, strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			r, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	})
}
