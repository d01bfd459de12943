package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/claude/proxy"
)

// TestStopLogsNothingAfter: Serve's doc says every goroutine it started
// has ended when it returns. The proxy counts repeated refusals and logs
// them later, on a timer (proxy.DefaultLogEvery); refusals counted just
// before the server stops must be logged before Serve returns, not by a
// timer that fires after (in `authpool serve`, after the process exited:
// never).
func TestStopLogsNothingAfter(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for proxy.DefaultLogEvery")
	}
	h := start(t, setup{})
	for range 3 {
		resp, b := h.do(t, http.MethodPost, "/v1/messages", "not-a-caller-key-0123456789abcdef",
			`{"model": "`+testModel+`", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}`)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an unknown key: %d %s", resp.StatusCode, b)
		}
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	stopped := h.logs.String()
	time.Sleep(proxy.DefaultLogEvery + time.Second)
	if after := strings.TrimPrefix(h.logs.String(), stopped); after != "" {
		t.Errorf("logged after Serve returned:\n%s", after)
	}
}
