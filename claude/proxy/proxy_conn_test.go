package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// Slow bodies hold no more memory than they sent, and are cut by the
// body's deadline: 50 connections of one caller, each declaring 32 MB (the
// cap) and sending a byte every 20 ms, hold less than 10 MB of heap
// between them, and each gets 408 timeout_error, in Anthropic's shape, when
// BodyTimeout has passed, and its connection closed.
//
// Not parallel: it measures the heap, which other tests would share.
func TestProxySlowBodies(t *testing.T) {
	const (
		conns   = 50
		timeout = 3 * time.Second
		maxHeap = 10 << 20
	)
	p := newProxied(t, frontSubs)
	p.proxy.BodyTimeout = timeout
	var entered atomic.Int32
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		p.proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)

	before := heapInUse()
	stop := make(chan struct{})
	var trickling sync.WaitGroup
	defer func() {
		close(stop)
		trickling.Wait()
	}()
	start := time.Now()
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", ps.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs[i] = c
		head := fmt.Sprintf("POST /v1/messages HTTP/1.1\r\nHost: proxy\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
			keyBob, 32<<20)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		trickling.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte(" ")); err != nil {
						return // cut
					}
				}
			}
		})
	}
	for entered.Load() < conns {
		if time.Since(start) > timeout/2 {
			t.Fatalf("only %d of %d requests reached the proxy in %v", entered.Load(), conns, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a few more bytes each
	if held := heapInUse() - before; held > maxHeap {
		t.Errorf("%d slow bodies declaring 32 MB hold %.1f MB of heap; want less than %d MB", conns, float64(held)/(1<<20), maxHeap>>20)
	} else {
		t.Logf("%d slow bodies declaring 32 MB hold %.2f MB of heap", conns, float64(held)/(1<<20))
	}

	const want = `{"type":"error","error":{"type":"timeout_error","message":"authpool proxy: the body did not arrive within 3s: send it faster, or ask the proxy's operator for a longer body timeout"}}`
	for i, c := range cs {
		_ = c.SetReadDeadline(start.Add(timeout + 10*time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("connection %d: no answer %v after it started: %v", i, time.Since(start), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || string(body) != want {
			t.Errorf("connection %d: %d %s; want 408 %s", i, resp.StatusCode, body, want)
		}
		if since := time.Since(start); since < timeout {
			t.Errorf("connection %d: cut after %v, before its deadline of %v", i, since, timeout)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("connection %d: still open after its 408", i)
		}
	}
	if got := p.logs.String(); !strings.Contains(got, "kind=body-timeout status=408 caller=bob count=1") {
		t.Errorf("the 408s were not logged:\n%s", got)
	}
}

// heapInUse returns the bytes of heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// The body's deadline is lifted once the body is in: an answer streams
// longer than BodyTimeout, and longer than a server's ReadTimeout (which
// net/http lifts once the body is read: why a ReadTimeout does the proxy's
// servers no harm, docs/proxy.md).
func TestProxyStreamOutlivesBodyDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 200 * time.Millisecond
	for _, tt := range []struct {
		name        string
		bodyTimeout time.Duration
		readTimeout time.Duration // the server's
		wantWhole   bool
	}{
		{"BodyTimeout", deadline, 0, true},
		{"server ReadTimeout", -1, deadline, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProxied(t, frontSubs)
			p.proxy.BodyTimeout = tt.bodyTimeout
			ps := httptest.NewUnstartedServer(p.proxy)
			ps.Config.ReadTimeout = tt.readTimeout
			ps.Start()
			t.Cleanup(ps.Close)
			hold := fakeanthropic.NewHold("message_stop")
			defer hold.Release()
			resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
			resp.BeforeEvent = hold.Wait
			p.up.SetDefault(resp)
			client := sdk(ps.URL, ps.Client().Transport, &wireTee{}, option.WithAPIKey(keyBob))

			s := client.Messages.NewStreaming(t.Context(), params)
			defer s.Close()
			var last string
			go func() {
				<-hold.Reached()
				time.Sleep(3 * deadline) // the answer streams on past the deadline
				hold.Release()
			}()
			for s.Next() {
				last = s.Current().Type
			}
			whole := s.Err() == nil && last == "message_stop"
			if whole != tt.wantWhole {
				t.Errorf("the stream ended on %q (error %v); whole %v, want %v", last, s.Err(), whole, tt.wantWhole)
			}
		})
	}
}

// A caller that stops reading its answer is cut once a write has blocked
// for (at least half of) WriteTimeout, while the answer streams on: its
// handler returns, and the usage read so far is recorded.
func TestProxyWriteDeadline(t *testing.T) {
	t.Parallel()
	const writeTimeout = 200 * time.Millisecond
	// An upstream that streams pings until its request ends.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		start := "event: message_start\n" + `data: {"type":"message_start","message":{"id":"msg_stopped","type":"message","role":"assistant","model":"` + model +
			`","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"output_tokens":1}}}` + "\n\n"
		ping := []byte(strings.Repeat("event: ping\ndata: {\"type\": \"ping\"}\n\n", 1000))
		if _, err := io.WriteString(w, start); err != nil {
			return
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(ping); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(up.Close)
	p := newProxied(t, frontSubs)
	proxy, err := proxy.New(p.tr, frontCallers, up.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy.WriteTimeout = writeTimeout
	done := make(chan time.Time, 1)
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- time.Now() }() // even when ReverseProxy aborts the handler
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)

	c, err := net.Dial("tcp", ps.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := `{"model":"` + model + `","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(c, "POST /v1/messages HTTP/1.1\r\nHost: proxy\r\nx-api-key: %s\r\nContent-Length: %d\r\n\r\n%s", keyBob, len(body), body)
	if _, err := io.ReadFull(c, make([]byte, 1024)); err != nil { // the answer started; then the caller stops reading
		t.Fatal(err)
	}
	stopped := time.Now()
	select {
	case end := <-done:
		if d := end.Sub(stopped); d < writeTimeout/2 {
			t.Errorf("the handler returned %v after the caller stopped reading, before the write deadline", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still writes to a caller that stopped reading 10 s ago")
	}
	if s := p.session(t, "bob"); s.Requests != 1 || s.Tokens.Input != 100 {
		t.Errorf("the stopped stream's usage: %d requests, %+v; want message_start's, once", s.Requests, s.Tokens)
	}
}
