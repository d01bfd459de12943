package claude

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
)

// apiAt is when the golden files' responses happened.
var apiAt = time.Date(2025, 11, 10, 12, 50, 12, 0, time.UTC)

// apiGolden is what a golden file in testdata/api records of a fixture:
// the parsed usage, the error, and the usage in the pool's terms priced
// with DefaultPrices and PerRequest.
type apiGolden struct {
	Usage    MessageUsage   `json:"usage"`
	Err      string         `json:"err,omitempty"`
	APIError *APIError      `json:"apiError,omitempty"`
	Pool     authpool.Usage `json:"pool"`
	PoolErr  string         `json:"poolErr,omitempty"`
}

// apiGoldenOf fills a golden record from a parse result.
func apiGoldenOf(m MessageUsage, err error) apiGolden {
	g := apiGolden{Usage: m}
	if err != nil {
		g.Err = err.Error()
		if ae, ok := errors.AsType[*APIError](err); ok {
			g.APIError = ae
		}
	}
	pool, perr := m.Usage(nil, PerRequest, apiAt)
	g.Pool = pool
	if perr != nil {
		g.PoolErr = perr.Error()
	}
	return g
}

// checkAPIGolden compares got with the golden file of fixture, or rewrites
// it under -update.
func checkAPIGolden(t *testing.T, fixture string, got apiGolden) {
	t.Helper()
	golden := strings.TrimSuffix(fixture, filepath.Ext(fixture)) + ".golden.json"
	if filepath.Ext(fixture) == ".sse" {
		golden = strings.TrimSuffix(fixture, ".sse") + ".sse.golden.json"
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	var want apiGolden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s differs from its golden file %s (-want +got; go test -update rewrites it):\n%s", fixture, golden, diff)
	}
}

// apiFixtures lists the fixtures of testdata/api with the extension.
func apiFixtures(t *testing.T, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "api", "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if !strings.HasSuffix(n, ".golden.json") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s fixtures in testdata/api", ext)
	}
	return out
}

// TestParseMessageGolden parses every JSON body of testdata/api and compares
// the result with its golden file.
func TestParseMessageGolden(t *testing.T) {
	t.Parallel()
	for _, fixture := range apiFixtures(t, ".json") {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMessage(body)
			checkAPIGolden(t, fixture, apiGoldenOf(m, err))
		})
	}
}

// TestParseMessage checks the rules of ParseMessage one at a time.
func TestParseMessage(t *testing.T) {
	t.Parallel()
	msg := func(usage string) string {
		return `{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":"end_turn","usage":` + usage + `}`
	}
	tests := []struct {
		name string
		body string
		want MessageUsage
		// wantErr is a substring of the error, "" for none.
		wantErr string
	}{
		{
			name: "minimal",
			body: msg(`{"input_tokens":5,"output_tokens":7}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7}},
		},
		{
			name: "cache writes without a breakdown are 5-minute",
			body: msg(`{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":900,"cache_read_input_tokens":30}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, CacheWrite5m: 900, CacheRead: 30}},
		},
		{
			name: "breakdown splits the writes",
			body: msg(`{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":900,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":800}}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, CacheWrite5m: 100, CacheWrite1h: 800}},
		},
		{
			name: "breakdown summing to less: the rest is 5-minute",
			body: msg(`{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":40}}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, CacheWrite5m: 60, CacheWrite1h: 40}},
		},
		{
			name: "1-hour writes are capped by the total",
			body: msg(`{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":50,"ephemeral_1h_input_tokens":400}}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, CacheWrite1h: 100}},
		},
		{
			name: "breakdown without the total",
			body: msg(`{"input_tokens":5,"output_tokens":7,"cache_creation_input_tokens":null,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4}}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, CacheWrite5m: 3, CacheWrite1h: 4}},
		},
		{
			name: "fast mode and web searches",
			body: msg(`{"input_tokens":5,"output_tokens":7,"speed":"fast","server_tool_use":{"web_search_requests":4,"web_fetch_requests":2}}`),
			want: MessageUsage{ID: "msg_1", Model: "claude-haiku-4-5", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 5, Output: 7, WebSearches: 4, Fast: true}},
		},
		{
			name: "standard speed, null stop reason, unknown fields",
			body: `{"type":"message","id":"msg_2","model":"m","stop_reason":null,"container":{"id":"c"},"usage":{"input_tokens":1,"output_tokens":2,"speed":"standard","iterations":[{"x":1}],"server_tool_use":null}}`,
			want: MessageUsage{ID: "msg_2", Model: "m", Complete: true, Counts: Counts{Input: 1, Output: 2}},
		},
		{
			name:    "error body",
			body:    `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_9"}`,
			want:    MessageUsage{RequestID: "req_9"},
			wantErr: "claude: API error rate_limit_error: slow down (request req_9)",
		},
		{
			name:    "error body without its error",
			body:    `{"type":"error"}`,
			wantErr: "claude: API error",
		},
		{name: "empty body", body: ``, wantErr: "line 1, column 1 (byte 0): unexpected end of JSON input"},
		{name: "null", body: `null`, wantErr: `type is ""`},
		{name: "another type", body: `{"type":"message_start","message":{}}`, wantErr: `type is "message_start"`},
		{name: "no usage", body: `{"type":"message","id":"msg_1"}`, wantErr: "usage is missing"},
		{name: "no input tokens", body: msg(`{"output_tokens":1}`), wantErr: "usage.input_tokens is missing"},
		{name: "null output tokens", body: msg(`{"input_tokens":1,"output_tokens":null}`), wantErr: "usage.output_tokens is missing"},
		{name: "negative", body: msg(`{"input_tokens":1,"output_tokens":-1}`), wantErr: "usage.output_tokens: -1 is outside 0..1099511627776"},
		{name: "too many", body: msg(`{"input_tokens":1,"output_tokens":1,"cache_read_input_tokens":1099511627777}`), wantErr: "usage.cache_read_input_tokens: 1099511627777 is outside"},
		{name: "negative 1-hour", body: msg(`{"input_tokens":1,"output_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":-3}}`), wantErr: "usage.cache_creation.ephemeral_1h_input_tokens: -3"},
		{name: "negative searches", body: msg(`{"input_tokens":1,"output_tokens":1,"server_tool_use":{"web_search_requests":-1}}`), wantErr: "usage.server_tool_use.web_search_requests: -1"},
		{name: "fraction", body: msg(`{"input_tokens":1.5,"output_tokens":1}`), wantErr: "line 1, column 142 (byte 141): usage.input_tokens: JSON number 1.5, want int64"},
		{name: "overflow", body: msg(`{"input_tokens":99999999999999999999,"output_tokens":1}`), wantErr: "usage.input_tokens: JSON number 99999999999999999999, want int64"},
		{name: "string model", body: `{"type":"message","model":7}`, wantErr: "line 1, column 27 (byte 26): model: JSON number, want string"},
		{name: "array", body: `[]`, wantErr: "the top-level value: JSON array, want claude.msgBodyJSON"},
		{name: "trailing data", body: msg(`{"input_tokens":1,"output_tokens":1}`) + "\n{}", wantErr: "line 2, column 1 (byte 161): invalid character '{' after top-level value"},
		{name: "HTML from a proxy", body: "<html>\n<body>502 Bad Gateway</body>\n</html>", wantErr: "line 1, column 1 (byte 0): invalid character '<'"},
		{name: "syntax error on line 3", body: "{\"type\":\"message\",\n\"usage\":{\n\"input_tokens\":1,,", wantErr: "line 3, column 18 (byte 46): invalid character ','"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMessage([]byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMessage usage (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ParseMessage error = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ParseMessage error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestParseMessageErrorTypes checks that errors can be told apart with
// errors.As: an API error body, and encoding/json's errors under the
// positions.
func TestParseMessageErrorTypes(t *testing.T) {
	t.Parallel()
	_, err := ParseMessage([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CUaBcDeFgHiJkLmNoPqRt"}`))
	ae, ok := errors.AsType[*APIError](err)
	if !ok {
		t.Fatalf("error body: %v is not an *APIError", err)
	}
	if diff := cmp.Diff(&APIError{Type: "overloaded_error", Message: "Overloaded", RequestID: "req_011CUaBcDeFgHiJkLmNoPqRt"}, ae); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	_, err = ParseMessage([]byte(`{"type":`))
	if _, ok := errors.AsType[*json.SyntaxError](err); !ok {
		t.Errorf("truncated body: %v does not unwrap to a *json.SyntaxError", err)
	}
	_, err = ParseMessage([]byte(`{"type":1}`))
	if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
		t.Errorf("type mismatch: %v does not unwrap to a *json.UnmarshalTypeError", err)
	}
	if _, ok := errors.AsType[*APIError](err); ok {
		t.Errorf("type mismatch: %v is an *APIError", err)
	}
}

// TestMessageUsageUsage checks the conversion into authpool.Usage: the
// fields, the cost by rule, and unknown models.
func TestMessageUsageUsage(t *testing.T) {
	t.Parallel()
	withFallback := DefaultPrices()
	if err := withFallback.SetFallback(&Price{Input: 1, Output: 2}); err != nil {
		t.Fatal(err)
	}
	noFallback, err := ReadPrices(strings.NewReader(`{"claude-haiku-4-5": {"input_cost_per_token": 1e-6, "output_cost_per_token": 5e-6}}`))
	if err != nil {
		t.Fatal(err)
	}
	// 250k tokens of context on Sonnet 4.5: over the 200k tier.
	long := MessageUsage{ID: "msg_L", Model: "claude-sonnet-4-5-20250929", Complete: true,
		Counts: Counts{Input: 50_000, CacheRead: 200_000, Output: 1_000}}
	tests := []struct {
		name    string
		m       MessageUsage
		prices  *Prices
		rule    TierRule
		want    authpool.Usage
		wantErr error
	}{
		{
			name: "fields and cost",
			m: MessageUsage{ID: "msg_1", RequestID: "req_1", Model: "claude-haiku-4-5-20251001", Complete: true,
				Counts: Counts{Input: 1_000_000, Output: 1_000_000, CacheWrite5m: 1_000_000, CacheWrite1h: 1_000_000, CacheRead: 1_000_000, WebSearches: 3}},
			want: authpool.Usage{ID: "msg_1", Time: apiAt, Model: "claude-haiku-4-5-20251001", CostUSD: 1 + 5 + 1.25 + 2 + 0.1 + 0.03,
				Tokens: authpool.Tokens{Input: 1_000_000, Output: 1_000_000, CacheWrite: 2_000_000, CacheRead: 1_000_000}, CacheTTL: time.Hour},
		},
		{
			name: "per request long context",
			m:    long, rule: PerRequest,
			want: authpool.Usage{ID: "msg_L", Time: apiAt, Model: long.Model, CostUSD: (50_000*6 + 200_000*0.6 + 1_000*22.5) / 1e6,
				Tokens: authpool.Tokens{Input: 50_000, Output: 1_000, CacheRead: 200_000}},
		},
		{
			name: "per kind long context",
			m:    long, rule: PerKind,
			want: authpool.Usage{ID: "msg_L", Time: apiAt, Model: long.Model, CostUSD: (50_000*3 + 200_000*0.3 + 1_000*15) / 1e6,
				Tokens: authpool.Tokens{Input: 50_000, Output: 1_000, CacheRead: 200_000}},
		},
		{
			name: "no tier",
			m:    long, rule: NoTier,
			want: authpool.Usage{ID: "msg_L", Time: apiAt, Model: long.Model, CostUSD: (50_000*3 + 200_000*0.3 + 1_000*15) / 1e6,
				Tokens: authpool.Tokens{Input: 50_000, Output: 1_000, CacheRead: 200_000}},
		},
		{
			name: "us inference: 10% more",
			m:    MessageUsage{ID: "msg_G", Model: "claude-opus-5-5", Counts: Counts{Input: 1_000_000, Output: 1_000_000, Geo: "us"}},
			want: authpool.Usage{ID: "msg_G", Time: apiAt, Model: "claude-opus-5-5", CostUSD: 1.1 * 24, Tokens: authpool.Tokens{Input: 1_000_000, Output: 1_000_000}},
		},
		{
			name:   "unknown model of a family: its newest model, an estimate",
			m:      MessageUsage{ID: "msg_2", Model: "claude-sonnet-9", Counts: Counts{Input: 1_000_000, Output: 1_000_000}},
			prices: withFallback,
			want: authpool.Usage{ID: "msg_2", Time: apiAt, Model: "claude-sonnet-9", CostUSD: 12, PricedAs: "claude-sonnet-5-5",
				Tokens: authpool.Tokens{Input: 1_000_000, Output: 1_000_000}},
		},
		{
			name:   "unknown model with a fallback",
			m:      MessageUsage{ID: "msg_2", Model: "gpt-4o", Counts: Counts{Input: 1_000_000, Output: 1_000_000}},
			prices: withFallback,
			want: authpool.Usage{ID: "msg_2", Time: apiAt, Model: "gpt-4o", CostUSD: 3, PricedAs: "fallback",
				Tokens: authpool.Tokens{Input: 1_000_000, Output: 1_000_000}},
		},
		{
			name:    "unknown model without a fallback",
			m:       MessageUsage{ID: "msg_2", Model: "gpt-4o", Counts: Counts{Input: 10, Output: 1}},
			prices:  noFallback,
			want:    authpool.Usage{ID: "msg_2", Time: apiAt, Model: "gpt-4o", Tokens: authpool.Tokens{Input: 10, Output: 1}},
			wantErr: ErrUnknownModel,
		},
		{
			name: "nothing used costs nothing, whatever the model",
			m:    MessageUsage{Model: ""},
			want: authpool.Usage{Time: apiAt},
		},
		{
			name: "web searches alone are priced",
			m:    MessageUsage{Model: "", Counts: Counts{WebSearches: 1}},
			want: authpool.Usage{Time: apiAt, CostUSD: 0.01, PricedAs: "fallback"},
		},
		{
			name:    "web searches alone without a fallback",
			m:       MessageUsage{Model: "", Counts: Counts{WebSearches: 1}},
			prices:  noFallback,
			want:    authpool.Usage{Time: apiAt},
			wantErr: ErrUnknownModel,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.m.Usage(tt.prices, tt.rule, apiAt)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Errorf("Usage error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
				t.Errorf("Usage (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseMessage parses arbitrary bodies. Whatever the input, ParseMessage
// does not panic and either returns an error (an *APIError only for a body
// of type "error") or a complete usage with every count in 0..MaxTokens,
// whose cost, when the model has a price, is finite and not negative.
//
//	go test -run '^$' -fuzz FuzzParseMessage ./claude/
func FuzzParseMessage(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "api", "*.json"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil && !strings.HasSuffix(n, ".golden.json") {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"message","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3,"cache_creation":{"ephemeral_1h_input_tokens":9},"speed":"fast"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMessage(body)
		if err != nil {
			if _, ok := errors.AsType[*APIError](err); ok && !bytes.Contains(body, []byte("error")) {
				t.Fatalf("an *APIError from a body without \"error\": %v", err)
			}
			if diff := cmp.Diff(MessageUsage{RequestID: m.RequestID}, m); diff != "" {
				t.Fatalf("an error (%v) came with usage:\n%s", err, diff)
			}
			return
		}
		if !m.Complete {
			t.Fatalf("a parsed body is not Complete: %+v", m)
		}
		checkCounts(t, m.Counts)
		u, err := m.Usage(nil, PerRequest, apiAt)
		if err != nil {
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("Usage: %v", err)
			}
			return
		}
		if math.IsNaN(u.CostUSD) || math.IsInf(u.CostUSD, 0) || u.CostUSD < 0 {
			t.Fatalf("cost %v of %+v", u.CostUSD, m)
		}
	})
}

// checkCounts fails t unless every count is in 0..MaxTokens and the cache
// writes add up to no more than MaxTokens.
func checkCounts(t *testing.T, c Counts) {
	t.Helper()
	for _, n := range []int64{c.Input, c.Output, c.CacheWrite5m, c.CacheWrite1h, c.CacheRead, c.WebSearches, c.CacheWrite5m + c.CacheWrite1h} {
		if n < 0 || n > bounds.MaxTokens {
			t.Fatalf("a count outside 0..MaxTokens: %+v", c)
		}
	}
}
