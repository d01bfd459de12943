package proxy_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/memstore"
)

// TestBadInput is package claude's half of the table of docs/bad-input.md
// (the pool's half is authpool's TestBadInput): a case per row of the
// proxy and streams, named as the row (package transcript has the
// transcripts' row). Each proxy case sends
// one bad request to a Proxy (MaxBody 1024) in front of a pool and a fake
// upstream, and checks the answer, exactly, how many requests reached the
// upstream, and the pool's Snapshot before and after.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const msgBody = `{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	const streamBody = `{"model":"` + model + `","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	// truncated is a stream the upstream cuts in the middle of its first
	// content_block_delta: message_start said 100 input tokens and 1
	// output token so far.
	const truncated = "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_cut","type":"message","role":"assistant","model":"` + model +
		`","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}` +
		"\n\nevent: content_block_delta\n" +
		`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi`
	tests := []struct {
		name      string
		chunked   bool // send the body without a Content-Length
		allow     bool // the proxy's AllowChunked
		slow      bool // send the body, then nothing more of the Content-Length it declares
		storeDown bool // the pool's store is unavailable while the request is served
		upstream  *fakeanthropic.Response
		respond   func(*fakeanthropic.Request) fakeanthropic.Response // instead of upstream
		body      string
		hdr       []string
		// The answer: status and whole body.
		wantStatus int
		wantBody   string
		// upstream is how many requests reached the upstream.
		wantUpstream int
		// changed checks the change a row documents; nil means the
		// Snapshot must not change.
		changed func(t *testing.T, before, after authpool.Snapshot)
	}{{
		name: "unknown key",
		body: msgBody, hdr: []string{"x-api-key", callerJunk},
		wantStatus: 401,
		wantBody:   `{"type":"error","error":{"type":"authentication_error","message":"authpool proxy: unknown key: send the key this proxy gave you as x-api-key or a bearer token"}}`,
	}, {
		name: "wrong content type",
		body: "hello there", hdr: []string{"x-api-key", keyBob, "Content-Type", "text/plain"},
		wantStatus:   400,
		wantBody:     `{"type":"error","error":{"type":"invalid_request_error","message":"The request body is not valid JSON: invalid character 'h' looking for beginning of value"},"request_id":"req_0001"}`,
		wantUpstream: 1,
		changed: func(t *testing.T, before, after authpool.Snapshot) {
			// Passed on as it came: the caller's session opened, as for any
			// request the proxy forwards, and nothing counted.
			want := before
			want.Sessions = []authpool.SessionStatus{{
				ClientID: "bob", SubscriptionID: "sub-a",
				Created: frontNow, Assigned: frontNow, LastActive: frontNow, HoldUntil: frontNow.Add(defaultIdleAfter),
			}}
			want.Subscriptions = after.Subscriptions // a client more on sub-a: checked below
			if diff := cmp.Diff(want, after); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			for i, s := range after.Subscriptions {
				b := before.Subscriptions[i]
				if s.Week != b.Week || s.Block != b.Block {
					t.Errorf("%s: week %+v, block %+v; want %+v, %+v", s.ID, s.Week, s.Block, b.Week, b.Block)
				}
			}
		},
	}, {
		name: "oversized body (413)",
		body: strings.Repeat(" ", 2048), hdr: []string{"x-api-key", keyBob},
		wantStatus: 413,
		wantBody:   `{"type":"error","error":{"type":"request_too_large","message":"authpool proxy: the body is 2048 bytes, more than 1024"}}`,
	}, {
		name: "oversized chunked body (413)", chunked: true, allow: true,
		body: strings.Repeat(" ", 2048), hdr: []string{"x-api-key", keyBob},
		wantStatus: 413,
		wantBody:   `{"type":"error","error":{"type":"request_too_large","message":"authpool proxy: the body is more than 1024 bytes"}}`,
	}, {
		name: "chunked without length (411)", chunked: true,
		body: msgBody, hdr: []string{"x-api-key", keyBob},
		wantStatus: 411,
		wantBody:   `{"type":"error","error":{"type":"invalid_request_error","message":"authpool proxy: a request needs a Content-Length"}}`,
	}, {
		name: "slow body (408)", slow: true,
		body: `{"model":`, hdr: []string{"x-api-key", keyBob},
		wantStatus: 408,
		wantBody:   `{"type":"error","error":{"type":"timeout_error","message":"authpool proxy: the body did not arrive within 100ms: send it faster, or ask the proxy's operator for a longer body timeout"}}`,
	}, {
		name: "upstream error echoing a credential",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			return fakeanthropic.Response{Status: 401, Error: &fakeanthropic.Error{Type: "authentication_error",
				Message: "invalid x-api-key " + r.Credential() + " (caller " + keyBob + ")"}}
		},
		body: msgBody, hdr: []string{"x-api-key", keyBob},
		wantStatus:   401,
		wantBody:     `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key [REDACTED] (caller [REDACTED])"},"request_id":"req_0003"}`,
		wantUpstream: 3,
		changed: func(t *testing.T, before, after authpool.Snapshot) {
			// Each subscription tried is disabled, the upstream's words
			// redacted in its reason.
			for i, s := range after.Subscriptions {
				want := before.Subscriptions[i].Status
				want.State, want.Reason = authpool.Disabled, "auth: HTTP 401 authentication_error: invalid x-api-key [REDACTED] (caller [REDACTED])"
				if s.Status != want {
					t.Errorf("%s: %+v; want %+v", s.ID, s.Status, want)
				}
			}
		},
	}, {
		name: "store unavailable (503)", storeDown: true,
		body: msgBody, hdr: []string{"x-api-key", keyBob},
		wantStatus: 503,
		wantBody:   `{"type":"error","error":{"type":"api_error","message":"authpool proxy: the pool's store is unavailable, so no subscription could be chosen: retry in 5 s"}}`,
	}, {
		name:     "truncated SSE stream",
		upstream: &fakeanthropic.Response{Body: []byte(truncated), Header: http.Header{"Content-Type": {"text/event-stream"}}},
		body:     streamBody, hdr: []string{"x-api-key", keyBob},
		wantStatus:   200,
		wantBody:     truncated,
		wantUpstream: 1,
		changed: func(t *testing.T, _, after authpool.Snapshot) {
			// Counted as far as it went: message_start's usage, once.
			want := []authpool.SessionStatus{{
				ClientID: "bob", SubscriptionID: "sub-a",
				Created: frontNow, Assigned: frontNow, LastActive: frontNow,
				Requests: 1, CostUSD: (100*3 + 1*15) / 1e6, Tokens: authpool.Tokens{Input: 100, Output: 1}, Model: model,
				HoldUntil: frontNow.Add(defaultIdleAfter),
			}}
			if diff := cmp.Diff(want, after.Sessions); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
		},
	}}
	names := []string{}
	for _, tt := range tests {
		names = append(names, tt.name)
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &downStore{Store: memstore.New()}
			p := newProxiedOpts(t, frontSubs, authpool.WithStore(st))
			p.proxy.MaxBody, p.proxy.AllowChunked = 1024, tt.allow // before its first request
			p.proxy.BodyTimeout = 100 * time.Millisecond
			if tt.upstream != nil {
				p.up.SetDefault(*tt.upstream)
			}
			p.up.SetRespond(tt.respond)
			before, err := p.pool.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			if tt.slow {
				stalled := make(chan struct{})
				t.Cleanup(func() { close(stalled) })
				body = io.MultiReader(body, stallReader(stalled))
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.ps.URL+"/v1/messages", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.slow {
				req.ContentLength = int64(len(tt.body)) + 1000
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			st.down.Store(tt.storeDown)
			resp, err := p.ps.Client().Do(req)
			st.down.Store(false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			if n := p.up.Count(); n != tt.wantUpstream {
				t.Errorf("the upstream got %d requests; want %d", n, tt.wantUpstream)
			}
			after, err := p.pool.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.changed != nil {
				tt.changed(t, before, after)
			} else if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the pool changed (-before +after):\n%s", diff)
			}
		})
	}

	inBadInputDoc(t, names...)
}

// inBadInputDoc fails t for each name that is not a row of the table in
// docs/bad-input.md.
func inBadInputDoc(t *testing.T, names ...string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/bad-input.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(b), "\n| "+name+" | ") {
			t.Errorf("docs/bad-input.md has no row %q", name)
		}
	}
}

// stallReader is a body that sends nothing more until stalled is closed.
type stallReader chan struct{}

func (s stallReader) Read([]byte) (int, error) {
	<-s
	return 0, io.EOF
}
