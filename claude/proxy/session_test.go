package proxy_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authpool/authpool/claude/proxy"
)

// A session the pool cannot take as part of a client ID (a tab in it,
// bytes that are not UTF-8) is not the pool's store failing: the request
// is served as the caller's own, as a request without a usable session.
func TestProxyUnusableSession(t *testing.T) {
	t.Parallel()
	callers := []proxy.Caller{{ID: "bob", Key: keyBob}}
	for _, tt := range []struct {
		name, key, session, client string
	}{
		{"tab", keyBob, "s\t1", "bob"},
		{"not UTF-8", keyBob, "s-\xff", "bob"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFront(t, frontSubs)
			px, err := proxy.New(f.tr, callers, f.ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			ps := httptest.NewServer(px)
			t.Cleanup(ps.Close)
			p := &proxied{front: f, proxy: px, ps: ps}
			resp, body := p.post(t, "POST", "/v1/messages",
				`{"model":"`+model+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
				"x-api-key", tt.key, "X-Claude-Code-Session-Id", tt.session)
			if resp.StatusCode != 200 {
				t.Fatalf("session %q: %d %s; want 200", tt.session, resp.StatusCode, body)
			}
			if got := p.session(t, tt.client).Requests; got != 1 {
				t.Errorf("client %q: %d requests; want 1", tt.client, got)
			}
		})
	}
}
