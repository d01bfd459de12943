package claude

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// priceKinds names each kind of token with the Counts of a million of it.
var priceKinds = []struct {
	name   string
	counts Counts
}{
	{"input", Counts{Input: 1e6}},
	{"output", Counts{Output: 1e6}},
	{"cache write 5m", Counts{CacheWrite5m: 1e6}},
	{"cache write 1h", Counts{CacheWrite1h: 1e6}},
	{"cache read", Counts{CacheRead: 1e6}},
}

// priceApprox compares dollar amounts to a billionth of a dollar.
var priceApprox = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })

// TestDefaultPricesTable checks the built-in table against FORMATS.md §5:
// every row, under each of the names the row gives, for a million tokens of
// each kind; and, with PerKind, the long-context rows as ccusage measured
// them.
func TestDefaultPricesTable(t *testing.T) {
	t.Parallel()
	// want is input, output, cache write 5m, cache write 1h, cache read, in
	// USD per million tokens, as §5's table lists them.
	tests := []struct {
		models []string
		want   [5]float64
		// perKind is the cost of a million tokens of each kind with PerKind
		// (§5: "Sonnet 4/4.5 at 1M tokens of input = $5.40 (measured)");
		// zero when it is want (no tier).
		perKind [5]float64
	}{
		{
			models: []string{"claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-5-20251101"},
			want:   [5]float64{5, 25, 6.25, 10, 0.50},
		},
		{
			models: []string{"claude-opus-4-1", "claude-opus-4-1-20250805", "claude-opus-4", "claude-opus-4-20250514", "claude-3-opus", "claude-3-opus-20240229"},
			want:   [5]float64{15, 75, 18.75, 30, 1.50},
		},
		{
			models:  []string{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-sonnet-4", "claude-sonnet-4-20250514"},
			want:    [5]float64{3, 15, 3.75, 6, 0.30},
			perKind: [5]float64{5.40, 21.00, 0.2e6*3.75/1e6 + 0.8e6*7.5/1e6, 10.80, 0.54},
		},
		{models: []string{"claude-sonnet-4-6"}, want: [5]float64{3, 15, 3.75, 6, 0.30}},
		{models: []string{"claude-3-7-sonnet", "claude-3-7-sonnet-20250219"}, want: [5]float64{3, 15, 3.75, 6, 0.30}},
		{models: []string{"claude-haiku-4-5", "claude-haiku-4-5-20251001"}, want: [5]float64{1, 5, 1.25, 2, 0.10}},
		{models: []string{"claude-3-5-haiku", "claude-3-5-haiku-20241022"}, want: [5]float64{0.80, 4, 1.00, 1.6, 0.08}},
		{models: []string{"claude-3-haiku", "claude-3-haiku-20240307"}, want: [5]float64{0.25, 1.25, 0.30, 0.50, 0.03}},
		// §5: "Fable 5 / claude-mythos-5 ($10/$50, write 12.5/20, read 1)".
		{models: []string{"claude-mythos-5"}, want: [5]float64{10, 50, 12.5, 20, 1}},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		for _, model := range tt.models {
			t.Run(model, func(t *testing.T) {
				t.Parallel()
				if _, ok := prices.Lookup(model); !ok {
					t.Fatalf("Lookup(%q): unknown", model)
				}
				for i, k := range priceKinds {
					perKind := tt.perKind[i]
					if perKind == 0 {
						perKind = tt.want[i]
					}
					for _, rc := range []struct {
						rule TierRule
						want float64
					}{{NoTier, tt.want[i]}, {PerKind, perKind}} {
						got, err := prices.Cost(model, k.counts, rc.rule)
						if err != nil {
							t.Fatalf("Cost(%s, 1M %s, %v): %v", model, k.name, rc.rule, err)
						}
						if diff := cmp.Diff(rc.want, got, priceApprox); diff != "" {
							t.Errorf("Cost(%s, 1M %s, rule %v) = %v, want %v", model, k.name, rc.rule, got, rc.want)
						}
					}
				}
			})
		}
	}
}

// TestPricesLookup checks how model names match: dates, provider prefixes,
// '.' and '@' forms, case, the longest match, and names that are no model's.
func TestPricesLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model string
		// want is the input price the model must get; 0 for unknown.
		want float64
		// long reports that the match has a long-context tier.
		long bool
	}{
		{model: "claude-opus-4-5", want: 5},
		{model: "claude-opus-4-5-20251101", want: 5}, // not claude-opus-4's $15
		{model: "claude-opus-4-20250514", want: 15},
		{model: "claude-opus-4-1-20250805", want: 15},
		{model: "anthropic/claude-opus-4-5", want: 5},
		{model: "anthropic/claude-opus-4.5", want: 5},
		{model: "claude-opus-4.5", want: 5},
		{model: "claude-opus-4-5@20251101", want: 5},                                 // Vertex
		{model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", want: 3, long: true}, // Bedrock
		{model: "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", want: 0.8},
		{model: "vertex_ai/claude-3-7-sonnet@20250219", want: 3},
		{model: "Claude-Sonnet-4-5", want: 3, long: true},
		{model: "  claude-haiku-4-5  ", want: 1},
		{model: "claude-sonnet-4-5-20250929", want: 3, long: true},
		{model: "claude-sonnet-4-6", want: 3}, // flat 1M context
		{model: "claude-sonnet-4-20250514", want: 3, long: true},
		{model: "claude-3-haiku-20240307", want: 0.25},
		{model: "claude-3-5-haiku-20241022", want: 0.8}, // not claude-3-haiku
		{model: "claude-haiku-4-5-fast", want: 1},
		{model: "sonnet-4-5", want: 3, long: true}, // contained in one name only
		// Unknown: newer models (FORMATS.md §0), other providers' models, nothing.
		{model: "claude-sonnet-5-5"},
		{model: "claude-opus-5-5"},
		{model: "claude-sonnet-5"},
		{model: "gpt-4o"},
		{model: "<synthetic>"},
		{model: ""},
		{model: "xclaude-opus-4-5"},
		// A newer minor version is not its major version's older model.
		{model: "claude-opus-4-9"},
		{model: "claude-opus-4-9-20260301"},
		{model: "claude-sonnet-4-7"},
		// Names that several models with different prices contain.
		{model: "haiku"},
		{model: "opus"},
		{model: "claude-opus"},
		{model: "claude-3"},
		{model: "claude"},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			// Repeated, since a lookup that depends on map order differs
			// from one call to the next.
			first, _ := prices.Lookup(tt.model)
			for range 50 {
				got, ok := prices.Lookup(tt.model)
				if diff := cmp.Diff(first, got); diff != "" {
					t.Fatalf("Lookup(%q) differs from one call to the next (-first +now):\n%s", tt.model, diff)
				}
				if ok != (tt.want != 0) || got.Input != tt.want || (got.LongContext != nil) != tt.long {
					t.Fatalf("Lookup(%q) = %+v, %v; want input %v (0: unknown), long context %v", tt.model, got, ok, tt.want, tt.long)
				}
			}
			_, err := prices.Cost(tt.model, Counts{Input: 1}, PerRequest)
			if (tt.want == 0) != errors.Is(err, ErrUnknownModel) {
				t.Errorf("Cost(%q) error = %v", tt.model, err)
			}
		})
	}
}

// TestPriceCostTierRules checks the three TierRules on Sonnet 4.5
// (FORMATS.md §5) and at the edge of the tier.
func TestPriceCostTierRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		counts Counts
		// want is the cost with PerRequest, PerKind and NoTier.
		want [3]float64
	}{
		{"1M input: $5.40 per kind (§5)", Counts{Input: 1e6}, [3]float64{6, 5.40, 3}},
		{"1M output: the request is small", Counts{Output: 1e6}, [3]float64{15, 21, 15}},
		{"200,000 tokens of input is not over", Counts{Input: 150_000, CacheRead: 50_000, Output: 1000}, [3]float64{0.45 + 0.015 + 0.015, 0.45 + 0.015 + 0.015, 0.45 + 0.015 + 0.015}},
		{
			"200,001 is over: every token at the long rate",
			Counts{Input: 150_001, CacheRead: 50_000, Output: 1000},
			[3]float64{(150_001*6 + 50_000*0.6 + 1000*22.5) / 1e6, (150_001*3 + 50_000*0.3 + 1000*15) / 1e6, (150_001*3 + 50_000*0.3 + 1000*15) / 1e6},
		},
		{
			"cache writes count toward the tier",
			Counts{Input: 10, CacheWrite5m: 100_000, CacheWrite1h: 100_000, Output: 10},
			[3]float64{(10*6 + 100_000*7.5 + 100_000*12 + 10*22.5) / 1e6, (10*3 + 100_000*3.75 + 100_000*6 + 10*15) / 1e6, (10*3 + 100_000*3.75 + 100_000*6 + 10*15) / 1e6},
		},
		{
			"per kind, each kind on its own",
			Counts{Input: 300_000, CacheRead: 250_000, Output: 250_000},
			[3]float64{
				(300_000*6 + 250_000*0.6 + 250_000*22.5) / 1e6,
				(200_000*3 + 100_000*6 + 200_000*0.3 + 50_000*0.6 + 200_000*15 + 50_000*22.5) / 1e6,
				(300_000*3 + 250_000*0.3 + 250_000*15) / 1e6,
			},
		},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i, rule := range []TierRule{PerRequest, PerKind, NoTier} {
				got, err := prices.Cost("claude-sonnet-4-5-20250929", tt.counts, rule)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want[i], got, priceApprox); diff != "" {
					t.Errorf("rule %d: cost %v, want %v", rule, got, tt.want[i])
				}
			}
			// A model without a tier ignores the rule.
			for _, rule := range []TierRule{PerRequest, PerKind, NoTier} {
				flat, _ := prices.Cost("claude-sonnet-4-6", tt.counts, NoTier)
				got, _ := prices.Cost("claude-sonnet-4-6", tt.counts, rule)
				if got != flat {
					t.Errorf("claude-sonnet-4-6, rule %d: %v, want the flat %v", rule, got, flat)
				}
			}
		})
	}
}

// TestPriceCostFastAndWebSearch checks fast-mode multipliers (6× for Opus
// 4.6 and 4.7, 2× for Opus 4.8, none elsewhere) and web searches at $0.01,
// which fast mode does not multiply (FORMATS.md §5).
func TestPriceCostFastAndWebSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model  string
		counts Counts
		want   float64
	}{
		{"claude-opus-4-6", Counts{Input: 1e6, Fast: true}, 30},
		{"claude-opus-4-6", Counts{Output: 1e6, Fast: true}, 150},
		{"claude-opus-4-7-20260101", Counts{Input: 1e6, Output: 1e6, Fast: true}, 180},
		{"claude-opus-4-8", Counts{Input: 1e6, Fast: true}, 10},
		{"claude-opus-4-8", Counts{Output: 1e6, Fast: true}, 50},
		{"claude-opus-4-8", Counts{CacheRead: 1e6, Fast: true}, 1},
		{"claude-opus-4-8", Counts{Output: 1e6}, 25},
		{"claude-opus-4-5", Counts{Input: 1e6, Fast: true}, 5},
		{"claude-sonnet-4-5", Counts{Input: 100_000, Fast: true}, 0.3},
		{"claude-opus-4-6", Counts{WebSearches: 1, Fast: true}, 0.01},
		{"claude-haiku-4-5", Counts{WebSearches: 100}, 1},
		{"claude-opus-4-6", Counts{Input: 1e6, WebSearches: 3, Fast: true}, 30.03},
	}
	prices := DefaultPrices()
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %+v", tt.model, tt.counts), func(t *testing.T) {
			t.Parallel()
			for _, rule := range []TierRule{PerRequest, PerKind, NoTier} {
				got, err := prices.Cost(tt.model, tt.counts, rule)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got, priceApprox); diff != "" {
					t.Errorf("rule %d: cost %v, want %v", rule, got, tt.want)
				}
			}
		})
	}
}

// TestPricesUnknownAndFallback checks that an unknown model is an error
// wrapping ErrUnknownModel until a fallback is set, and again after it is
// removed; the fallback does not make the model known.
func TestPricesUnknownAndFallback(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	c := Counts{Input: 1e6, Output: 1e6}
	if cost, err := p.Cost("claude-sonnet-5-5", c, PerRequest); !errors.Is(err, ErrUnknownModel) || cost != 0 {
		t.Fatalf("unknown model: %v, %v; want 0, ErrUnknownModel", cost, err)
	}
	fb := &Price{Input: 2, Output: 10}
	if err := p.SetFallback(fb); err != nil {
		t.Fatal(err)
	}
	fb.Input = 1000 // the table keeps its own copy
	if cost, err := p.Cost("claude-sonnet-5-5", c, PerRequest); err != nil || cost != 12 {
		t.Fatalf("with a fallback: %v, %v; want 12, nil", cost, err)
	}
	if cost, err := p.Cost("claude-haiku-4-5", c, PerRequest); err != nil || cost != 6 {
		t.Fatalf("a known model with a fallback: %v, %v; want its own price 6", cost, err)
	}
	if _, ok := p.Lookup("claude-sonnet-5-5"); ok {
		t.Error("Lookup reports a model priced by the fallback as known")
	}
	if err := p.SetFallback(&Price{Input: -1}); err == nil {
		t.Error("SetFallback took a negative price")
	}
	if err := p.SetFallback(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cost("claude-sonnet-5-5", c, PerRequest); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("after SetFallback(nil): %v, want ErrUnknownModel", err)
	}
}

// TestPricesSet checks that Set adds models, overrides built-in ones (dated
// names follow), normalizes names, and works on a zero Prices.
func TestPricesSet(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	newer := Price{Input: 4, Output: 20, CacheWrite5m: 5, CacheWrite1h: 8, CacheRead: 0.4}
	cheaper := Price{Input: 1.5, Output: 7.5}
	for _, set := range []struct {
		model string
		price Price
	}{{"claude-sonnet-5.5", newer}, {"claude-sonnet-4-5", cheaper}} {
		if err := p.Set(set.model, set.price); err != nil {
			t.Fatalf("Set(%q): %v", set.model, err)
		}
	}
	tests := []struct {
		model string
		want  Price
	}{
		{"claude-sonnet-5-5", newer},
		{"claude-sonnet-5-5-20260101", newer},
		{"anthropic/claude-sonnet-5.5", newer},
		{"claude-sonnet-4-5-20250929", cheaper},
		{"claude-sonnet-4-20250514", DefaultPrices().mustLookup(t, "claude-sonnet-4")},
	}
	for _, tt := range tests {
		got, ok := p.Lookup(tt.model)
		if !ok {
			t.Errorf("Lookup(%q): unknown", tt.model)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tt.model, diff)
		}
	}
	if got := DefaultPrices().mustLookup(t, "claude-sonnet-4-5"); got.Input != 3 {
		t.Errorf("Set on one table changed another's: %+v", got)
	}
	var zero Prices
	if err := zero.Set("my-model", cheaper); err != nil {
		t.Fatal(err)
	}
	if cost, err := zero.Cost("my-model-v2", Counts{Output: 1e6}, PerRequest); err != nil || cost != 7.5 {
		t.Errorf("zero Prices: %v, %v; want 7.5", cost, err)
	}
	for _, name := range []string{"", "   "} {
		if err := zero.Set(name, cheaper); err == nil {
			t.Errorf("Set(%q) took a price without a model", name)
		}
	}
}

// mustLookup returns a known model's price.
func (p *Prices) mustLookup(t *testing.T, model string) Price {
	t.Helper()
	pr, ok := p.Lookup(model)
	if !ok {
		t.Fatalf("Lookup(%q): unknown", model)
	}
	return pr
}

// TestPricesNoAliasing checks that a table shares no memory with its
// callers: a Price given to Set or SetFallback, or returned by Lookup, may
// be changed without changing the table.
func TestPricesNoAliasing(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	got := p.mustLookup(t, "claude-sonnet-4-5")
	got.LongContext.Input = 0
	if again := p.mustLookup(t, "claude-sonnet-4"); again.LongContext.Input != 6 {
		t.Errorf("changing a looked-up long-context price changed the table: %+v", again.LongContext)
	}
	long := &Price{Input: 8, Output: 40}
	if err := p.Set("claude-mythos-5", Price{Input: 4, Output: 20, LongContext: long}); err != nil {
		t.Fatal(err)
	}
	long.Input = 0
	if again := p.mustLookup(t, "claude-mythos-5"); again.LongContext.Input != 8 {
		t.Errorf("changing the long-context price given to Set changed the table: %+v", again.LongContext)
	}
}

// TestPricesRefused checks that Set and SetFallback refuse prices that are
// not prices, and leave the table as it was.
func TestPricesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		price Price
	}{
		{"negative input", Price{Input: -1}},
		{"NaN output", Price{Output: math.NaN()}},
		{"infinite cache write 5m", Price{CacheWrite5m: math.Inf(1)}},
		{"negative cache write 1h", Price{CacheWrite1h: -0.01}},
		{"negative infinite cache read", Price{CacheRead: math.Inf(-1)}},
		{"negative fast multiplier", Price{Input: 1, FastMultiplier: -2}},
		{"NaN fast multiplier", Price{Input: 1, FastMultiplier: math.NaN()}},
		{"negative long context", Price{Input: 1, LongContext: &Price{Input: -6}}},
		{"a tier in a tier", Price{Input: 1, LongContext: &Price{Input: 2, LongContext: &Price{Input: 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := DefaultPrices()
			if err := p.Set("claude-haiku-4-5", tt.price); err == nil {
				t.Error("Set took it")
			}
			if got := p.mustLookup(t, "claude-haiku-4-5"); got.Input != 1 {
				t.Errorf("a refused Set changed the table: %+v", got)
			}
			if err := p.SetFallback(&tt.price); err == nil {
				t.Error("SetFallback took it")
			}
			if _, err := p.Cost("claude-sonnet-5-5", Counts{Input: 1}, PerRequest); !errors.Is(err, ErrUnknownModel) {
				t.Errorf("a refused SetFallback set a fallback: %v", err)
			}
		})
	}
}

// TestPricesConcurrent prices while others Set and SetFallback (run with
// -race): every cost is one of the prices the model had.
func TestPricesConcurrent(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	a := Price{Input: 1, LongContext: &Price{Input: 2}}
	b := Price{Input: 3, LongContext: &Price{Input: 4}}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				switch (w + i) % 4 {
				case 0:
					if err := p.Set("claude-sonnet-4-5", a); err != nil {
						t.Error(err)
					}
				case 1:
					if err := p.Set("claude-sonnet-4-5", b); err != nil {
						t.Error(err)
					}
				case 2:
					if err := p.Set(fmt.Sprintf("model-%d-%d", w, i), a); err != nil {
						t.Error(err)
					}
				case 3:
					if err := p.SetFallback(&b); err != nil {
						t.Error(err)
					}
				}
			}
		})
		wg.Go(func() {
			for range 500 {
				cost, err := p.Cost("claude-sonnet-4-5", Counts{Input: 1e6}, PerRequest)
				if err != nil || (cost != 3 && cost != 6 && cost != 2 && cost != 4) {
					t.Errorf("Cost = %v, %v; want one of the prices set", cost, err)
				}
				if pr, ok := p.Lookup("claude-sonnet-4-5-20250929"); !ok || pr.LongContext == nil {
					t.Errorf("Lookup = %+v, %v", pr, ok)
				}
				if _, err := p.Cost("unknown-model", Counts{Input: 1}, NoTier); err != nil && !errors.Is(err, ErrUnknownModel) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
