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
	"strings"
	"sync"
	"testing"
	"time"

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
