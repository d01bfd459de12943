package proxy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/authpool/authpool/claude/proxy"
)

// The model a request is placed for is its body's top-level "model",
// wherever the body puts it: the Go SDK (as the Python SDK) writes it after
// the messages, which may be long and may hold a "model" of their own (a
// tool's input). sub-a is limited for Sonnet, so a Sonnet request must go
// to sub-b.
func TestRequestModelIsTheTopLevelOne(t *testing.T) {
	t.Parallel()
	limited := func(t *testing.T, f *front) {
		t.Helper()
		if err := f.pool.MarkModelLimited(context.Background(), "sub-a", "sonnet", frontNow.Add(time.Hour), "weekly Sonnet limit"); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("transport, a long conversation from the Go SDK", func(t *testing.T) {
		t.Parallel()
		f := newFront(t, frontSubs)
		limited(t, f)
		client := sdk(f.ts.URL, f.tr, &wireTee{}, option.WithAPIKey(callerJunk))
		long := anthropic.MessageNewParams{
			Model: model, MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("long history ", 2000)))},
		}
		if _, err := client.Messages.New(proxy.WithClient(t.Context(), "alice"), long); err != nil {
			t.Fatal(err)
		}
		if got := f.up.Requests()[0].Bearer; got != credB {
			t.Errorf("sent with sub-a's token: %v; want sub-b's (sub-a is limited for the request's model)", got == credA)
		}
	})
	t.Run("proxy, a tool input naming a model", func(t *testing.T) {
		t.Parallel()
		p := newProxied(t, frontSubs)
		limited(t, p.front)
		body := `{"max_tokens":16,"messages":[` +
			`{"role":"user","content":"pick a model"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"pick","input":{"model":"claude-opus-4-1"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}],` +
			`"model":"` + model + `"}`
		resp, got := p.post(t, "POST", "/v1/messages", body, "x-api-key", keyBob)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, got)
		}
		if got := p.up.Requests()[0].Bearer; got != credB {
			t.Errorf("sent with sub-a's token: %v; want sub-b's (sub-a is limited for the request's model)", got == credA)
		}
	})
}
