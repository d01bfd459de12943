package h1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRoundTrip compares h1 with net/http's Transport on loopback
// against a server answering a 600-byte JSON body with Content-Length,
// over kept-alive connections, one request at a time (seq) and from
// GOMAXPROCS goroutines (parallel). cpu-ns/op is the process's CPU time
// (client and server) per request, where the platform reports it.
func BenchmarkRoundTrip(b *testing.B) {
	payload := `{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"` +
		strings.Repeat("lorem ipsum ", 38) + `"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":96}}`
	length := strconv.Itoa(len(payload))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		io.WriteString(w, payload)
	}))
	defer ts.Close()

	transports := []struct {
		name string
		new  func() http.RoundTripper
	}{
		{"h1", func() http.RoundTripper { return &Transport{Proxy: noProxy} }},
		{"nethttp", func() http.RoundTripper {
			return &http.Transport{Proxy: noProxy, MaxIdleConnsPerHost: 256}
		}},
	}
	for _, tt := range transports {
		b.Run(tt.name+"/seq", func(b *testing.B) {
			rt := tt.new()
			defer rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/messages", nil)
			buf := make([]byte, 4096)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				roundTrip(b, rt, req, buf, len(payload))
			}
			reportCPU(b, cpu)
		})
		b.Run(tt.name+"/parallel", func(b *testing.B) {
			rt := tt.new()
			defer rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			b.ReportAllocs()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/messages", nil)
				buf := make([]byte, 4096)
				for pb.Next() {
					roundTrip(b, rt, req, buf, len(payload))
				}
			})
			reportCPU(b, cpu)
		})
	}
}

func roundTrip(b *testing.B, rt http.RoundTripper, req *http.Request, buf []byte, want int) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		m, err := resp.Body.Read(buf)
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	resp.Body.Close()
	if n != want {
		b.Fatalf("read %d bytes, want %d", n, want)
	}
}

func reportCPU(b *testing.B, start time.Duration) {
	if start < 0 {
		return
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
