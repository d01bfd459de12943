package fakeanthropic_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// now is the tests' fixed clock: a whole second, so retry-after and the
// unix-second resets agree exactly.
var now = time.Unix(1_762_800_000, 0)

const model = "claude-sonnet-4-5"

// jsonBody and streamBody are minimal Messages API request bodies.
const (
	jsonBody   = `{"model":"` + model + `","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}`
	streamBody = `{"model":"` + model + `","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
)

// start serves srv on a test server closed with the test.
func start(t testing.TB, srv http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// post sends body to url+path with the headers hdr (name, value pairs) and
// returns the response with its body read.
func post(t testing.TB, url, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// counts is what package claude should read of u.
func counts(u fakeanthropic.Usage) claude.Counts {
	return claude.Counts{Input: u.Input, Output: u.Output, CacheWrite5m: u.CacheWrite5m, CacheWrite1h: u.CacheWrite1h, CacheRead: u.CacheRead}
}

// parse reads the usage of a response body with package claude, as JSON or
// as a stream.
func parse(t *testing.T, stream bool, body []byte) (claude.MessageUsage, error) {
	t.Helper()
	if !stream {
		return claude.ParseMessage(body)
	}
	sr := claude.NewStreamReader(bytes.NewReader(body))
	if _, err := io.Copy(io.Discard, sr); err != nil {
		t.Fatal(err)
	}
	return sr.Usage(), sr.Err()
}

func TestUsageAgreesWithPackageClaude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		usage fakeanthropic.Usage
	}{
		{"default", fakeanthropic.DefaultUsage},
		{"zero", fakeanthropic.Usage{}},
		{"no cache", fakeanthropic.Usage{Input: 1500, Output: 42}},
		{"1h writes only", fakeanthropic.Usage{Input: 3, Output: 900, CacheWrite1h: 40_000, CacheRead: 120_000}},
		{"5m writes only", fakeanthropic.Usage{Input: 3, Output: 1, CacheWrite5m: 7}},
		{"large", fakeanthropic.Usage{Input: 190_000, Output: 64_000, CacheWrite5m: 1 << 30, CacheWrite1h: 1 << 29, CacheRead: 1 << 31}},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				srv := &fakeanthropic.Server{}
				srv.SetDefault(fakeanthropic.OK(tt.usage))
				ts := start(t, srv)
				body := jsonBody
				if stream {
					body = streamBody
				}
				resp, b := post(t, ts.URL, fakeanthropic.MessagesPath, body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, body %s", resp.StatusCode, b)
				}
				got, err := parse(t, stream, b)
				if err != nil {
					t.Fatal(err)
				}
				want := claude.MessageUsage{ID: "msg_0001", Model: model, Counts: counts(tt.usage), StopReason: "end_turn", Complete: true}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("usage read by package claude (-want +got):\n%s", diff)
				}
				if got := resp.Header.Get("Request-Id"); got != "req_0001" {
					t.Errorf("request-id %q, want req_0001", got)
				}
			})
		}
	}
}

func TestWireShape(t *testing.T) {
	t.Parallel()
	resp := fakeanthropic.Response{
		Usage: fakeanthropic.Usage{Input: 1, Output: 2, CacheWrite5m: 3, CacheWrite1h: 4, CacheRead: 5},
		ID:    "msg_x", Model: "claude-test", Text: "Hi there",
	}
	tests := []struct {
		name, body, contentType, want string
	}{{
		name: "json", body: jsonBody, contentType: "application/json",
		want: `{"id":"msg_x","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"Hi there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":7,"cache_read_input_tokens":5,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4},"output_tokens":2,"service_tier":"standard"}}`,
	}, {
		name: "stream", body: streamBody, contentType: "text/event-stream; charset=utf-8",
		want: `event: message_start
data: {"type":"message_start","message":{"id":"msg_x","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":7,"cache_read_input_tokens":5,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4},"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":1,"cache_creation_input_tokens":7,"cache_read_input_tokens":5,"output_tokens":2,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0}}}

event: message_stop
data: {"type":"message_stop"}

`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &fakeanthropic.Server{}
			srv.SetDefault(resp)
			ts := start(t, srv)
			r, b := post(t, ts.URL, fakeanthropic.MessagesPath, tt.body)
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := r.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
		})
	}
}

// recv receives from ch, failing the test if nothing comes for long: a
// guard against a hang, not a timing assumption.
func recv[T any](t *testing.T, ch <-chan T, what string) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing after 10s", what)
		panic("unreachable")
	}
}

// readEvents sends the name of each event of an SSE stream on the channel
// it returns, closed at the end of the stream.
func readEvents(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		br := bufio.NewReader(r)
		name := ""
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch line = strings.TrimRight(line, "\n"); {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case line == "":
				ch <- name
			}
		}
	}()
	return ch
}

func TestHoldStream(t *testing.T) {
	t.Parallel()
	hold := fakeanthropic.NewHold("message_delta")
	t.Cleanup(hold.Release)
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.Text = "one two"
	resp.BeforeEvent = hold.Wait
	srv := &fakeanthropic.Server{}
	srv.SetDefault(resp)
	ts := start(t, srv)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+fakeanthropic.MessagesPath, strings.NewReader(streamBody))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	sr := claude.NewStreamReader(r.Body)
	events := readEvents(sr)

	recv(t, hold.Reached(), "hold reached")
	var before []string
	for range 6 {
		name, _ := recv(t, events, "event before the hold")
		before = append(before, name)
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop"}
	if diff := cmp.Diff(want, before); diff != "" {
		t.Errorf("events received while held (-want +got):\n%s", diff)
	}
	held := sr.Usage()
	wantHeld := claude.MessageUsage{ID: "msg_0001", Model: model, Counts: counts(fakeanthropic.DefaultUsage)}
	wantHeld.Counts.Output = 1 // message_start's
	if diff := cmp.Diff(wantHeld, held); diff != "" {
		t.Errorf("usage while held (-want +got):\n%s", diff)
	}
	if got := srv.Requests()[0].Status; got != http.StatusOK {
		t.Errorf("recorded status while held = %d, want 200", got)
	}

	hold.Release()
	var after []string
	for {
		name, ok := recv(t, events, "event after the hold")
		if !ok {
			break
		}
		after = append(after, name)
	}
	if diff := cmp.Diff([]string{"message_delta", "message_stop"}, after); diff != "" {
		t.Errorf("events after release (-want +got):\n%s", diff)
	}
	final := sr.Usage()
	if !final.Complete || final.Counts != counts(fakeanthropic.DefaultUsage) {
		t.Errorf("final usage %+v, want complete with %+v", final, counts(fakeanthropic.DefaultUsage))
	}
}

func TestHoldEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	hold := fakeanthropic.NewHold("message_stop")
	t.Cleanup(hold.Release)
	done := make(chan struct{})
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.BeforeEvent = func(ctx context.Context, event string) {
		hold.Wait(ctx, event)
		if event == "message_stop" {
			close(done)
		}
	}
	srv := &fakeanthropic.Server{}
	srv.SetDefault(resp)
	ts := start(t, srv)

	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+fakeanthropic.MessagesPath, strings.NewReader(streamBody))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	recv(t, hold.Reached(), "hold reached")
	cancel() // the client goes away: the held handler must return without Release
	recv(t, done, "hold released by the request's end")
}

func TestScenariosByCredential(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.Set("key-a", fakeanthropic.Quota429(now, now.Add(2*time.Hour)))
	srv.Set("tok-b", fakeanthropic.OK(fakeanthropic.Usage{Input: 1, Output: 2}))
	srv.SetDefault(fakeanthropic.Unauthorized401())
	ts := start(t, srv)

	tests := []struct {
		name       string
		hdr        []string
		wantStatus int
	}{
		{"api key A", []string{"x-api-key", "key-a"}, 429},
		{"bearer B", []string{"Authorization", "Bearer tok-b"}, 200},
		{"bearer A", []string{"Authorization", "bearer key-a"}, 429},
		{"api key wins over bearer", []string{"x-api-key", "key-a", "Authorization", "Bearer tok-b"}, 429},
		{"unknown api key falls to bearer", []string{"x-api-key", "nobody", "Authorization", "Bearer tok-b"}, 200},
		{"unknown", []string{"x-api-key", "nobody"}, 401},
		{"none", nil, 401},
	}
	for _, tt := range tests {
		r, b := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody, tt.hdr...)
		if r.StatusCode != tt.wantStatus {
			t.Errorf("%s: status %d, want %d (body %s)", tt.name, r.StatusCode, tt.wantStatus, b)
		}
	}

	// The hook comes first, and sees the request.
	srv.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
		if r.Credential() == "key-a" && r.Model == model {
			return fakeanthropic.OK(fakeanthropic.DefaultUsage)
		}
		return fakeanthropic.Overloaded529()
	})
	if r, _ := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody, "x-api-key", "key-a"); r.StatusCode != 200 {
		t.Errorf("with the hook, key-a: status %d, want 200", r.StatusCode)
	}
	if r, _ := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody, "x-api-key", "tok-b"); r.StatusCode != 529 {
		t.Errorf("with the hook, tok-b: status %d, want 529", r.StatusCode)
	}
	srv.SetRespond(nil)
	if r, _ := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody, "x-api-key", "key-a"); r.StatusCode != 429 {
		t.Errorf("hook removed, key-a: status %d, want 429", r.StatusCode)
	}
}

// verdict is what a test checks of claude.Classify's Verdict.
type verdict struct {
	Kind           claude.VerdictKind
	Until          time.Time
	RetryAfter     time.Duration
	Window, Family string
	ErrorType      string
	RequestID      string
	BadCredential  bool
	RetryElsewhere bool
}

func TestReadyMadeResponses(t *testing.T) {
	t.Parallel()
	reset := now.Add(2 * time.Hour)
	weekReset := now.Add(100 * time.Hour)
	tests := []struct {
		name string
		resp fakeanthropic.Response
		want verdict
		// check looks further at the verdict (nil: nothing more).
		check func(t *testing.T, v claude.Verdict)
	}{{
		name: "OK", resp: fakeanthropic.OK(fakeanthropic.DefaultUsage),
		want: verdict{Kind: claude.VerdictOK, RequestID: "req_0001"},
	}, {
		name: "OK with standard limits", resp: fakeanthropic.OK(fakeanthropic.DefaultUsage).WithStandardLimits(reset),
		want: verdict{Kind: claude.VerdictOK, RequestID: "req_0001"},
		check: func(t *testing.T, v claude.Verdict) {
			l := v.Limits
			if !l.Requests.Present || *l.Requests.Limit != 1000 || *l.Tokens.Remaining != 95000 ||
				*l.InputTokens.Limit != 80000 || *l.OutputTokens.Limit != 16000 || !l.Requests.Reset.Equal(reset) {
				t.Errorf("standard limits read as %+v", l)
			}
		},
	}, {
		name: "OKUnified",
		resp: fakeanthropic.OKUnified(fakeanthropic.DefaultUsage,
			fakeanthropic.Window{Utilization: 0.42, Reset: reset},
			fakeanthropic.Window{Utilization: 0.18, Reset: weekReset}),
		want: verdict{Kind: claude.VerdictOK, RequestID: "req_0001"},
		check: func(t *testing.T, v claude.Verdict) {
			u := v.Limits.Unified
			h5, ok5 := u.FiveHour()
			d7, ok7 := u.SevenDay()
			if !ok5 || !ok7 || *h5.Utilization != 0.42 || !h5.Reset.Equal(reset) || *d7.Utilization != 0.18 || !d7.Reset.Equal(weekReset) {
				t.Errorf("unified windows read as 5h %+v (%v), 7d %+v (%v)", h5, ok5, d7, ok7)
			}
			if u.Status != claude.UnifiedAllowed || !u.Reset.Equal(reset) || u.RepresentativeClaim != claude.ClaimFiveHour {
				t.Errorf("unified status %q reset %v claim %q", u.Status, u.Reset, u.RepresentativeClaim)
			}
		},
	}, {
		name: "Quota429", resp: fakeanthropic.Quota429(now, reset),
		want: verdict{Kind: claude.VerdictQuota, Until: reset, RetryAfter: 2 * time.Hour, Window: "5h",
			ErrorType: "rate_limit_error", RequestID: "req_0001", RetryElsewhere: true},
	}, {
		name: "ModelQuota429", resp: fakeanthropic.ModelQuota429(now, weekReset),
		want: verdict{Kind: claude.VerdictModelQuota, Until: weekReset, RetryAfter: 100 * time.Hour, Window: "7d_opus", Family: "opus",
			ErrorType: "rate_limit_error", RequestID: "req_0001", RetryElsewhere: true},
	}, {
		name: "Throttle429", resp: fakeanthropic.Throttle429(1500 * time.Millisecond),
		want: verdict{Kind: claude.VerdictThrottle, Until: now.Add(2 * time.Second), RetryAfter: 2 * time.Second,
			ErrorType: "rate_limit_error", RequestID: "req_0001", RetryElsewhere: true},
	}, {
		name: "Headerless429", resp: fakeanthropic.Headerless429(),
		want: verdict{Kind: claude.VerdictRequestScoped, ErrorType: "rate_limit_error", RequestID: "req_0001", RetryElsewhere: true},
	}, {
		name: "Overloaded529", resp: fakeanthropic.Overloaded529(),
		want: verdict{Kind: claude.VerdictOverloaded, Until: now.Add(claude.DefaultOverloadedPause), RetryAfter: claude.DefaultOverloadedPause,
			ErrorType: "overloaded_error", RequestID: "req_0001", RetryElsewhere: true},
	}, {
		name: "Unauthorized401", resp: fakeanthropic.Unauthorized401(),
		want: verdict{Kind: claude.VerdictAuth, ErrorType: "authentication_error", RequestID: "req_0001", BadCredential: true, RetryElsewhere: true},
	}, {
		name: "status alone", resp: fakeanthropic.Response{Status: 402},
		want: verdict{Kind: claude.VerdictBilling, ErrorType: "billing_error", RequestID: "req_0001", RetryElsewhere: true},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &fakeanthropic.Server{}
			srv.SetDefault(tt.resp)
			ts := start(t, srv)
			r, b := post(t, ts.URL, fakeanthropic.MessagesPath, streamBody)
			v := claude.Classify(r.StatusCode, r.Header, b, now)
			if v.Malformed != nil {
				t.Errorf("malformed headers: %v", v.Malformed)
			}
			got := verdict{Kind: v.Kind, Until: v.Until, RetryAfter: v.RetryAfter, Window: v.Window, Family: v.Family,
				ErrorType: v.ErrorType, RequestID: v.RequestID, BadCredential: v.BadCredential, RetryElsewhere: v.RetryElsewhere}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claude.Classify (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
			if r.StatusCode >= 400 {
				// An error body parses as one, with the request id.
				_, err := claude.ParseMessage(b)
				var apiErr *claude.APIError
				if !errors.As(err, &apiErr) || apiErr.Type != tt.want.ErrorType || apiErr.RequestID != "req_0001" {
					t.Errorf("ParseMessage(%s) = %v, want an APIError %s of req_0001", b, err, tt.want.ErrorType)
				}
			}
		})
	}
}

func TestHeaderless429HasNoLimitHeader(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.SetDefault(fakeanthropic.Headerless429())
	ts := start(t, srv)
	r, _ := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody)
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	want := []string{"Content-Length", "Content-Type", "Date", "Request-Id"}
	if diff := cmp.Diff(want, names, cmpSorted); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmp.Transformer("sort", func(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
})

func TestRecording(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.Set("key-a", fakeanthropic.Quota429(now, now.Add(time.Hour)))
	ts := start(t, srv)

	post(t, ts.URL, fakeanthropic.MessagesPath+"?beta=true", streamBody,
		"Authorization", "Bearer tok-b", "anthropic-beta", "oauth-2025-04-20, claude-code-20250219", "anthropic-beta", "fine-grained-tool-streaming-2025-05-14",
		"X-Claude-Code-Session-Id", "sess-1")
	post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody, "x-api-key", "key-a")
	post(t, ts.URL, fakeanthropic.CountTokensPath, jsonBody, "x-api-key", "key-c")

	got := srv.Requests()
	if len(got) != 3 || srv.Count() != 3 {
		t.Fatalf("%d requests recorded (Count %d), want 3", len(got), srv.Count())
	}
	if h := got[0].Header.Get("X-Claude-Code-Session-Id"); h != "sess-1" {
		t.Errorf("recorded session header %q", h)
	}
	for i := range got {
		got[i].Header = nil // checked above; the rest is net/http's
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	want := []fakeanthropic.Request{{
		Seq: 1, Method: "POST", Path: "/v1/messages", RawQuery: "beta=true", Host: host, ContentLength: int64(len(streamBody)), Bearer: "tok-b",
		Beta: []string{"oauth-2025-04-20", "claude-code-20250219", "fine-grained-tool-streaming-2025-05-14"},
		Body: []byte(streamBody), Model: model, Stream: true, RequestID: "req_0001", Status: 200, MessageID: "msg_0001",
	}, {
		Seq: 2, Method: "POST", Path: "/v1/messages", Host: host, ContentLength: int64(len(jsonBody)), APIKey: "key-a",
		Body: []byte(jsonBody), Model: model, RequestID: "req_0002", Status: 429,
	}, {
		Seq: 3, Method: "POST", Path: "/v1/messages/count_tokens", Host: host, ContentLength: int64(len(jsonBody)), APIKey: "key-c",
		Body: []byte(jsonBody), Model: model, RequestID: "req_0003", Status: 200,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}

	srv.Reset()
	if n := srv.Count(); n != 0 {
		t.Errorf("Count after Reset = %d", n)
	}
	post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody)
	if got := srv.Requests(); len(got) != 1 || got[0].Seq != 4 || got[0].MessageID != "msg_0002" {
		t.Errorf("after Reset: %+v, want request 4 with message msg_0002 (numbering goes on)", got)
	}
}

func TestOwnRequestID(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.SetDefault(fakeanthropic.Overloaded529().WithHeader("request-id", "req_011CUaBcDe"))
	ts := start(t, srv)
	r, b := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody)
	_, err := claude.ParseMessage(b)
	var apiErr *claude.APIError
	if r.Header.Get("Request-Id") != "req_011CUaBcDe" || !errors.As(err, &apiErr) || apiErr.RequestID != "req_011CUaBcDe" ||
		srv.Requests()[0].RequestID != "req_011CUaBcDe" {
		t.Errorf("request-id %q, body %s, recorded %q", r.Header.Get("Request-Id"), b, srv.Requests()[0].RequestID)
	}
}

func TestCountTokens(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.SetDefault(fakeanthropic.OK(fakeanthropic.Usage{Input: 10, CacheWrite5m: 20, CacheWrite1h: 30, CacheRead: 40, Output: 99}))
	ts := start(t, srv)
	r, b := post(t, ts.URL, fakeanthropic.CountTokensPath, jsonBody)
	if r.StatusCode != 200 || string(b) != `{"input_tokens":100}` {
		t.Errorf("count_tokens: %d %s", r.StatusCode, b)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.SetRespond(func(*fakeanthropic.Request) fakeanthropic.Response {
		t.Error("the hook was asked about a request the server refuses")
		return fakeanthropic.Response{}
	})
	ts := start(t, srv)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantType                 string
	}{
		{"unknown path", "POST", "/v1/complete", jsonBody, 404, "not_found_error"},
		{"GET", "GET", "/v1/messages", "", 405, "invalid_request_error"},
		{"not JSON", "POST", "/v1/messages", "{", 400, "invalid_request_error"},
		{"no model", "POST", "/v1/messages", `{"max_tokens":1}`, 400, "invalid_request_error"},
		{"count_tokens without model", "POST", "/v1/messages/count_tokens", `{}`, 400, "invalid_request_error"},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		_, perr := claude.ParseMessage(b)
		var apiErr *claude.APIError
		if r.StatusCode != tt.wantStatus || !errors.As(perr, &apiErr) || apiErr.Type != tt.wantType {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.StatusCode, b, tt.wantStatus, tt.wantType)
		}
	}
	if n := srv.Count(); n != len(tests) {
		t.Errorf("recorded %d, want %d (refused requests are recorded too)", n, len(tests))
	}
}

func TestStreamError(t *testing.T) {
	t.Parallel()
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.StreamError = &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded"}
	srv := &fakeanthropic.Server{}
	srv.SetDefault(resp)
	ts := start(t, srv)
	r, b := post(t, ts.URL, fakeanthropic.MessagesPath, streamBody)
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	got, err := parse(t, true, b)
	var apiErr *claude.APIError
	if !errors.As(err, &apiErr) || apiErr.Type != "overloaded_error" {
		t.Errorf("stream error %v, want an overloaded_error", err)
	}
	if got.Complete || got.ID != "msg_0001" {
		t.Errorf("usage %+v, want msg_0001 and not complete", got)
	}
	if !strings.HasSuffix(string(b), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n") {
		t.Errorf("stream does not end with the error event:\n%s", b)
	}
}

func TestRawBody(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.SetDefault(fakeanthropic.Response{Status: 500, Body: []byte("upstream exploded")}.WithHeader("Content-Type", "text/plain"))
	ts := start(t, srv)
	r, b := post(t, ts.URL, fakeanthropic.MessagesPath, jsonBody)
	if r.StatusCode != 500 || string(b) != "upstream exploded" || r.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("raw body: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), b)
	}
	if got := srv.Requests()[0].MessageID; got != "" {
		t.Errorf("message id %q recorded for a raw body", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := &fakeanthropic.Server{}
	srv.Set("slow", fakeanthropic.Overloaded529())
	ts := start(t, srv)
	const workers, each = 16, 8
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				body := jsonBody
				if i%2 == 0 {
					body = streamBody
				}
				if w == 0 && i == 0 {
					srv.SetDefault(fakeanthropic.OK(fakeanthropic.DefaultUsage)) // settings change while serving
				}
				r, b := post(t, ts.URL, fakeanthropic.MessagesPath, body)
				u, err := parse(t, i%2 == 0, b)
				if r.StatusCode != 200 || err != nil {
					t.Errorf("status %d, %v", r.StatusCode, err)
				}
				ids <- u.ID
				_ = srv.Requests()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("message id %s served twice", id)
		}
		seen[id] = true
	}
	if n := srv.Count(); n != workers*each || len(seen) != workers*each {
		t.Errorf("Count %d, %d ids, want %d", n, len(seen), workers*each)
	}
}

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

// sdkClient is an official SDK client for ts, configured as the Transport
// and Proxy tests should: nothing from the environment, the fake's URL, a
// credential, and the options given (WithMaxRetries(0) to see every error).
func sdkClient(ts *httptest.Server, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(ts.URL),
		option.WithHTTPClient(ts.Client()),
	}, opts...)...)
}

// sdkParams is a small request.
var sdkParams = anthropic.MessageNewParams{
	Model:     anthropic.Model(model),
	MaxTokens: 1024,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
}

// sdkUsage is what the SDK decoded of a usage.
type sdkUsage struct {
	Input, Output, CacheWrite, CacheWrite5m, CacheWrite1h, CacheRead int64
}

func fromSDK(u anthropic.Usage) sdkUsage {
	return sdkUsage{u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens,
		u.CacheCreation.Ephemeral5mInputTokens, u.CacheCreation.Ephemeral1hInputTokens, u.CacheReadInputTokens}
}

func fromFake(u fakeanthropic.Usage) sdkUsage {
	return sdkUsage{u.Input, u.Output, u.CacheWrite(), u.CacheWrite5m, u.CacheWrite1h, u.CacheRead}
}

func TestSDKDecodesMessages(t *testing.T) {
	t.Parallel()
	u := fakeanthropic.Usage{Input: 21, Output: 321, CacheWrite5m: 4321, CacheWrite1h: 54321, CacheRead: 654321}
	tests := []struct {
		name       string
		cred       option.RequestOption
		wantAPIKey string
		wantBearer string
	}{
		// WithAPIKey sends the key as a bearer token in this SDK version,
		// not as x-api-key.
		{"WithAPIKey", option.WithAPIKey("sk-ant-api-a"), "", "sk-ant-api-a"},
		{"WithAuthToken", option.WithAuthToken("sk-ant-oat-b"), "", "sk-ant-oat-b"},
		{"x-api-key header", option.WithHeader("x-api-key", "sk-ant-api-c"), "sk-ant-api-c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &fakeanthropic.Server{}
			srv.SetDefault(fakeanthropic.OK(u))
			ts := start(t, srv)
			client := sdkClient(ts, tt.cred, option.WithMaxRetries(0))

			msg, err := client.Messages.New(t.Context(), sdkParams)
			if err != nil {
				t.Fatal(err)
			}
			if msg.ID != "msg_0001" || string(msg.Model) != model || msg.StopReason != anthropic.StopReasonEndTurn ||
				len(msg.Content) != 1 || msg.Content[0].Text != fakeanthropic.DefaultText {
				t.Errorf("message %s %s %s %+v", msg.ID, msg.Model, msg.StopReason, msg.Content)
			}
			if diff := cmp.Diff(fromFake(u), fromSDK(msg.Usage)); diff != "" {
				t.Errorf("JSON usage (-want +got):\n%s", diff)
			}

			stream := client.Messages.NewStreaming(t.Context(), sdkParams)
			var acc anthropic.Message
			var types []string
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				if err := acc.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			stream.Close()
			if acc.ID != "msg_0002" || string(acc.Model) != model || acc.StopReason != anthropic.StopReasonEndTurn ||
				len(acc.Content) != 1 || acc.Content[0].Text != fakeanthropic.DefaultText {
				t.Errorf("accumulated %s %s %s %+v", acc.ID, acc.Model, acc.StopReason, acc.Content)
			}
			if diff := cmp.Diff(fromFake(u), fromSDK(acc.Usage)); diff != "" {
				t.Errorf("stream usage (-want +got):\n%s", diff)
			}
			wantTypes := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
				"content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
			if diff := cmp.Diff(wantTypes, types); diff != "" {
				t.Errorf("events the SDK passed on (ping is dropped) (-want +got):\n%s", diff)
			}

			count, err := client.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{
				Model: anthropic.Model(model), Messages: sdkParams.Messages,
			})
			if err != nil || count.InputTokens != u.TotalInput() {
				t.Errorf("CountTokens = %+v, %v; want %d", count, err, u.TotalInput())
			}

			reqs := srv.Requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			for i, r := range reqs {
				if r.APIKey != tt.wantAPIKey || r.Bearer != tt.wantBearer {
					t.Errorf("request %d: x-api-key %q, bearer %q; want %q, %q", i, r.APIKey, r.Bearer, tt.wantAPIKey, tt.wantBearer)
				}
				if r.Header.Get("Anthropic-Version") == "" || !strings.HasPrefix(r.Header.Get("User-Agent"), "Anthropic/Go ") ||
					r.Header.Get("Content-Length") == "" && r.Header.Get("Content-Type") == "" {
					t.Errorf("request %d headers: %v", i, r.Header)
				}
			}
			if !reqs[1].Stream || reqs[0].Stream || reqs[2].Path != fakeanthropic.CountTokensPath {
				t.Errorf("requests: stream %v, %v; paths %s %s", reqs[0].Stream, reqs[1].Stream, reqs[0].Path, reqs[2].Path)
			}
			if tt.name == "WithAPIKey" {
				for _, k := range []string{"Accept", "Anthropic-Version", "Content-Type", "User-Agent", "X-Stainless-Retry-Count", "X-Stainless-Timeout", "X-Stainless-Lang"} {
					t.Logf("SDK sends %s: %q (stream: %q)", k, reqs[0].Header.Get(k), reqs[1].Header.Get(k))
				}
			}
		})
	}
}

func TestSDKSeesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resp       fakeanthropic.Response
		wantStatus int
		wantType   anthropic.ErrorType
	}{
		{"Quota429", fakeanthropic.Quota429(now, now.Add(time.Hour)), 429, anthropic.ErrorTypeRateLimitError},
		{"ModelQuota429", fakeanthropic.ModelQuota429(now, now.Add(time.Hour)), 429, anthropic.ErrorTypeRateLimitError},
		{"Throttle429", fakeanthropic.Throttle429(time.Second), 429, anthropic.ErrorTypeRateLimitError},
		{"Headerless429", fakeanthropic.Headerless429(), 429, anthropic.ErrorTypeRateLimitError},
		{"Overloaded529", fakeanthropic.Overloaded529(), 529, anthropic.ErrorTypeOverloadedError},
		{"Unauthorized401", fakeanthropic.Unauthorized401(), 401, anthropic.ErrorTypeAuthenticationError},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, streaming), func(t *testing.T) {
				t.Parallel()
				srv := &fakeanthropic.Server{}
				srv.SetDefault(tt.resp)
				ts := start(t, srv)
				client := sdkClient(ts, option.WithAPIKey("k"), option.WithMaxRetries(0))
				var err error
				if streaming {
					stream := client.Messages.NewStreaming(t.Context(), sdkParams)
					for stream.Next() {
						t.Error("an event from an error response")
					}
					err = stream.Err()
					stream.Close()
				} else {
					_, err = client.Messages.New(t.Context(), sdkParams)
				}
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v (%T), want an *anthropic.Error", err, err)
				}
				if apiErr.StatusCode != tt.wantStatus || apiErr.Type() != tt.wantType || apiErr.RequestID != "req_0001" {
					t.Errorf("SDK error: status %d type %q request %q; want %d %q req_0001", apiErr.StatusCode, apiErr.Type(), apiErr.RequestID, tt.wantStatus, tt.wantType)
				}
				if n := srv.Count(); n != 1 {
					t.Errorf("%d requests with WithMaxRetries(0), want 1", n)
				}
			})
		}
	}
}

func TestSDKSeesStreamError(t *testing.T) {
	t.Parallel()
	resp := fakeanthropic.OK(fakeanthropic.DefaultUsage)
	resp.StreamError = &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded"}
	srv := &fakeanthropic.Server{}
	srv.SetDefault(resp)
	ts := start(t, srv)
	client := sdkClient(ts, option.WithAPIKey("k"), option.WithMaxRetries(0))
	stream := client.Messages.NewStreaming(t.Context(), sdkParams)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	stream.Close()
	var apiErr *anthropic.Error
	if err := stream.Err(); !errors.As(err, &apiErr) || apiErr.Type() != anthropic.ErrorTypeOverloadedError {
		t.Errorf("stream error %v, want an overloaded_error *anthropic.Error", err)
	} else {
		t.Logf("mid-stream error: StatusCode %d, RequestID %q", apiErr.StatusCode, apiErr.RequestID)
	}
	if acc.ID != "msg_0001" || acc.Usage.InputTokens != fakeanthropic.DefaultUsage.Input {
		t.Errorf("accumulated before the error: %s %+v", acc.ID, acc.Usage)
	}
}

// TestSDKRetries documents what the SDK does on its own, with its default
// two retries: it retries 429 and 5xx (529 included) unless x-should-retry
// says false, waiting retry-after (retry-after-ms first) with no cap, so a
// caller sees the error only after three requests, or never sees a
// throttle that ends.
func TestSDKRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// first answers the first request, rest the others.
		first, rest  fakeanthropic.Response
		wantRequests int
		wantStatus   int // 0: success
	}{
		{"throttle, retry-after 0, then OK", fakeanthropic.Throttle429(0), fakeanthropic.OK(fakeanthropic.DefaultUsage), 2, 0},
		{"throttle every time", fakeanthropic.Throttle429(0), fakeanthropic.Throttle429(0), 3, 429},
		{"overloaded, retry-after 0", fakeanthropic.Overloaded529().WithHeader("retry-after", "0"), fakeanthropic.Overloaded529().WithHeader("retry-after", "0"), 3, 529},
		{"overloaded with retry-after-ms 0, then OK", fakeanthropic.Overloaded529().WithHeader("retry-after-ms", "0"), fakeanthropic.OK(fakeanthropic.DefaultUsage), 2, 0},
		{"quota 429 with x-should-retry false", fakeanthropic.Quota429(now, now).WithHeader("x-should-retry", "false"), fakeanthropic.OK(fakeanthropic.DefaultUsage), 1, 429},
		{"401 (x-should-retry false)", fakeanthropic.Unauthorized401(), fakeanthropic.OK(fakeanthropic.DefaultUsage), 1, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &fakeanthropic.Server{}
			srv.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
				if r.Seq == 1 {
					return tt.first
				}
				return tt.rest
			})
			ts := start(t, srv)
			client := sdkClient(ts, option.WithAPIKey("k"))
			_, err := client.Messages.New(t.Context(), sdkParams)
			var apiErr *anthropic.Error
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Errorf("error %v, want success", err)
			case tt.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus):
				t.Errorf("error %v, want status %d", err, tt.wantStatus)
			}
			reqs := srv.Requests()
			if len(reqs) != tt.wantRequests {
				t.Errorf("%d requests, want %d", len(reqs), tt.wantRequests)
			}
			for i, r := range reqs {
				if got, want := r.Header.Get("X-Stainless-Retry-Count"), fmt.Sprint(i); got != want {
					t.Errorf("request %d: X-Stainless-Retry-Count %q, want %q", i, got, want)
				}
			}
		})
	}

	// A quota 429 as the API sends it (retry-after of hours, no
	// x-should-retry): the SDK waits the whole retry-after before its
	// retry, so the caller gets its context's error, not the 429.
	t.Run("quota 429 as sent", func(t *testing.T) {
		t.Parallel()
		srv := &fakeanthropic.Server{}
		srv.SetDefault(fakeanthropic.Quota429(now, now.Add(5*time.Hour)))
		ts := start(t, srv)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		client := sdkClient(ts, option.WithAPIKey("k"))
		_, err := client.Messages.New(ctx, sdkParams)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want the context's deadline (the SDK sleeping out retry-after)", err)
		}
		if n := srv.Count(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// Subscription A has hit its 5-hour limit; B answers. A test points the code
// under test at the server, then looks at what each credential got.
func ExampleServer() {
	now := time.Unix(1_762_800_000, 0)
	srv := &fakeanthropic.Server{}
	srv.Set("token-a", fakeanthropic.Quota429(now, now.Add(2*time.Hour)))
	srv.Set("token-b", fakeanthropic.OKUnified(fakeanthropic.DefaultUsage,
		fakeanthropic.Window{Utilization: 0.42, Reset: now.Add(3 * time.Hour)},
		fakeanthropic.Window{Utilization: 0.18, Reset: now.Add(90 * time.Hour)}))
	ts := httptest.NewServer(srv)
	defer ts.Close()

	for _, token := range []string{"token-a", "token-b"} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/messages", strings.NewReader(jsonBody))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v := claude.Classify(resp.StatusCode, resp.Header, body, now)
		fmt.Println(token, resp.StatusCode, v.Kind, resp.Header.Get("anthropic-ratelimit-unified-5h-utilization"))
	}
	for _, r := range srv.Requests() {
		fmt.Printf("%s %s %d %q\n", r.RequestID, r.Bearer, r.Status, r.MessageID)
	}
	// Output:
	// token-a 429 quota 1
	// token-b 200 ok 0.42
	// req_0001 token-a 429 ""
	// req_0002 token-b 200 "msg_0001"
}
