package claude_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
)

// A proxy passes an SSE stream through untouched while it captures the
// response's usage, and records it.
func ExampleNewStreamReader() {
	stream := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_01","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":12,"cache_creation_input_tokens":5210,"cache_read_input_tokens":18300,"output_tokens":1}}}` + "\n\n" +
		"event: message_delta\n" +
		`data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":640}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
	sr := claude.NewStreamReader(strings.NewReader(stream))
	var client strings.Builder
	if _, err := io.Copy(&client, sr); err != nil { // to the client, unchanged
		panic(err)
	}
	mu := sr.Usage()
	u, err := mu.Usage(claude.DefaultPrices(), claude.PerRequest, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	fmt.Println(client.String() == stream, mu.Complete)
	fmt.Printf("%s %s: %d in, %d out, %d cache writes, %d cache reads: $%.6f\n",
		u.ID, u.Model, u.Tokens.Input, u.Tokens.Output, u.Tokens.CacheWrite, u.Tokens.CacheRead, u.CostUSD)
	// Output:
	// true true
	// msg_01 claude-sonnet-4-5-20250929: 12 in, 640 out, 5210 cache writes, 18300 cache reads: $0.034663
}

// A quota 429 takes the subscription out of service until the latest reset
// its rejected windows name; its clients move on their next Allocate.
func ExampleApply() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{
		{ID: "max-a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a"},
		{ID: "max-b", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-b"},
	}}, authpool.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)
	a, _ := p.Allocate(ctx, "alice")

	h := http.Header{}
	h.Set("anthropic-ratelimit-unified-status", "rejected")
	h.Set("anthropic-ratelimit-unified-5h-status", "rejected")
	h.Set("anthropic-ratelimit-unified-5h-utilization", "1.0")
	h.Set("anthropic-ratelimit-unified-5h-reset", fmt.Sprint(now.Add(95*time.Minute).Unix()))
	body := []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"5-hour limit reached"}}`)
	v := claude.Classify(http.StatusTooManyRequests, h, body, now)
	fmt.Println(v.Kind, "until", v.Until.Format("15:04"))
	if err := claude.Apply(ctx, p, a.SubscriptionID, v, "", now); err != nil {
		panic(err)
	}
	a, _ = p.Allocate(ctx, "alice")
	fmt.Println(a.Outcome, a.From, "->", a.SubscriptionID, "because", a.Reason)
	// Output:
	// quota until 13:35
	// moved max-a -> max-b because limited
}

// A price file in LiteLLM's shape prices the models it names (a cache
// price it leaves out is a share of the input price: reads cost a tenth);
// a model it does not name, of a family it has, is priced as the family's
// newest model it has, and said to be an estimate.
func ExampleReadPrices() {
	file := `{
	    "claude-opus-5-5": {
	        "input_cost_per_token": 4e-06,
	        "output_cost_per_token": 2e-05,
	        "provider_specific_entry": {"fast": 2, "us": 1.1},
	        "litellm_provider": "anthropic",
	        "mode": "chat"
	    },
	    "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}
	}`
	prices, err := claude.ReadPrices(strings.NewReader(file))
	if err != nil {
		panic(err)
	}
	c := claude.Counts{Input: 1_000_000, Output: 100_000, CacheRead: 500_000, Geo: "us"}
	for _, model := range []string{"claude-opus-5-5-20261201", "claude-opus-6[1m]"} {
		q, err := prices.Quote(model, c, claude.PerRequest)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: $%.2f, priced as %s (%s), estimate %v\n", model, q.CostUSD, q.Key, q.Match, q.Estimate())
	}
	_, err = prices.Cost("gpt-4o", c, claude.PerRequest) // not a Claude model: not read
	fmt.Println(errors.Is(err, claude.ErrUnknownModel))
	// Output:
	// claude-opus-5-5-20261201: $6.82, priced as claude-opus-5-5 (model), estimate false
	// claude-opus-6[1m]: $6.82, priced as claude-opus-5-5 (family), estimate true
	// true
}
