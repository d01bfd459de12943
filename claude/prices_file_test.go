package claude

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/pricefile"
	"github.com/google/go-cmp/cmp"
)

// liteLLMSample is a price file as LiteLLM writes it: its sample_spec,
// other vendors' models (with values of every type, which are not read),
// and Claude entries with the fields read and many that are not.
const liteLLMSample = `{
    "sample_spec": {
        "deprecation_date": "date when the model becomes deprecated in the format YYYY-MM-DD",
        "input_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "max_tokens": "LEGACY parameter"
    },
    "gpt-4o": {"input_cost_per_token": "not read", "output_cost_per_token": -1, "mode": "chat"},
    "amazon.titan-embed-text-v2:0": {"provider_specific_entry": {"bedrock_invocation_schema": "titan_v2"}},
    "claude-sonnet-4-5": {
        "cache_creation_input_token_cost": 3.75e-06,
        "cache_creation_input_token_cost_above_1hr": 6e-06,
        "cache_read_input_token_cost": 3e-07,
        "input_cost_per_token": 3e-06,
        "input_cost_per_token_above_200k_tokens": 6e-06,
        "output_cost_per_token_above_200k_tokens": 2.25e-05,
        "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
        "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05,
        "cache_read_input_token_cost_above_200k_tokens": 6e-07,
        "input_cost_per_token_above_272k_tokens_priority": 9,
        "input_cost_per_token_priority": 9,
        "litellm_provider": "anthropic",
        "max_input_tokens": 1000000,
        "mode": "chat",
        "output_cost_per_token": 1.5e-05,
        "search_context_cost_per_query": {"search_context_size_high": 0.01},
        "supports_prompt_caching": true,
        "supported_regions": ["global", "us-west-2"],
        "deprecation_date": "2026-11-30",
        "provider_specific_entry": {"fast": 2.0, "US": 1.1, "openrouter": {"notes": "x"}, "schema": "v2"}
    },
    "claude-haiku-9": {"input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06},
    "claude-tiered": {
        "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
        "input_cost_per_token_above_100k_tokens": 5e-06,
        "output_cost_per_token_above_300k_tokens": 4e-06
    },
    "claude-image": {"output_cost_per_image": 0.04, "mode": "image_generation"},
    "claude-null": null
}`

// TestReadPrices reads a LiteLLM-shaped file: the fields read, the
// defaults of the cache prices left out (ccusage's: 1.25, 2 and 0.1 times
// input), tiers, multipliers and dates, and what is skipped.
func TestReadPrices(t *testing.T) {
	t.Parallel()
	p, err := ReadPrices(strings.NewReader(liteLLMSample))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Fallback(); ok {
		t.Error("a table read from a file has a fallback")
	}
	tests := []struct {
		model string
		want  Price
	}{
		{"claude-sonnet-4-5-20250929", Price{
			Input: 3, Output: 15, CacheWrite5m: 3.75, CacheWrite1h: 6, CacheRead: 0.3,
			Tiers:          []Tier{{Above: 200_000, Input: 6, Output: 22.5, CacheWrite5m: 7.5, CacheWrite1h: 12, CacheRead: 0.6}},
			FastMultiplier: 2, Geo: map[string]float64{"us": 1.1}, Deprecated: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		}},
		{"claude-haiku-9", Price{Input: 1, Output: 5, CacheWrite5m: 1.25, CacheWrite1h: 2, CacheRead: 0.1}},
		{"claude-tiered", Price{Input: 1, Output: 2, CacheWrite5m: 1.25, CacheWrite1h: 2, CacheRead: 0.1, Tiers: []Tier{
			{Above: 100_000, Input: 5, Output: 2, CacheWrite5m: 6.25, CacheWrite1h: 10, CacheRead: 0.5},
			{Above: 300_000, Input: 1, Output: 4, CacheWrite5m: 1.25, CacheWrite1h: 2, CacheRead: 0.1},
		}}},
	}
	for _, tt := range tests {
		got, ok := p.Lookup(tt.model)
		if !ok {
			t.Errorf("Lookup(%q): unknown", tt.model)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tt.model, diff)
		}
	}
	for _, model := range []string{"gpt-4o", "sample_spec", "amazon.titan-embed-text-v2:0", "claude-image", "claude-null"} {
		if _, err := p.Resolve(model); !errors.Is(err, ErrUnknownModel) {
			t.Errorf("Resolve(%q) = %v; the entry is not one to read", model, err)
		}
	}
	if r, err := p.Resolve("claude-haiku-10"); err != nil || r.Key != "claude-haiku-9" || r.Match != MatchFamily {
		t.Errorf("a newer haiku: %+v, %v; want claude-haiku-9, an estimate", r, err)
	}
}

// TestReadPricesErrors checks that a bad file is an error naming the model
// and field (JSON pointer) and the line, and returns no table.
func TestReadPricesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", "{\n  \"claude-x\": {\n    \"input_cost_per_token\": 1e-6,,\n", "line 3: not JSON: invalid character ',' looking for beginning of object key string"},
		{"cut short", `{"claude-x": {`, "line 1: not JSON: unexpected end of JSON input"},
		{"not an object", `[1, 2]`, "line 1: not a JSON object of models"},
		{"text after", "{}\n{}", "line 2: not JSON: text after the object"},
		{"entry not an object", "{\n\"claude-x\": 4}", "line 2: /claude-x: not a JSON object"},
		{"negative", "{\n  \"claude-opus-5-5\": {\n    \"input_cost_per_token\": -4e-06,\n    \"output_cost_per_token\": 2e-05}}",
			"line 3: /claude-opus-5-5/input_cost_per_token: -4e-06 is negative"},
		{"string", "{\"claude-x\": {\"input_cost_per_token\": 1e-6,\n \"output_cost_per_token\": \"2e-05\"}}",
			`line 2: /claude-x/output_cost_per_token: "2e-05" is not a number`},
		{"not finite", `{"claude-x": {"input_cost_per_token": 1e999, "output_cost_per_token": 1}}`,
			"line 1: /claude-x/input_cost_per_token: 1e999 is not a finite number"},
		{"too dear", `{"claude-x": {"input_cost_per_token": 2, "output_cost_per_token": 1}}`,
			"line 1: /claude-x/input_cost_per_token: 2 is more than 1 US dollars a token"},
		{"bool tier", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "input_cost_per_token_above_200k_tokens": true}}`,
			"line 1: /claude-x/input_cost_per_token_above_200k_tokens: true is not a number"},
		{"tier at 0", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "input_cost_per_token_above_0k_tokens": 1e-6}}`,
			"line 1: /claude-x/input_cost_per_token_above_0k_tokens: a tier's threshold must be 1k to 1000000k tokens"},
		{"no output", "{\n\"claude-x\": {\"input_cost_per_token\": 1e-6}}", "line 2: /claude-x: has input_cost_per_token but no output_cost_per_token"},
		{"no input", "{\n\"claude-x\": {\"output_cost_per_token\": 1e-6}}", "line 2: /claude-x: has output_cost_per_token but no input_cost_per_token"},
		{"fast zero", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "provider_specific_entry": {"fast": 0}}}`,
			"line 1: /claude-x/provider_specific_entry/fast: 0 is not a multiplier: it must be above 0 and at most 1000"},
		{"geo negative", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "provider_specific_entry": {"us": -1.1}}}`,
			"line 1: /claude-x/provider_specific_entry/us: -1.1 is not a multiplier: it must be above 0 and at most 1000"},
		{"provider not an object", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "provider_specific_entry": 2}}`,
			"line 1: /claude-x/provider_specific_entry: 2 is not a JSON object"},
		{"bad date", `{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6, "deprecation_date": "30/11/2026"}}`,
			`line 1: /claude-x/deprecation_date: "30/11/2026" is not a date (YYYY-MM-DD)`},
		{"field twice", "{\"claude-x\": {\"input_cost_per_token\": 1e-6,\n\"input_cost_per_token\": 2e-6, \"output_cost_per_token\": 1e-6}}",
			"line 2: /claude-x/input_cost_per_token: given twice"},
		{"model twice", "{\"Claude-X\": {},\n\"claude-x\": {}}", "line 2: /claude-x: the model is given twice (first on line 1)"},
		{"pointer escapes", `{"openrouter/anthropic/claude~x": {"input_cost_per_token": -1}}`,
			"line 1: /openrouter~1anthropic~1claude~0x/input_cost_per_token: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ReadPrices(strings.NewReader(tt.in))
			if p != nil {
				t.Error("a failed read returned a table")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.TrimPrefix(err.Error(), "claude: read prices: "); got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
			var fe *pricefile.Error
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a *pricefile.Error", err)
			}
		})
	}
}

// TestReadPricesBuiltin reads the built-in file as a user's file would be
// read: it is a price file like any other, with nothing it skips.
func TestReadPricesBuiltin(t *testing.T) {
	t.Parallel()
	p, err := ReadPrices(bytes.NewReader(builtinPriceFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.entries) != len(DefaultPrices().entries) || len(p.entries) < 50 {
		t.Errorf("%d entries, the built-in table has %d", len(p.entries), len(DefaultPrices().entries))
	}
}

// FuzzReadPrices reads arbitrary price files. ReadPrices never panics; a
// file it refuses gives no table, and a table it returns prices every one
// of its models, whatever the tokens and rule, at a cost that is finite
// and not negative.
//
//	go test -run '^$' -fuzz FuzzReadPrices ./claude/
func FuzzReadPrices(f *testing.F) {
	f.Add(builtinPriceFile)
	f.Add([]byte(liteLLMSample))
	f.Add([]byte(`{"claude-x": {"input_cost_per_token": 1, "output_cost_per_token": 1, "input_cost_per_token_above_1k_tokens": 1, "provider_specific_entry": {"fast": 1000, "us": 1000}}}`))
	f.Add([]byte(`{"claude-x": {"input_cost_per_token": 0, "output_cost_per_token": 0, "cache_read_input_token_cost_above_1000000k_tokens": 1e-300}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPrices(bytes.NewReader(data))
		if err != nil {
			if p != nil {
				t.Fatal("a failed read returned a table")
			}
			return
		}
		const most = math.MaxInt64 / 8 // Counts of one response are far less
		for key := range p.entries {
			for _, c := range []Counts{
				{Input: 1, Output: 1, CacheWrite5m: 1, CacheWrite1h: 1, CacheRead: 1},
				{Input: most, Output: most, CacheWrite5m: most, CacheWrite1h: most, CacheRead: most, WebSearches: most, Fast: true, Geo: "us"},
				{Input: 150_000, CacheRead: 1_000_000, Fast: true, Geo: "eu"},
			} {
				for _, rule := range []TierRule{PerRequest, PerKind, NoTier, ClaudeCode} {
					cost, err := p.Cost(key, c, rule)
					if err != nil || cost < 0 || math.IsInf(cost, 0) || math.IsNaN(cost) {
						t.Fatalf("Cost(%q, %+v, %s) = %v, %v", key, c, rule, cost, err)
					}
				}
			}
		}
	})
}
