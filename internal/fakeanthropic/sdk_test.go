package fakeanthropic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

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
	// retry, so the caller gets its context's error, not the 429. The
	// context ends a moment after the 429 was answered, however long the
	// request took to arrive on a loaded machine.
	t.Run("quota 429 as sent", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		srv := &fakeanthropic.Server{}
		srv.SetRespond(func(*fakeanthropic.Request) fakeanthropic.Response {
			time.AfterFunc(200*time.Millisecond, cancel)
			return fakeanthropic.Quota429(now, now.Add(5*time.Hour))
		})
		ts := start(t, srv)
		client := sdkClient(ts, option.WithAPIKey("k"))
		_, err := client.Messages.New(ctx, sdkParams)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want the context's end (the SDK sleeping out retry-after)", err)
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
