package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// doneSeen is the part of a Done a test can predict: the rest (the
// upstream's time) is checked on its own.
type doneSeen struct {
	Caller, Session, Client, Model, Subscription string
	Attempts                                     int
	Recorded                                     bool   // Usage is set
	UsageSubscription                            string // Usage.SubscriptionID
	Output                                       int64  // Usage.Tokens.Output
	Priced                                       bool   // Usage.CostUSD > 0
	Sent                                         bool   // Upstream > 0
}

func seen(d proxy.Done) doneSeen {
	s := doneSeen{Caller: d.Caller, Session: d.Session, Client: d.Client, Model: d.Model, Subscription: d.Subscription,
		Attempts: d.Attempts, Sent: d.Upstream > 0}
	if u := d.Usage; u != nil {
		s.Recorded, s.UsageSubscription, s.Output, s.Priced = true, u.SubscriptionID, u.Tokens.Output, u.CostUSD > 0
	}
	return s
}

// TestProxyOnDone: the proxy tells OnDone, once per request, who sent it,
// where it went, what it used and whether the upstream answered, for every
// kind of answer: a message, a stream, a fail-over, count_tokens, an
// unknown key and the pool's own refusal.
func TestProxyOnDone(t *testing.T) {
	const msg = `{"model":"` + model + `","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	const stream = `{"model":"` + model + `","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name  string
		setup func(f *front)
		path  string
		body  string
		hdr   []string
		want  doneSeen
	}{
		{"message in a session", nil, "/v1/messages", msg, []string{"x-api-key", keyAlice, "X-Claude-Code-Session-Id", "s-1"},
			doneSeen{Caller: "alice", Session: "s-1", Client: "alice/s-1", Model: model, Subscription: "sub-a", Attempts: 1,
				Recorded: true, UsageSubscription: "sub-a", Output: fakeanthropic.DefaultUsage.Output, Priced: true, Sent: true}},
		{"stream without a session", nil, "/v1/messages", stream, []string{"Authorization", "Bearer " + keyBob},
			doneSeen{Caller: "bob", Client: "bob", Model: model, Subscription: "sub-a", Attempts: 1,
				Recorded: true, UsageSubscription: "sub-a", Output: fakeanthropic.DefaultUsage.Output, Priced: true, Sent: true}},
		{"fail-over", func(f *front) { f.up.Set(credA, fakeanthropic.Quota429(frontNow, frontNow.Add(2*time.Hour))) },
			"/v1/messages", msg, []string{"x-api-key", keyBob},
			doneSeen{Caller: "bob", Client: "bob", Model: model, Subscription: "sub-b", Attempts: 2,
				Recorded: true, UsageSubscription: "sub-b", Output: fakeanthropic.DefaultUsage.Output, Priced: true, Sent: true}},
		{"count_tokens", nil, "/v1/messages/count_tokens", msg, []string{"x-api-key", keyBob},
			doneSeen{Caller: "bob", Client: "bob", Model: model, Subscription: "sub-a", Attempts: 1, Sent: true}},
		{"unknown key", nil, "/v1/messages", msg, []string{"x-api-key", callerJunk}, doneSeen{}},
		{"the pool refuses", func(f *front) {
			for _, s := range frontSubs {
				if err := f.pool.Disable(t.Context(), s.ID, "paused"); err != nil {
					t.Fatal(err)
				}
			}
		}, "/v1/messages", msg, []string{"x-api-key", keyBob}, doneSeen{Caller: "bob", Client: "bob", Model: model}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFront(t, frontSubs)
			if tc.setup != nil {
				tc.setup(f)
			}
			px, err := proxy.New(f.tr, frontCallers, f.ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			dones := make(chan proxy.Done, 4)
			px.OnDone = func(r *http.Request, d proxy.Done) {
				if r.URL.Path != tc.path {
					t.Errorf("OnDone got the request for %s, want %s", r.URL.Path, tc.path)
				}
				dones <- d
			}
			ps := httptest.NewServer(px)
			defer ps.Close()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ps.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			resp, err := ps.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			select {
			case d := <-dones:
				if diff := cmp.Diff(tc.want, seen(d)); diff != "" {
					t.Errorf("Done (-want +got):\n%s", diff)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("OnDone was not called")
			}
			select {
			case d := <-dones:
				t.Errorf("OnDone called again: %+v", d)
			default:
			}
		})
	}
}
