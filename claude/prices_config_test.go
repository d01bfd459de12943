package claude

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPricesWithFile checks a price table: the built-in one, with the
// file's entries in place of those of the same models.
func TestPricesWithFile(t *testing.T) {
	t.Parallel()
	if p, err := PricesWithFile(""); err != nil || len(p.entries) != len(DefaultPrices().entries) {
		t.Fatalf("no price file: %v, %v; want the built-in table", p, err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "prices.json")
	err := os.WriteFile(file, []byte(`{
		"claude-sonnet-4-5-20250929": {"input_cost_per_token": 4e-06, "output_cost_per_token": 2e-05},
		"claude-opus-5-5": {"input_cost_per_token": 3e-05, "output_cost_per_token": 1e-04, "provider_specific_entry": {"fast": 3}},
		"claude-house-1": {"input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06},
		"gpt-4o": {"input_cost_per_token": 1}
	}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PricesWithFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := Counts{Input: 1e6, Output: 1e6}
	for _, tt := range []struct {
		model    string
		want     float64
		pricedAs string
	}{
		{"claude-sonnet-4-5", 24, ""},                       // the file's, under another name of the model
		{"claude-sonnet-4-5[1m]", 24, ""},                   // without the built-in tier
		{"claude-opus-5-5", 130, ""},                        // replaced
		{"claude-house-1", 5, ""},                           // added
		{"claude-haiku-4-5", 6, ""},                         // the built-in price stays
		{"us.anthropic.claude-sonnet-4-5", 6.6 + 24.75, ""}, // another model: Bedrock's regional id keeps its price and tier
		{"claude-opus-9", 130, "claude-opus-5-5"},
		{"gpt-4o", 130, "fallback"}, // the dearest model is the file's now
	} {
		q, err := p.Quote(tt.model, c, PerRequest)
		if err != nil || !near(q.CostUSD, tt.want) || q.PricedAs() != tt.pricedAs {
			t.Errorf("%s: %+v, %v; want $%v priced as %q", tt.model, q, err, tt.want, tt.pricedAs)
		}
	}
	if err := os.WriteFile(file, []byte(`{"claude-x": {"input_cost_per_token": -1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := PricesWithFile(file); p != nil || err == nil || !strings.Contains(err.Error(), "/claude-x/input_cost_per_token: -1 is negative") {
		t.Errorf("a bad file: %v, %v", p, err)
	}
	if _, err := PricesWithFile(filepath.Join(dir, "none.json")); err == nil {
		t.Error("a missing file: no error")
	}
}

// near compares dollar amounts to a billionth of a dollar.
func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
