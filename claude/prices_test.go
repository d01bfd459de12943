package claude

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// priceKinds names each kind of token with the Counts of 10,000 of it:
// below every tier's threshold.
var priceKinds = []struct {
	name   string
	counts Counts
}{
	{"input", Counts{Input: 1e4}},
	{"output", Counts{Output: 1e4}},
	{"cache write 5m", Counts{CacheWrite5m: 1e4}},
	{"cache write 1h", Counts{CacheWrite1h: 1e4}},
	{"cache read", Counts{CacheRead: 1e4}},
}

// priceApprox compares dollar amounts to a billionth of a dollar.
var priceApprox = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })

// cliPrices is what Claude Code 2.1.332 charges (docs/prices.md, its
// total_cost_usd over 451 runs), per million tokens of input, output,
// cache write 5m, cache write 1h and cache read, and its fast-mode
// multiplier; and, at the end, the older models ccusage knows.
var cliPrices = []struct {
	models []string
	rates  [5]float64
	fast   float64
}{
	{[]string{"claude-opus-5-5"}, [5]float64{4, 20, 5, 8, 0.20}, 2},
	{[]string{"claude-opus-5", "claude-opus-4-8"}, [5]float64{5, 25, 6.25, 10, 0.50}, 2},
	{[]string{"claude-opus-4-7", "claude-opus-4-6"}, [5]float64{5, 25, 6.25, 10, 0.50}, 6},
	{[]string{"claude-opus-4-5"}, [5]float64{5, 25, 6.25, 10, 0.50}, 0},
	{[]string{"claude-opus-4-1", "claude-opus-4-0", "claude-opus-4"}, [5]float64{15, 75, 18.75, 30, 1.50}, 0},
	{[]string{"claude-sonnet-5-5"}, [5]float64{2, 10, 2.5, 4, 0.10}, 0},
	{[]string{"claude-sonnet-5"}, [5]float64{2, 10, 2.5, 4, 0.20}, 0},
	{[]string{"claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4-0", "claude-3-7-sonnet", "claude-3-5-sonnet"}, [5]float64{3, 15, 3.75, 6, 0.30}, 0},
	{[]string{"claude-haiku-5-5"}, [5]float64{0.10, 0.50, 0.125, 0.20, 0.01}, 0},
	{[]string{"claude-haiku-4-5"}, [5]float64{1, 5, 1.25, 2, 0.10}, 0},
	{[]string{"claude-3-5-haiku"}, [5]float64{0.80, 4, 1, 1.6, 0.08}, 0},
	{[]string{"claude-fable-5-2", "claude-mythos-5-2"}, [5]float64{8, 40, 10, 16, 0.20}, 2},
	{[]string{"claude-fable-5-1", "claude-mythos-5-1"}, [5]float64{10, 50, 12.5, 20, 0.25}, 0},
	{[]string{"claude-fable-5", "claude-mythos-5"}, [5]float64{10, 50, 12.5, 20, 1}, 0},
	// Not in Claude Code's catalog; ccusage's prices.
	{[]string{"claude-3-opus"}, [5]float64{15, 75, 18.75, 30, 1.50}, 0},
	{[]string{"claude-3-haiku"}, [5]float64{0.25, 1.25, 0.30, 0.50, 0.03}, 0},
}

// TestDefaultPricesTable prices every model Claude Code knows, under each
// of its names, for every kind of token, under every rule, with and
// without "inference_geo":"us" and fast mode, and compares with the
// figures computed by hand from its price list: Claude Code multiplies by
// 1.1 for us (as Anthropic's bill does, PerRequest), ccusage (PerKind) and
// NoTier do not; fast mode multiplies by the model's multiplier under
// every rule.
func TestDefaultPricesTable(t *testing.T) {
	t.Parallel()
	prices := DefaultPrices()
	for _, row := range cliPrices {
		for _, model := range row.models {
			t.Run(model, func(t *testing.T) {
				t.Parallel()
				if r, err := prices.Resolve(model); err != nil || r.Estimate() {
					t.Fatalf("Resolve(%q) = %+v, %v; want the model's own price", model, r, err)
				}
				for i, k := range priceKinds {
					base := 1e4 * row.rates[i] / 1e6
					for _, rule := range []TierRule{PerRequest, PerKind, NoTier, ClaudeCode} {
						for _, geo := range []string{"", "us", "global"} {
							for _, fast := range []bool{false, true} {
								c := k.counts
								c.Geo, c.Fast = geo, fast
								want := base
								if geo == "us" && (rule == PerRequest || rule == ClaudeCode) {
									want *= 1.1
								}
								if fast && row.fast > 0 {
									want *= row.fast
								}
								got, err := prices.Cost(model, c, rule)
								if err != nil {
									t.Fatal(err)
								}
								if !cmp.Equal(want, got, priceApprox) {
									t.Errorf("%s, %s, geo %q, fast %v: $%v, want $%v", k.name, rule, geo, fast, got, want)
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestPriceCostTiers checks the long-prompt tiers under each rule: Sonnet
// 4 and 4.5's at 200,000 tokens (Anthropic bills it per request, ccusage
// per kind, Claude Code not at all) and Haiku 5.5's at 100,000 (5× every
// kind, which Claude Code applies too).
func TestPriceCostTiers(t *testing.T) {
	t.Parallel()
	prices := DefaultPrices()
	tests := []struct {
		name   string
		model  string
		counts Counts
		// want is the cost with PerRequest, PerKind, NoTier and ClaudeCode.
		want [4]float64
	}{
		{"sonnet 4.5, 1M input: $5.40 per kind", "claude-sonnet-4-5-20250929", Counts{Input: 1e6}, [4]float64{6, 5.40, 3, 3}},
		{"sonnet 4.5, 1M output: the request is small", "claude-sonnet-4-5", Counts{Output: 1e6}, [4]float64{15, 21, 15, 15}},
		{"sonnet 4.5, 200,000 is not over", "claude-sonnet-4-5", Counts{Input: 150_000, CacheRead: 50_000, Output: 1000},
			[4]float64{0.45 + 0.015 + 0.015, 0.45 + 0.015 + 0.015, 0.45 + 0.015 + 0.015, 0.45 + 0.015 + 0.015}},
		{
			"sonnet 4.5, 200,001 is over: every token at the long rate", "claude-sonnet-4",
			Counts{Input: 150_001, CacheRead: 50_000, Output: 1000},
			[4]float64{(150_001*6 + 50_000*0.6 + 1000*22.5) / 1e6, (150_001*3 + 50_000*0.3 + 1000*15) / 1e6,
				(150_001*3 + 50_000*0.3 + 1000*15) / 1e6, (150_001*3 + 50_000*0.3 + 1000*15) / 1e6},
		},
		{
			"sonnet 4.5, cache writes count toward the tier", "claude-sonnet-4-5",
			Counts{Input: 10, CacheWrite5m: 100_000, CacheWrite1h: 100_000, Output: 10},
			[4]float64{(10*6 + 100_000*7.5 + 100_000*12 + 10*22.5) / 1e6, (10*3 + 100_000*3.75 + 100_000*6 + 10*15) / 1e6,
				(10*3 + 100_000*3.75 + 100_000*6 + 10*15) / 1e6, (10*3 + 100_000*3.75 + 100_000*6 + 10*15) / 1e6},
		},
		{
			"sonnet 4.5, per kind, each kind on its own", "claude-sonnet-4-5",
			Counts{Input: 300_000, CacheRead: 250_000, Output: 250_000},
			[4]float64{
				(300_000*6 + 250_000*0.6 + 250_000*22.5) / 1e6,
				(200_000*3 + 100_000*6 + 200_000*0.3 + 50_000*0.6 + 200_000*15 + 50_000*22.5) / 1e6,
				(300_000*3 + 250_000*0.3 + 250_000*15) / 1e6,
				(300_000*3 + 250_000*0.3 + 250_000*15) / 1e6,
			},
		},
		{"sonnet 4.6 has no tier", "claude-sonnet-4-6", Counts{Input: 1e6}, [4]float64{3, 3, 3, 3}},
		{"sonnet 4.6[1m] is sonnet 4.6: no tier", "claude-sonnet-4-6[1m]", Counts{Input: 1e6}, [4]float64{3, 3, 3, 3}},
		{"haiku 5.5, 100,000 is not over", "claude-haiku-5-5", Counts{Input: 50_000, CacheRead: 30_000, CacheWrite5m: 20_000, Output: 1e4},
			[4]float64{(50_000*0.1 + 30_000*0.01 + 20_000*0.125 + 1e4*0.5) / 1e6, (50_000*0.1 + 30_000*0.01 + 20_000*0.125 + 1e4*0.5) / 1e6,
				(50_000*0.1 + 30_000*0.01 + 20_000*0.125 + 1e4*0.5) / 1e6, (50_000*0.1 + 30_000*0.01 + 20_000*0.125 + 1e4*0.5) / 1e6}},
		{
			"haiku 5.5, 100,001: 5x every kind, Claude Code too", "claude-haiku-5-5",
			Counts{Input: 50_001, CacheRead: 30_000, CacheWrite1h: 20_000, Output: 1e4},
			[4]float64{
				5 * (50_001*0.1 + 30_000*0.01 + 20_000*0.2 + 1e4*0.5) / 1e6,
				(50_001*0.1 + 30_000*0.01 + 20_000*0.2 + 1e4*0.5) / 1e6, // no kind is over 100,000 on its own
				(50_001*0.1 + 30_000*0.01 + 20_000*0.2 + 1e4*0.5) / 1e6,
				5 * (50_001*0.1 + 30_000*0.01 + 20_000*0.2 + 1e4*0.5) / 1e6,
			},
		},
		{"haiku 5.5, per kind past 100,000", "claude-haiku-5-5", Counts{Input: 150_000},
			[4]float64{150_000 * 0.5 / 1e6, (100_000*0.1 + 50_000*0.5) / 1e6, 150_000 * 0.1 / 1e6, 150_000 * 0.5 / 1e6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i, rule := range []TierRule{PerRequest, PerKind, NoTier, ClaudeCode} {
				got, err := prices.Cost(tt.model, tt.counts, rule)
				if err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal(tt.want[i], got, priceApprox) {
					t.Errorf("%s: $%v, want $%v", rule, got, tt.want[i])
				}
			}
		})
	}
}

// TestPriceCostFastAndWebSearch checks fast mode, from usage.speed or an
// id's -fast, and web searches at $0.01, which neither fast mode nor the
// us multiplier multiplies.
func TestPriceCostFastAndWebSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model  string
		counts Counts
		rule   TierRule
		want   float64
	}{
		{"claude-opus-4-6", Counts{Input: 1e6, Fast: true}, PerRequest, 30},
		{"claude-opus-4-6-fast", Counts{Input: 1e6}, PerRequest, 30},
		{"claude-opus-4-6-fast[1m]", Counts{Output: 1e6}, ClaudeCode, 150},
		{"claude-opus-4-7-20260101", Counts{Input: 1e6, Output: 1e6, Fast: true}, PerKind, 180},
		{"claude-opus-4-8", Counts{Input: 1e6, Fast: true}, PerRequest, 10},
		{"claude-opus-5-5", Counts{Output: 1e6, Fast: true}, PerRequest, 40},
		{"claude-opus-4-8", Counts{Output: 1e6}, PerRequest, 25},
		{"claude-opus-4-5", Counts{Input: 1e6, Fast: true}, PerRequest, 5},
		{"claude-sonnet-4-5", Counts{Input: 100_000, Fast: true}, PerRequest, 0.3},
		{"claude-opus-4-6", Counts{WebSearches: 1, Fast: true, Geo: "us"}, PerRequest, 0.01},
		{"claude-haiku-4-5", Counts{WebSearches: 100}, NoTier, 1},
		{"claude-opus-4-6", Counts{Input: 1e6, WebSearches: 3, Fast: true, Geo: "us"}, ClaudeCode, 33.03},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %+v %s", tt.model, tt.counts, tt.rule), func(t *testing.T) {
			t.Parallel()
			got, err := prices.Cost(tt.model, tt.counts, tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(tt.want, got, priceApprox) {
				t.Errorf("$%v, want $%v", got, tt.want)
			}
		})
	}
}

// TestPricesResolve checks how ids find their prices: every suffix and
// prefix real clients send, both naming schemes, Bedrock's regional ids,
// and unknown models by family and by fallback, never an older model.
func TestPricesResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model string
		want  Resolution
	}{
		{"claude-opus-4-6", Resolution{Key: "claude-opus-4-6", Match: MatchExact}},
		{"Claude-Opus-4-6", Resolution{Key: "claude-opus-4-6", Match: MatchExact}},
		{"  claude-haiku-4-5  ", Resolution{Key: "claude-haiku-4-5", Match: MatchExact}},
		{"claude-opus-4-6[1m]", Resolution{Key: "claude-opus-4-6", Match: MatchExact}}, // not Claude Opus 4's $15
		{"claude-sonnet-4-6[1m]", Resolution{Key: "claude-sonnet-4-6", Match: MatchExact}},
		{"claude-opus-4-6-fast", Resolution{Key: "claude-opus-4-6", Match: MatchExact, Fast: true}},
		{"anthropic/claude-opus-4-6-fast[1m]", Resolution{Key: "claude-opus-4-6", Match: MatchExact, Fast: true}},
		{"claude-opus-4-5-20251101", Resolution{Key: "claude-opus-4-5", Match: MatchModel}},
		{"claude-opus-4-20250514", Resolution{Key: "claude-opus-4", Match: MatchModel}},
		{"claude-opus-4-0", Resolution{Key: "claude-opus-4", Match: MatchModel}},
		{"claude-sonnet-4-0", Resolution{Key: "claude-sonnet-4", Match: MatchModel}},
		{"claude-opus-4-1-20250805", Resolution{Key: "claude-opus-4-1", Match: MatchModel}},
		{"anthropic/claude-opus-4-5", Resolution{Key: "claude-opus-4-5", Match: MatchExact}},
		{"anthropic/claude-opus-4.5", Resolution{Key: "claude-opus-4-5", Match: MatchModel}},
		{"openrouter/anthropic/claude-sonnet-4.5", Resolution{Key: "claude-sonnet-4-5", Match: MatchModel}},
		{"claude-opus-4-5@20251101", Resolution{Key: "claude-opus-4-5", Match: MatchModel}}, // Vertex
		{"vertex_ai/claude-3-7-sonnet@20250219", Resolution{Key: "claude-3-7-sonnet", Match: MatchModel}},
		{"claude-3-5-sonnet-20241022", Resolution{Key: "claude-3-5-sonnet", Match: MatchModel}},
		{"claude-3.5-sonnet-latest", Resolution{Key: "claude-3-5-sonnet", Match: MatchModel}},
		{"claude-sonnet-3-5", Resolution{Key: "claude-3-5-sonnet", Match: MatchModel}},        // the other scheme
		{"claude-3-5-haiku-20241022", Resolution{Key: "claude-3-5-haiku", Match: MatchModel}}, // not claude-3-haiku
		{"claude-3-haiku-20240307", Resolution{Key: "claude-3-haiku", Match: MatchModel}},
		{"claude-haiku-4-5-latest", Resolution{Key: "claude-haiku-4-5", Match: MatchModel}},
		// Bedrock: the regional id as LiteLLM lists it, or by its model and
		// region; the global and unlisted ones as the model.
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", Resolution{Key: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Match: MatchExact}},
		{"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", Resolution{Key: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Match: MatchExact}},
		{"us.anthropic.claude-sonnet-4-5", Resolution{Key: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Match: MatchModel}},
		{"eu.anthropic.claude-opus-4-6-v1:0", Resolution{Key: "eu.anthropic.claude-opus-4-6-v1", Match: MatchModel}},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", Resolution{Key: "claude-sonnet-4-5", Match: MatchModel}},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", Resolution{Key: "claude-3-5-haiku", Match: MatchModel}},
		{"apac.anthropic.claude-3-haiku-20240307-v1:0", Resolution{Key: "claude-3-haiku", Match: MatchModel}},
		// Unknown models of a known family: its newest model, an estimate.
		{"claude-opus-4-9", Resolution{Key: "claude-opus-5-5", Match: MatchFamily}}, // not claude-opus-4
		{"claude-opus-4-9-20260301", Resolution{Key: "claude-opus-5-5", Match: MatchFamily}},
		{"claude-sonnet-4-7", Resolution{Key: "claude-sonnet-5-5", Match: MatchFamily}},
		{"claude-sonnet-6", Resolution{Key: "claude-sonnet-5-5", Match: MatchFamily}},
		{"claude-haiku-6-1[1m]", Resolution{Key: "claude-haiku-5-5", Match: MatchFamily}},
		{"claude-fable-5-3", Resolution{Key: "claude-fable-5-2", Match: MatchFamily}},
		{"claude-mythos-preview", Resolution{Key: "claude-mythos-5-2", Match: MatchFamily}},
		{"claude-opus-4-6-thinking", Resolution{Key: "claude-opus-5-5", Match: MatchFamily}},
		{"claude-opus", Resolution{Key: "claude-opus-5-5", Match: MatchFamily}},
		// Others: the fallback, an estimate.
		{"gpt-4o", Resolution{Match: MatchFallback}},
		{"<synthetic>", Resolution{Match: MatchFallback}},
		{"", Resolution{Match: MatchFallback}},
		{"opus-4-5", Resolution{Match: MatchFallback}}, // not a Claude id: Claude Code does not know it either
		{"xclaude-opus-4-5", Resolution{Match: MatchFallback}},
		{"claude-instant-1", Resolution{Match: MatchFallback}},
		{"gpt-5-fast", Resolution{Match: MatchFallback, Fast: true}},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			for range 2 { // the second from the table's memory
				got, err := prices.Resolve(tt.model)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("Resolve(%q) (-want +got):\n%s", tt.model, diff)
				}
			}
			_, known := prices.Lookup(tt.model)
			if known == tt.want.Estimate() {
				t.Errorf("Lookup(%q) known = %v, want %v", tt.model, known, !tt.want.Estimate())
			}
		})
	}
}

// TestPricesBedrockRegional checks that a regional Bedrock id costs 10%
// more than the global one, as LiteLLM lists it, tiers included.
func TestPricesBedrockRegional(t *testing.T) {
	t.Parallel()
	prices := DefaultPrices()
	for _, tt := range []struct{ regional, global string }{
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"},
		{"eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"},
		{"jp.anthropic.claude-opus-4-8", "claude-opus-4-8"},
		{"au.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6"},
	} {
		for _, c := range []Counts{{Input: 1e6}, {Output: 1e4, CacheRead: 3e5}, {CacheWrite5m: 1e4, CacheWrite1h: 1e4}} {
			for _, rule := range []TierRule{PerRequest, PerKind} {
				r, err1 := prices.Cost(tt.regional, c, rule)
				g, err2 := prices.Cost(tt.global, c, rule)
				if err := errors.Join(err1, err2); err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal(g*1.1, r, priceApprox) {
					t.Errorf("%s %+v %s: $%v, want 1.1 × $%v", tt.regional, c, rule, r, g)
				}
			}
		}
	}
}

// TestPricesFallback checks DefaultPrices' fallback (the dearest model
// with no deprecation date) and that a table without one refuses a model
// of no family, and prices one of a family it has.
func TestPricesFallback(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	fb, ok := p.Fallback()
	if want, _ := p.Lookup("claude-opus-4-1"); !ok || !cmp.Equal(want, fb) {
		t.Fatalf("fallback %+v, %v; want Claude Opus 4.1's %+v", fb, ok, want)
	}
	c := Counts{Input: 1e6, Output: 1e6}
	if cost, err := p.Cost("gpt-4o", c, PerRequest); err != nil || cost != 90 {
		t.Errorf("a model of no family: $%v, %v; want the fallback's $90", cost, err)
	}
	if err := p.SetFallback(nil); err != nil {
		t.Fatal(err)
	}
	if cost, err := p.Cost("gpt-4o", c, PerRequest); !errors.Is(err, ErrUnknownModel) || cost != 0 {
		t.Errorf("without a fallback: $%v, %v; want ErrUnknownModel", cost, err)
	}
	if _, err := p.Resolve("gpt-4o"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Resolve without a fallback: %v, want ErrUnknownModel", err)
	}
	if q, err := p.Quote("claude-sonnet-9", c, PerRequest); err != nil || q.CostUSD != 12 || q.PricedAs() != "claude-sonnet-5-5" {
		t.Errorf("a model of a family without a fallback: %+v, %v; want Claude Sonnet 5.5's $12", q, err)
	}
	fbPrice := &Price{Input: 2, Output: 10}
	if err := p.SetFallback(fbPrice); err != nil {
		t.Fatal(err)
	}
	fbPrice.Input = 1000 // the table keeps its own copy
	if q, err := p.Quote("gpt-4o", c, PerRequest); err != nil || q.CostUSD != 12 || q.PricedAs() != "fallback" {
		t.Errorf("with a fallback: %+v, %v; want $12 priced as fallback", q, err)
	}
	if err := p.SetFallback(&Price{Input: -1}); err == nil {
		t.Error("SetFallback took a negative price")
	}
	if got, _ := p.Fallback(); got.Input != 2 {
		t.Errorf("a refused SetFallback changed the fallback: %+v", got)
	}
}

// TestCcusagePrices checks the table transcripts use by default: ccusage's
// prices, no estimates.
func TestCcusagePrices(t *testing.T) {
	t.Parallel()
	p := CcusagePrices()
	for _, model := range []string{"claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5", "claude-fable-5-2", "claude-opus-4-9", "gpt-4o"} {
		if _, err := p.Resolve(model); !errors.Is(err, ErrUnknownModel) {
			t.Errorf("Resolve(%q) = %v; ccusage does not price it", model, err)
		}
	}
	for _, model := range []string{"claude-sonnet-5", "claude-opus-5", "claude-fable-5", "claude-3-5-sonnet-20241022", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
		if _, ok := p.Lookup(model); !ok {
			t.Errorf("Lookup(%q): unknown; ccusage prices it", model)
		}
	}
}

// TestBuiltinPrices checks the built-in file's deprecation dates (the
// retirements Claude Code 2.1.332 announces) and that every entry is
// priced under every rule.
func TestBuiltinPrices(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for model, want := range map[string]time.Time{
		"claude-sonnet-4-5": day("2026-11-30"), "claude-sonnet-4": day("2026-06-15"), "claude-opus-4": day("2026-06-15"),
		"claude-3-7-sonnet": day("2026-02-19"), "claude-3-5-haiku": day("2026-02-19"), "claude-3-opus": day("2026-01-05"),
		"claude-3-5-sonnet": day("2025-10-28"), "claude-opus-4-5": day("2027-01-22"),
		"claude-opus-4-1": {}, "claude-sonnet-5-5": {}, "claude-haiku-4-5": {},
	} {
		if got, _ := p.Lookup(model); !got.Deprecated.Equal(want) {
			t.Errorf("%s retires %v, want %v", model, got.Deprecated, want)
		}
	}
	for key, e := range p.entries {
		if e.price.Geo["us"] != 1.1 {
			t.Errorf("%s: geo us %v, want 1.1", key, e.price.Geo["us"])
		}
		for _, rule := range []TierRule{PerRequest, PerKind, NoTier, ClaudeCode} {
			if cost, err := p.Cost(key, Counts{Input: 1e6, Output: 1e6, CacheRead: 1e6, Geo: "us", Fast: true}, rule); err != nil || !(cost > 0) {
				t.Errorf("%s, %s: $%v, %v", key, rule, cost, err)
			}
		}
	}
}
