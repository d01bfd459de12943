package claude

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The table's own behaviour: Set, copies, refusals, its memory of
// resolutions, and concurrency.

// TestPricesSet checks that Set adds models and replaces the entries of
// the same model (dated names follow; regional ones do not), on a table
// of its own, and on a zero Prices.
func TestPricesSet(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	newer := Price{Input: 4, Output: 20, CacheWrite5m: 5, CacheWrite1h: 8, CacheRead: 0.4}
	cheaper := Price{Input: 1.5, Output: 7.5}
	for _, set := range []struct {
		model string
		price Price
	}{{"claude-sonnet-5.5", newer}, {"claude-sonnet-4-5-20250929", cheaper}} {
		if err := p.Set(set.model, set.price); err != nil {
			t.Fatalf("Set(%q): %v", set.model, err)
		}
	}
	regional, _ := DefaultPrices().Lookup("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
	sonnet4, _ := DefaultPrices().Lookup("claude-sonnet-4")
	tests := []struct {
		model string
		want  Price
	}{
		{"claude-sonnet-5-5", newer},
		{"claude-sonnet-5-5-20260101", newer},
		{"anthropic/claude-sonnet-5.5", newer},
		{"claude-sonnet-4-5", cheaper},
		{"claude-sonnet-4-5[1m]", cheaper},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", regional},
		{"claude-sonnet-4-20250514", sonnet4},
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
	if got, _ := DefaultPrices().Lookup("claude-sonnet-4-5"); got.Input != 3 {
		t.Errorf("Set on one table changed another's: %+v", got)
	}
	var zero Prices
	if err := zero.Set("my-model", cheaper); err != nil {
		t.Fatal(err)
	}
	if cost, err := zero.Cost("my-model-v2", Counts{Output: 1e6}, PerRequest); err != nil || cost != 7.5 {
		t.Errorf("zero Prices: %v, %v; want 7.5", cost, err)
	}
	if _, err := zero.Cost("your-model", Counts{Output: 1e6}, PerRequest); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("zero Prices, unknown model: %v, want ErrUnknownModel", err)
	}
	for _, name := range []string{"", "   "} {
		if err := zero.Set(name, cheaper); err == nil {
			t.Errorf("Set(%q) took a price without a model", name)
		}
	}
}

// TestPricesNoAliasing checks that a table shares no memory with its
// callers: a Price given to Set or SetFallback, or returned by Lookup or
// Fallback, may be changed without changing the table.
func TestPricesNoAliasing(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	got, _ := p.Lookup("claude-sonnet-4-5")
	got.Tiers[0].Input = 0
	got.Geo["us"] = 100
	if again, _ := p.Lookup("claude-sonnet-4-5"); again.Tiers[0].Input != 6 || again.Geo["us"] != 1.1 {
		t.Errorf("changing a looked-up price changed the table: %+v", again)
	}
	if other, _ := DefaultPrices().Lookup("claude-sonnet-4-5"); other.Tiers[0].Input != 6 {
		t.Errorf("changing a looked-up price changed another table: %+v", other)
	}
	set := Price{Input: 4, Output: 20, Tiers: []Tier{{Above: 1000, Input: 8, Output: 40}}, Geo: map[string]float64{"us": 2}}
	if err := p.Set("claude-mythos-5", set); err != nil {
		t.Fatal(err)
	}
	set.Tiers[0].Input, set.Geo["us"] = 0, 0
	if again, _ := p.Lookup("claude-mythos-5"); again.Tiers[0].Input != 8 || again.Geo["us"] != 2 {
		t.Errorf("changing the price given to Set changed the table: %+v", again)
	}
	fb, _ := p.Fallback()
	fb.Geo["us"] = 50
	if again, _ := p.Fallback(); again.Geo["us"] != 1.1 {
		t.Errorf("changing the fallback returned changed the table: %+v", again)
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
		{"more than a dollar a token", Price{Input: 2e6}},
		{"negative fast multiplier", Price{Input: 1, FastMultiplier: -2}},
		{"NaN fast multiplier", Price{Input: 1, FastMultiplier: math.NaN()}},
		{"zero geo multiplier", Price{Input: 1, Geo: map[string]float64{"us": 0}}},
		{"huge geo multiplier", Price{Input: 1, Geo: map[string]float64{"us": 1e9}}},
		{"negative tier", Price{Input: 1, Tiers: []Tier{{Above: 1000, Input: -6}}}},
		{"tier without a threshold", Price{Input: 1, Tiers: []Tier{{Input: 2}}}},
		{"tiers out of order", Price{Input: 1, Tiers: []Tier{{Above: 2000, Input: 2}, {Above: 1000, Input: 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := DefaultPrices()
			if err := p.Set("claude-haiku-4-5", tt.price); err == nil {
				t.Error("Set took it")
			}
			if got, _ := p.Lookup("claude-haiku-4-5"); got.Input != 1 {
				t.Errorf("a refused Set changed the table: %+v", got)
			}
			if err := p.SetFallback(&tt.price); err == nil {
				t.Error("SetFallback took it")
			}
			if got, _ := p.Fallback(); got.Input != 15 {
				t.Errorf("a refused SetFallback changed the fallback: %+v", got)
			}
		})
	}
}

// TestPricesCostAllocs checks that pricing a response allocates nothing
// once its model has been priced, whatever it resolved to.
func TestPricesCostAllocs(t *testing.T) {
	p := DefaultPrices()
	c := Counts{Input: 12, Output: 640, CacheWrite5m: 5210, CacheRead: 18300, Geo: "us"}
	for _, model := range []string{"claude-opus-4-6", "claude-sonnet-4-5-20250929", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-opus-9", "gpt-4o"} {
		if _, err := p.Quote(model, c, PerRequest); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() {
			if _, err := p.Quote(model, c, PerRequest); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Quote(%q) allocates %v times", model, n)
		}
	}
}

// TestPricesResolutionsBounded checks that a table remembers at most
// maxResolutions ids, and forgets them when its prices change.
func TestPricesResolutionsBounded(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	for i := range 3 * maxResolutions {
		if _, err := p.Resolve(fmt.Sprintf("claude-opus-%d", i)); err != nil {
			t.Fatal(err)
		}
		if n := len(p.cache); n > maxResolutions {
			t.Fatalf("%d resolutions kept, more than %d", n, maxResolutions)
		}
	}
	if r, _ := p.Resolve("claude-opus-9-9"); r.Match != MatchFamily {
		t.Fatalf("claude-opus-9-9: %+v", r)
	}
	if err := p.Set("claude-opus-9-9", Price{Input: 1}); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Resolve("claude-opus-9-9"); r.Match != MatchExact {
		t.Errorf("after Set: %+v, want its own price", r)
	}
	if r, _ := p.Resolve("claude-opus-10"); r.Key != "claude-opus-9-9" {
		t.Errorf("after Set, the newest opus: %+v, want claude-opus-9-9", r)
	}
}

// TestPricesConcurrent prices while others Set and SetFallback (run with
// -race): every cost is one of the prices the model had.
func TestPricesConcurrent(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	a := Price{Input: 1, Tiers: []Tier{{Above: 200_000, Input: 2}}}
	b := Price{Input: 3, Tiers: []Tier{{Above: 200_000, Input: 4}}}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				var err error
				switch (w + i) % 4 {
				case 0:
					err = p.Set("claude-sonnet-4-5", a)
				case 1:
					err = p.Set("claude-sonnet-4-5", b)
				case 2:
					err = p.Set(fmt.Sprintf("model-%d-%d", w, i), a)
				case 3:
					err = p.SetFallback(&b)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for i := range 500 {
				cost, err := p.Cost("claude-sonnet-4-5", Counts{Input: 1e6}, PerRequest)
				if err != nil || (cost != 6 && cost != 2 && cost != 4) {
					t.Errorf("Cost = %v, %v; want one of the prices set", cost, err)
				}
				if pr, ok := p.Lookup("claude-sonnet-4-5-20250929"); !ok || len(pr.Tiers) != 1 {
					t.Errorf("Lookup = %+v, %v", pr, ok)
				}
				if _, err := p.Cost(fmt.Sprintf("unknown-model-%d", i%7), Counts{Input: 1}, NoTier); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
