package proxy_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

// cliUsage is what the fake upstream answered Claude Code 2.1.332's first
// request with: 12 input tokens, 7 output, 100 written to the cache, 200
// read from it; $0.000364 on Claude Sonnet 5.5, as its total_cost_usd said.
var cliUsage = fakeanthropic.Usage{Input: 12, Output: 7, CacheWrite5m: 100, CacheRead: 200}

// cliAsk sends a request as Claude Code 2.1.332 does (one streamed POST
// /v1/messages?beta=true per turn) for model, through h as the client, and
// reads the whole stream.
func cliAsk(t *testing.T, h http.RoundTripper, url, client, model string) int {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, model)
	req, err := http.NewRequestWithContext(proxy.WithClient(t.Context(), client), http.MethodPost, url+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", keyAlice)
	resp, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// events keeps the pool's events.
type events struct {
	mu  sync.Mutex
	all []authpool.Event
}

func (e *events) Notify(ctx context.Context, ev authpool.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	return nil
}

// The CLI's default models cost what Claude Code charges for them, 10%
// more computed in the US; an unknown model of a known family costs its
// family's newest model's price, is counted as an estimate and reported
// once (it used to be recorded at $0); a model of no family costs the
// fallback price.
func TestTransportPricesCurrentModels(t *testing.T) {
	t.Parallel()
	seen := &events{}
	f := newFront(t, frontSubs, authpool.WithNotifier(seen))
	tests := []struct {
		model, client string
		usage         fakeanthropic.Usage
		want          float64 // USD
	}{
		{"claude-sonnet-5-5", "oauth-mode", cliUsage, 0.000364},
		{"claude-opus-5-5", "api-key-mode", fakeanthropic.Usage{Input: 12, Output: 7, CacheWrite5m: 100, CacheRead: 200, InferenceGeo: "us"},
			1.1 * (12*4 + 7*20 + 100*5 + 200*0.2) / 1e6},
		{"claude-opus-4-6[1m]", "one-m", fakeanthropic.Usage{Input: 1e6}, 5},      // not Claude Opus 4's $15
		{"claude-sonnet-7", "newer", cliUsage, 0.000364},                          // as claude-sonnet-5-5, an estimate
		{"claude-sonnet-7", "newer-again", cliUsage, 0.000364},                    // reported once
		{"gpt-9", "other", fakeanthropic.Usage{Input: 1e6, Output: 1e6}, 15 + 75}, // the fallback: Claude Opus 4.1's
	}
	for _, tt := range tests {
		f.up.SetDefault(fakeanthropic.OK(tt.usage))
		if code := cliAsk(t, f.tr, f.ts.URL, tt.client, tt.model); code != http.StatusOK {
			t.Fatalf("%s: status %d", tt.model, code)
		}
		if s := f.session(t, tt.client); math.Abs(s.CostUSD-tt.want) > 1e-9 {
			t.Errorf("%s: recorded $%v, want $%v", tt.model, s.CostUSD, tt.want)
		}
	}
	if s := f.pool.Stats(); s.EstimatedUsages != 3 || s.Records != int64(len(tests)) {
		t.Errorf("%d of %d usages estimated, want 3", s.EstimatedUsages, s.Records)
	}
	if err := f.pool.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range seen.all {
		if e.Type == authpool.EventUnpricedModel {
			got = append(got, e.Unpriced.Model+" as "+e.Unpriced.PricedAs)
		}
	}
	if want := []string{"claude-sonnet-7 as claude-sonnet-5-5", "gpt-9 as fallback"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("unpricedModel events %q, want %q", got, want)
	}
	if strings.Contains(f.logs.String(), "recording its tokens at no cost") {
		t.Errorf("a response was recorded at no cost:\n%s", f.logs.String())
	}
}

// A price table without a fallback still cannot price a model of no
// family: its tokens are recorded at no cost, and that is logged.
func TestTransportUnknownModelWithoutFallback(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	prices, err := claude.ReadPrices(strings.NewReader(`{"claude-haiku-4-5": {"input_cost_per_token": 1e-6, "output_cost_per_token": 5e-6}}`))
	if err != nil {
		t.Fatal(err)
	}
	tr := &proxy.Transport{Pool: f.pool, Base: f.tr.Base, Clock: func() time.Time { return frontNow }, Logger: f.tr.Logger, Prices: prices}
	f.up.SetDefault(fakeanthropic.OK(cliUsage))
	if code := cliAsk(t, tr, f.ts.URL, "alice", "gpt-9"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if s := f.session(t, "alice"); s.CostUSD != 0 || s.Tokens.Input != 12 {
		t.Errorf("session %+v; want the tokens at no cost", s)
	}
	if !strings.Contains(f.logs.String(), "recording its tokens at no cost") {
		t.Errorf("no warning:\n%s", f.logs.String())
	}
}

// Issue 13: a caller capped at $0.0018 sent six one-shot runs of Claude
// Code's default model in OAuth mode; all six went through, recorded at $0.
// Each costs $0.000364: the sixth finds the cap spent.
func TestProxyCapsTheDefaultModel(t *testing.T) {
	t.Parallel()
	f := newFront(t, frontSubs)
	proxy, err := proxy.New(f.tr, []proxy.Caller{{ID: "ci", Key: keyAlice, CapUSD: 0.0018}}, f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	f.up.SetDefault(fakeanthropic.OK(cliUsage))
	var codes []int
	for range 6 {
		codes = append(codes, cliAsk(t, ps.Client().Transport, ps.URL, "", "claude-sonnet-5-5"))
	}
	if want := []int{200, 200, 200, 200, 200, 429}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
}
