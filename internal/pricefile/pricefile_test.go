package pricefile

import (
	"strings"
	"testing"
)

func TestTierField(t *testing.T) {
	tests := []struct {
		name  string
		base  string
		above int64
		ok    bool
	}{
		{"input_cost_per_token_above_200k_tokens", "input_cost_per_token", 200_000, true},
		{"cache_creation_input_token_cost_above_1hr_above_200k_tokens", "cache_creation_input_token_cost_above_1hr", 200_000, true},
		{"input_cost_per_token_above_100k_tokens", "input_cost_per_token", 100_000, true},
		{"input_cost_per_token_above_0k_tokens", "input_cost_per_token", 0, true},       // refused by the caller
		{"input_cost_per_token_above_2000000k_tokens", "input_cost_per_token", 0, true}, // out of range: refused
		{"input_cost_per_token_above_272k_tokens_priority", "", 0, false},
		{"input_cost_per_token_above_k_tokens", "", 0, false},
		{"cache_creation_input_token_cost_above_1hr", "", 0, false},
		{"input_cost_per_token", "", 0, false},
	}
	for _, tt := range tests {
		base, above, ok := tierField(tt.name)
		if base != tt.base || above != tt.above || ok != tt.ok {
			t.Errorf("tierField(%q) = %q, %d, %v; want %q, %d, %v", tt.name, base, above, ok, tt.base, tt.above, tt.ok)
		}
	}
}

// TestParseOrderAndLines: entries come in the file's order, with their
// lines; a file of no Claude model is empty, not an error.
func TestParseOrderAndLines(t *testing.T) {
	in := "{\n\"claude-b\": {\"input_cost_per_token\": 1, \"output_cost_per_token\": 1},\n\n\"gpt\": {},\n\"claude-a\": {\n\"input_cost_per_token\": 0, \"output_cost_per_token\": 0}\n}"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "claude-b" || got[0].Line != 2 || got[1].Key != "claude-a" || got[1].Line != 5 {
		t.Errorf("entries %+v", got)
	}
	if got, err := Parse(strings.NewReader(`{"gpt-4o": {"input_cost_per_token": -1}}`)); err != nil || len(got) != 0 {
		t.Errorf("no Claude model: %v, %v", got, err)
	}
	if _, err := Parse(strings.NewReader(strings.Repeat(" ", MaxSize+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file too large: %v", err)
	}
}
