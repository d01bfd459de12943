package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// An upstream whose error echoes the credential it was sent, and the
// caller's key, is heard with both taken out: by the caller (the body keeps
// its shape and request_id), by the pool (each subscription's status
// reason), and by the logs (newFront's check). A body too long to read
// whole, or encoded, is replaced by one of the pool's own, of the same type.
func TestProxyRedactsEchoedSecrets(t *testing.T) {
	t.Parallel()
	echo := func(r *fakeanthropic.Request) string {
		return fmt.Sprintf("invalid x-api-key %s (the caller sent %s, and %s)", r.Credential(), keyBob, keyAlice)
	}
	for _, tt := range []struct {
		name    string
		respond func(*fakeanthropic.Request) fakeanthropic.Response
		// wantStatus and wantType are the caller's answer; wantMessage its
		// message, wantState the subscriptions'.
		wantStatus  int
		wantType    string
		wantMessage string
		wantState   authpool.State
		wantReason  string
	}{{
		name: "401",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			resp := fakeanthropic.Unauthorized401()
			resp.Error = &fakeanthropic.Error{Type: "authentication_error", Message: echo(r)}
			return resp
		},
		wantStatus: 401, wantType: "authentication_error", wantState: authpool.Disabled,
		wantMessage: "invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
		wantReason:  "auth: HTTP 401 authentication_error: invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
	}, {
		name: "429",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			resp := fakeanthropic.Quota429(frontNow, frontNow.Add(time.Hour))
			resp.Error = &fakeanthropic.Error{Type: "rate_limit_error", Message: echo(r)}
			return resp
		},
		wantStatus: 429, wantType: "rate_limit_error", wantState: authpool.Limited,
		wantMessage: "invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
		wantReason:  "quota: HTTP 429 5h rate_limit_error: invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
	}, {
		name: "529",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			return fakeanthropic.Response{Status: 529, Error: &fakeanthropic.Error{Type: "overloaded_error", Message: echo(r)}}
		},
		wantStatus: 529, wantType: "overloaded_error", wantState: authpool.Limited,
		wantMessage: "invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
		wantReason:  "overloaded: HTTP 529 overloaded_error: invalid x-api-key [REDACTED] (the caller sent [REDACTED], and [REDACTED])",
	}, {
		name: "a body too long to pass on",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			return fakeanthropic.Response{Status: 401, Error: &fakeanthropic.Error{Type: "authentication_error",
				Message: echo(r) + strings.Repeat(" and more", 8<<10)}}
		},
		wantStatus: 401, wantType: "authentication_error", wantState: authpool.Disabled,
		wantMessage: "authpool: the upstream's answer (HTTP 401) had a body that cannot be passed on",
		wantReason:  "auth: HTTP 401", // the body unread: its words unknown
	}, {
		name: "an encoded body",
		respond: func(r *fakeanthropic.Request) fakeanthropic.Response {
			return fakeanthropic.Response{Status: 529, Body: []byte(r.Credential()),
				Header: http.Header{"Content-Encoding": {"br"}}}
		},
		wantStatus: 529, wantType: "overloaded_error", wantState: authpool.Limited,
		wantMessage: "authpool: the upstream's answer (HTTP 529) had a body that cannot be passed on",
		wantReason:  "overloaded: HTTP 529",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProxied(t, frontSubs)
			p.up.SetRespond(tt.respond)
			resp, body := p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","max_tokens":10,"messages":[]}`, "x-api-key", keyBob)
			var got struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("the caller got %d %q: %v", resp.StatusCode, body, err)
			}
			if resp.StatusCode != tt.wantStatus || got.Type != "error" || got.Error.Type != tt.wantType || got.Error.Message != tt.wantMessage {
				t.Errorf("the caller got %d %s\nwant %d, %s: %q", resp.StatusCode, body, tt.wantStatus, tt.wantType, tt.wantMessage)
			}
			if n := p.up.Count(); n != proxy.DefaultMaxAttempts {
				t.Errorf("the upstream got %d requests; want one on each subscription", n)
			}
			snap, err := p.pool.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range snap.Subscriptions {
				if s.Status.State != tt.wantState || s.Status.Reason != tt.wantReason {
					t.Errorf("%s: %s %q; want %s %q", s.ID, s.Status.State, s.Status.Reason, tt.wantState, tt.wantReason)
				}
			}
			shown, _ := json.Marshal(snap)
			for _, secret := range frontSecrets {
				for what, text := range map[string]string{"the caller's answer": body, "the snapshot": string(shown)} {
					if strings.Contains(text, secret) {
						t.Errorf("%s shows %q:\n%s", what, secret, text)
					}
				}
			}
		})
	}
}

// A bare Transport redacts the key its caller sent (and would replace) out
// of the upstream's words.
func TestTransportRedactsEchoedSecrets(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	f.tr.MaxAttempts = 1
	f.up.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
		return fakeanthropic.Response{Status: 401, Error: &fakeanthropic.Error{Type: "authentication_error",
			Message: "invalid x-api-key " + r.Credential() + "; the client's own was " + callerJunk}}
	})
	req, err := http.NewRequestWithContext(proxy.WithClient(t.Context(), "alice"), "POST", f.ts.URL+"/v1/messages",
		strings.NewReader(`{"model":"`+model+`","max_tokens":10,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", callerJunk)
	resp, err := (&http.Client{Transport: f.tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := "invalid x-api-key [REDACTED]; the client's own was [REDACTED]"; got.Error.Message != want {
		t.Errorf("message %q; want %q", got.Error.Message, want)
	}
}

// A stream that fails after its 200 with an error echoing the credential
// tells the pool without it.
func TestTransportRedactsMidStreamError(t *testing.T) {
	t.Parallel()
	p := newProxied(t, frontSubs)
	p.up.SetRespond(func(r *fakeanthropic.Request) fakeanthropic.Response {
		return fakeanthropic.Response{StreamError: &fakeanthropic.Error{Type: "overloaded_error", Message: "Overloaded for " + r.Credential()}}
	})
	p.post(t, "POST", "/v1/messages", `{"model":"`+model+`","max_tokens":10,"stream":true,"messages":[]}`, "x-api-key", keyBob)
	snap, err := p.pool.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := snap.Subscriptions[0]; s.Status.State != authpool.Limited || !strings.Contains(s.Status.Reason, "Overloaded for [REDACTED]") {
		t.Errorf("%s: %s %q; want limited, its reason redacted", s.ID, s.Status.State, s.Status.Reason)
	}
}
