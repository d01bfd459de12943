package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// leaving is a base transport after which the request's caller goes: it
// cancels the request's context once the upstream has answered.
type leaving struct {
	next   http.RoundTripper
	cancel context.CancelFunc
}

func (l leaving) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	l.cancel()
	return resp, err
}

// A quota 429 that arrives as its caller goes still reaches the pool: the
// subscription is limited until the reset, as it would be had the caller
// stayed.
func TestTransportTellsThePoolAfterTheCallerLeft(t *testing.T) {
	t.Parallel()
	reset := frontNow.Add(2 * time.Hour)
	f := newFront(t, frontSubs[:1])
	f.up.Set(credA, fakeanthropic.Quota429(frontNow, reset))
	ctx, cancel := context.WithCancel(proxy.WithClient(t.Context(), "alice"))
	defer cancel()
	tr := &proxy.Transport{Pool: f.pool, Base: leaving{next: f.tr.Base, cancel: cancel}, Clock: func() time.Time { return frontNow }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.ts.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
	}
	if got := f.sub(t, "sub-a").Status; got.State != authpool.Limited || !got.Until.Equal(reset) {
		t.Errorf("sub-a is %+v; want limited until %v", got, reset)
	}
}
