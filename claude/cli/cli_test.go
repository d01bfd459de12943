package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cliFixture reads a captured CLI output from testdata/cli (real output of
// the Claude Code CLI run against a local server).
func cliFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cli", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// cliParse parses a fixture as its name says: .jsonl with ParseStream, else
// ParseResult.
func cliParse(t testing.TB, name string) (Result, error) {
	data := cliFixture(t, name)
	if strings.HasSuffix(name, ".jsonl") {
		return ParseStream(bytes.NewReader(data))
	}
	return ParseResult(data)
}

// TestCLIGolden parses every captured CLI output and compares the Result,
// as indented JSON, with testdata/cli/<name>.golden (go test -update
// rewrites them).
func TestCLIGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"result-ok.json", "result-quota429.json", "result-overloaded529.json", "result-auth401.json", "result-headerless429.json",
		"stream-ok.jsonl", "stream-quota429.jsonl", "stream-headerless429.jsonl",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := cliParse(t, name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "cli", strings.TrimSuffix(name, filepath.Ext(name))+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s: Result differs from %s (-want +got):\n%s", name, golden, diff)
			}
		})
	}
}

// TestCLIFixtureFacts checks, fixture by fixture, what the pool relies on:
// cost and tokens, whether the run failed, and the limit signal.
func TestCLIFixtureFacts(t *testing.T) {
	t.Parallel()
	resetQuota := time.Unix(1795696289, 0).UTC() // rate_limit_info.resetsAt of stream-quota429
	// The captured runs ended 2026-11-26 around 11:31 UTC; json results
	// carry no clock, so ResetAt gets one.
	ranAt := time.Date(2026, 11, 26, 11, 31, 30, 0, time.UTC)
	tests := []struct {
		name       string
		costKnown  bool
		cost       float64
		tokens     map[string]authpool.Tokens
		failed     bool
		status     int
		errorType  string
		rejected   bool
		resetAt    time.Time // zero: unknown
		incomplete bool
	}{
		{
			name: "result-ok.json", costKnown: true, cost: 0.000364,
			tokens: map[string]authpool.Tokens{"claude-sonnet-5-5": {Input: 12, Output: 7, CacheWrite: 100, CacheRead: 200}},
		},
		{
			name: "stream-ok.jsonl", costKnown: true, cost: 0.000364,
			tokens: map[string]authpool.Tokens{"claude-sonnet-5-5": {Input: 12, Output: 7, CacheWrite: 100, CacheRead: 200}},
		},
		{
			// The text "resets 12:31pm (UTC)" read relative to the run's
			// end: the end of that minute.
			name: "result-quota429.json", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 429, errorType: "rate_limit_error",
			resetAt: time.Date(2026, 11, 26, 12, 32, 0, 0, time.UTC),
		},
		{
			name: "stream-quota429.jsonl", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 429, errorType: "rate_limit_error", rejected: true, resetAt: resetQuota,
		},
		{
			// A 429 without limit headers: the stream's rate-limit state is
			// rejected, as for every 429 in OAuth mode, and names nothing.
			name: "result-headerless429.json", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 429, errorType: "rate_limit_error",
		},
		{
			name: "stream-headerless429.jsonl", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 429, errorType: "rate_limit_error",
		},
		{
			name: "result-overloaded529.json", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 529, errorType: "overloaded_error",
		},
		{
			name: "result-auth401.json", costKnown: true, tokens: map[string]authpool.Tokens{},
			failed: true, status: 401, errorType: "authentication_error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := cliParse(t, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if r.CostKnown != tt.costKnown || r.TotalCostUSD != tt.cost || r.Incomplete != tt.incomplete {
				t.Errorf("CostKnown, TotalCostUSD, Incomplete = %v, %v, %v; want %v, %v, %v",
					r.CostKnown, r.TotalCostUSD, r.Incomplete, tt.costKnown, tt.cost, tt.incomplete)
			}
			tokens := map[string]authpool.Tokens{}
			for model, m := range r.Models {
				tokens[model] = m.Counts.Tokens()
			}
			if diff := cmp.Diff(tt.tokens, tokens); diff != "" {
				t.Errorf("tokens per model (-want +got):\n%s", diff)
			}
			sig := r.LimitSignal()
			status, failed := sig.Failed()
			if failed != tt.failed || status != tt.status || sig.ErrorType != tt.errorType {
				t.Errorf("Failed() = %d, %v, ErrorType %q; want %d, %v, %q", status, failed, sig.ErrorType, tt.status, tt.failed, tt.errorType)
			}
			if s2, f2 := r.Failed(); s2 != status || f2 != failed {
				t.Errorf("Result.Failed() = %d, %v; LimitSignal().Failed() = %d, %v", s2, f2, status, failed)
			}
			if sig.Rejected() != tt.rejected {
				t.Errorf("Rejected() = %v, want %v", sig.Rejected(), tt.rejected)
			}
			reset, ok := sig.ResetAt(ranAt)
			if ok != !tt.resetAt.IsZero() || !reset.Equal(tt.resetAt) {
				t.Errorf("ResetAt(%v) = %v, %v; want %v", ranAt, reset, ok, tt.resetAt)
			}
		})
	}
}

// TestCLIStreamMatchesResult: the tokens and cost ParseStream reads from a
// stream are those of its result line read by ParseResult.
func TestCLIStreamMatchesResult(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"stream-ok.jsonl", "stream-quota429.jsonl", "stream-headerless429.jsonl"} {
		data := cliFixture(t, name)
		fromStream, err := ParseStream(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		fromResult, err := ParseResult(lines[len(lines)-1])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fromResult.Models, fromStream.Models); diff != "" {
			t.Errorf("%s: Models of the stream differ from its result line's (-result +stream):\n%s", name, diff)
		}
		if fromStream.TotalCostUSD != fromResult.TotalCostUSD {
			t.Errorf("%s: TotalCostUSD %v from the stream, %v from the result line", name, fromStream.TotalCostUSD, fromResult.TotalCostUSD)
		}
	}
}

// cliCutStream is a stream that dies before its result: three messages, the
// first two over several lines (partial output_tokens 1, 1, then the final
// count), the last line cut in the middle. Message C reads 250,000 cached
// tokens: over the long-context threshold on its own, not together with A.
const cliCutStream = `{"type":"system","subtype":"init","session_id":"sess-cut","model":"claude-sonnet-4-5"}
{"type":"assistant","message":{"id":"msg_A","model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":1000,"cache_read_input_tokens":5000,"cache_creation":{"ephemeral_5m_input_tokens":400,"ephemeral_1h_input_tokens":600},"output_tokens":1}},"session_id":"sess-cut"}
{"type":"assistant","message":{"id":"msg_A","model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":1000,"cache_read_input_tokens":5000,"cache_creation":{"ephemeral_5m_input_tokens":400,"ephemeral_1h_input_tokens":600},"output_tokens":1}},"session_id":"sess-cut"}
{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1795696289,"rateLimitType":"five_hour","utilization":0.91,"surpassedThreshold":0.9,"isUsingOverage":false}}
{"type":"assistant","message":{"id":"msg_A","model":"claude-sonnet-4-5","stop_reason":"tool_use","usage":{"input_tokens":10,"cache_creation_input_tokens":1000,"cache_read_input_tokens":5000,"cache_creation":{"ephemeral_5m_input_tokens":400,"ephemeral_1h_input_tokens":600},"output_tokens":742}},"session_id":"sess-cut"}
{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"ok"}]}}
{"type":"assistant","message":{"id":"msg_B","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":2}},"parent_tool_use_id":"toolu_1"}
{"type":"assistant","message":{"id":"msg_B","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":50,"server_tool_use":{"web_search_requests":1}}},"parent_tool_use_id":"toolu_1"}
{"type":"assistant","message":{"id":"msg_B","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":1}},"parent_tool_use_id":"toolu_1"}
{"type":"assistant","message":{"id":"msg_C","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"cache_read_input_tokens":250000,"output_tokens":100}}}
{"type":"assistant","message":{"id":"msg_C","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"cache_read_input_t`

// TestCLICutStream: a stream without its result line falls back to the
// line with the most tokens per message id, summed per model, and Usages
// prices them message by message.
func TestCLICutStream(t *testing.T) {
	t.Parallel()
	r, err := ParseStream(strings.NewReader(cliCutStream))
	if err != nil {
		t.Fatal(err)
	}
	util, threshold := 0.91, 0.9
	want := Result{
		SessionID: "sess-cut",
		Models: map[string]ModelUsage{
			"claude-sonnet-4-5": {Counts: claude.Counts{Input: 15, Output: 842, CacheWrite5m: 400, CacheWrite1h: 600, CacheRead: 255000}},
			"claude-haiku-4-5":  {Counts: claude.Counts{Input: 3, Output: 50, WebSearches: 1}},
		},
		Trailing: []Message{
			{ID: "msg_A", Model: "claude-sonnet-4-5", Counts: claude.Counts{Input: 10, Output: 742, CacheWrite5m: 400, CacheWrite1h: 600, CacheRead: 5000}, Line: 5},
			{ID: "msg_B", Model: "claude-haiku-4-5", Counts: claude.Counts{Input: 3, Output: 50, WebSearches: 1}, Line: 8},
			{ID: "msg_C", Model: "claude-sonnet-4-5", Counts: claude.Counts{Input: 5, Output: 100, CacheRead: 250000}, Line: 10},
		},
		RateLimit: &RateLimitInfo{
			Status: "allowed_warning", ResetsAt: time.Unix(1795696289, 0).UTC(), RateLimitType: "five_hour",
			Utilization: &util, SurpassedThreshold: &threshold,
		},
		Incomplete: true,
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("ParseStream (-want +got):\n%s", diff)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	got, err := r.Usages(claude.DefaultPrices(), at)
	if err != nil {
		t.Fatal(err)
	}
	// Sonnet 4.5: A = 10×3 + 742×15 + 400×3.75 + 600×6 + 5000×0.3 per MTok;
	// C alone is over 200k, at the long-context price 5×6 + 100×22.5 +
	// 250000×0.6. Haiku 4.5: 3×1 + 50×5, plus one web search at $0.01.
	wantUsages := []authpool.Usage{
		{ID: "sess-cut/claude-haiku-4-5/partial-msg_A", Time: at, Model: "claude-haiku-4-5", CostUSD: 0.000253 + 0.01,
			Tokens: authpool.Tokens{Input: 3, Output: 50}},
		{ID: "sess-cut/claude-sonnet-4-5/partial-msg_A", Time: at, Model: "claude-sonnet-4-5", CostUSD: 0.01776 + 0.15228,
			Tokens: authpool.Tokens{Input: 15, Output: 842, CacheWrite: 1000, CacheRead: 255000}, CacheTTL: time.Hour},
	}
	if diff := cmp.Diff(wantUsages, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Usages (-want +got):\n%s", diff)
	}
	if _, err := r.Usages(nil, at); err == nil {
		t.Error("Usages(nil) of a stream without a result = nil error, want one: the cost needs prices")
	}
}

// TestCLIMaxTurns: an error result still counts its modelUsage, and its
// errors list is kept.
func TestCLIMaxTurns(t *testing.T) {
	t.Parallel()
	data := `{"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":8412.5,"duration_api_ms":7950,"num_turns":3,
	"errors":["Reached maximum number of turns (3)"],"stop_reason":null,"session_id":"sess-mt","total_cost_usd":0.0412375,
	"modelUsage":{"claude-sonnet-4-5-20250929":{"inputTokens":12,"outputTokens":640,"cacheReadInputTokens":18300,
	"cacheCreationInputTokens":5210,"cacheCreationEphemeral5mInputTokens":5000,"cacheCreationEphemeral1hInputTokens":210,
	"webSearchRequests":2,"costUSD":0.0412375,"contextWindow":200000,"maxOutputTokens":64000}},
	"terminal_reason":"max_turns","uuid":"0b6f5e0a-2c8e-4a7b-b1f3-6a2d9c4e8f10"}`
	r, err := ParseResult([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		SessionID: "sess-mt", UUID: "0b6f5e0a-2c8e-4a7b-b1f3-6a2d9c4e8f10", Subtype: "error_max_turns", IsError: true,
		TerminalReason: "max_turns", Errors: []string{"Reached maximum number of turns (3)"}, NumTurns: 3,
		Duration: 8412500 * time.Microsecond, APIDuration: 7950 * time.Millisecond, TotalCostUSD: 0.0412375, CostKnown: true,
		Models: map[string]ModelUsage{"claude-sonnet-4-5-20250929": {
			Counts:  claude.Counts{Input: 12, Output: 640, CacheRead: 18300, CacheWrite5m: 5000, CacheWrite1h: 210, WebSearches: 2},
			CostUSD: 0.0412375, ContextWindow: 200000, MaxOutputTokens: 64000,
		}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("ParseResult (-want +got):\n%s", diff)
	}
	if _, failed := r.Failed(); failed {
		t.Error("Failed() = true for error_max_turns: it is not an API error")
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	got, err := r.Usages(nil, at)
	if err != nil {
		t.Fatal(err)
	}
	wantUsages := []authpool.Usage{{
		ID: "sess-mt/claude-sonnet-4-5-20250929/0b6f5e0a-2c8e-4a7b-b1f3-6a2d9c4e8f10", Time: at, CostUSD: 0.0412375,
		Tokens: authpool.Tokens{Input: 12, Output: 640, CacheWrite: 5210, CacheRead: 18300}, Model: "claude-sonnet-4-5-20250929",
		CacheTTL: time.Hour,
	}}
	if diff := cmp.Diff(wantUsages, got); diff != "" {
		t.Errorf("Usages (-want +got):\n%s", diff)
	}
}

// TestCLIUnknownIgnored: lines of unknown types, unknown fields, fields of
// lines ParseStream does not read, and blank lines change nothing.
func TestCLIUnknownIgnored(t *testing.T) {
	t.Parallel()
	base := cliFixture(t, "stream-ok.jsonl")
	want, err := ParseStream(bytes.NewReader(base))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(base)), "\n")
	extra := []string{
		``,
		`   `,
		`{"type":"stream_event","event":{"type":"message_delta","usage":{"output_tokens":999}}}`,
		`{"type":"user","message":{"usage":"not read"},"tool_use_result":[1,2,3]}`,
		`{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":500,"error_status":529,"error":{"x":1}}`,
		`{"type":"something_new","message":{"usage":{"output_tokens":"ignored"}}}`,
		`{"no_type":true}`,
		`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","isUsingOverage":false,"newField":{"a":[1]}},"extra":null}`,
	}
	mixed := append([]string{lines[0]}, extra...)
	mixed = append(mixed, lines[1:]...)
	got, err := ParseStream(strings.NewReader(strings.Join(mixed, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseStream with unknown lines (-want +got):\n%s", diff)
	}
	// Unknown fields in a result, and a one-byte-at-a-time reader.
	r, err := ParseStream(iotest.OneByteReader(strings.NewReader(`{"type":"result","future":{"deep":[{"x":1}]},"modelUsage":{"m":{"inputTokens":1,"future":"x"}},"uuid":"u"}` + "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{UUID: "u", CostKnown: true, Models: map[string]ModelUsage{"m": {Counts: claude.Counts{Input: 1}}}}, r); diff != "" {
		t.Errorf("result with unknown fields (-want +got):\n%s", diff)
	}
}

// TestCLIMalformed: malformed input is an error that names the line and the
// field.
func TestCLIMalformed(t *testing.T) {
	t.Parallel()
	const init = `{"type":"system","subtype":"init","session_id":"s1"}` + "\n"
	streams := []struct {
		name, in, want string
	}{
		{"type of a token count", init + `{"type":"user"}` + "\n" + `{"type":"assistant","message":{"id":"m","usage":{"output_tokens":"7"}}}` + "\n",
			`claude: stream-json line 3: field "message.usage.output_tokens": expected an integer, got string`},
		{"fractional token count", init + `{"type":"assistant","message":{"usage":{"input_tokens":1.5}}}`,
			`claude: stream-json line 2: field "message.usage.input_tokens": expected an integer, got number 1.5`},
		{"negative token count", `{"type":"assistant","message":{"usage":{"cache_creation":{"ephemeral_1h_input_tokens":-3}}}}`,
			`claude: stream-json line 1: field "message.usage.cache_creation.ephemeral_1h_input_tokens": -3 is negative`},
		{"not JSON", init + "hello\n",
			`claude: stream-json line 2: not JSON: invalid character 'h' looking for beginning of value (byte 1)`},
		{"cut JSON before the last line", `{"type":"assistant","mess` + "\n" + init,
			`claude: stream-json line 1: not JSON: unexpected end of JSON input (byte 25)`},
		{"not an object", init + "[1,2]\n",
			`claude: stream-json line 2: not a JSON object`},
		{"null line", init + "null\n",
			`claude: stream-json line 2: not a JSON object`},
		{"type of type", `{"type":7}`,
			`claude: stream-json line 1: field "type": expected a string, got number`},
		{"message not an object", `{"type":"assistant","message":[]}`,
			`claude: stream-json line 1: field "message": expected an object, got array`},
		{"session id type", `{"type":"system","session_id":5}`,
			`claude: stream-json line 1: field "session_id": expected a string, got number`},
		{"resetsAt type", init + `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":"soon"}}`,
			`claude: stream-json line 2: field "rate_limit_info.resetsAt": expected a number, got string`},
		{"resetsAt range", `{"type":"rate_limit_event","rate_limit_info":{"resetsAt":1795696289000}}`,
			`claude: stream-json line 1: field "rate_limit_info.resetsAt": 1.795696289e+12 is not a time in unix seconds`},
		{"window utilization", `{"type":"rate_limit_event","rate_limit_info":{"unifiedWindows":{"five_hour":{"utilization":"full"}}}}`,
			`claude: stream-json line 1: field "rate_limit_info.unifiedWindows.five_hour.utilization": expected a number, got string`},
		{"error rate limit info", `{"type":"assistant","api_error_params":{"rate_limit_info":{"isUsingOverage":"no"}}}`,
			`claude: stream-json line 1: field "api_error_params.rate_limit_info.isUsingOverage": expected true or false, got string`},
		{"result model usage", init + `{"type":"result","modelUsage":{"claude-x":{"inputTokens":"1"}}}`,
			`claude: stream-json line 2: field "modelUsage.claude-x.inputTokens": expected an integer, got string`},
	}
	for _, tt := range streams {
		t.Run("stream/"+tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseStream(strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseStream error = %v\nwant %s", err, tt.want)
			}
			if !r.Incomplete {
				t.Error("the Result returned with an error is not Incomplete")
			}
		})
	}
	results := []struct {
		name, in, want string
	}{
		{"empty", ``, `claude: json result: not JSON: unexpected end of JSON input (byte 0)`},
		{"garbage", `{"type":"result",}`, `claude: json result: not JSON: invalid character '}' looking for beginning of object key string (byte 18)`},
		{"array", `[{"type":"result"}]`, `claude: json result: not a JSON object`},
		{"not a result", `{"type":"assistant"}`, `claude: json result: field "type": "assistant", want "result"`},
		{"no type", `{"subtype":"success"}`, `claude: json result: field "type": "", want "result"`},
		{"two objects", `{"type":"result"}{"type":"result"}`, `claude: json result: not JSON: invalid character '{' after top-level value (byte 18)`},
		{"status as a string", `{"type":"result","api_error_status":"429"}`, `claude: json result: field "api_error_status": expected an integer, got string`},
		{"cost as a string", `{"type":"result","total_cost_usd":"0.1"}`, `claude: json result: field "total_cost_usd": expected a number, got string`},
		{"negative cost", `{"type":"result","total_cost_usd":-0.1}`, `claude: json result: field "total_cost_usd": -0.1 is a negative cost`},
		{"negative duration", `{"type":"result","duration_ms":-5}`, `claude: json result: field "duration_ms": -5 is not a duration in milliseconds`},
		{"errors of numbers", `{"type":"result","errors":[1]}`, `claude: json result: field "errors": expected a string, got number`},
		{"model usage not an object", `{"type":"result","modelUsage":{"m":[]}}`, `claude: json result: field "modelUsage.m": expected an object, got array`},
		{"negative model tokens", `{"type":"result","modelUsage":{"m":{"outputTokens":-1}}}`, `claude: json result: field "modelUsage.m.outputTokens": -1 is negative`},
		{"huge model tokens", `{"type":"result","modelUsage":{"m":{"outputTokens":9007199254740992}}}`, `claude: json result: field "modelUsage.m.outputTokens": 9007199254740992 is more than 9007199254740991`},
		{"model cost", `{"type":"result","modelUsage":{"m":{"costUSD":-1}}}`, `claude: json result: field "modelUsage.m.costUSD": -1 is a negative cost`},
		{"since last result", `{"type":"result","model_usage_since_last_result":{"m":{"inputTokens":true}}}`, `claude: json result: field "model_usage_since_last_result.m.inputTokens": expected an integer, got bool`},
	}
	for _, tt := range results {
		t.Run("result/"+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseResult([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseResult error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestCLIErrorKeepsWhatCameBefore: with a malformed line, ParseStream
// returns what the lines before it said.
func TestCLIErrorKeepsWhatCameBefore(t *testing.T) {
	t.Parallel()
	in := `{"type":"assistant","message":{"id":"m1","model":"claude-haiku-4-5","usage":{"input_tokens":5,"output_tokens":9}},"session_id":"s"}
not json
{"type":"assistant","message":{"id":"m2","model":"claude-haiku-4-5","usage":{"input_tokens":5,"output_tokens":9}}}
`
	r, err := ParseStream(strings.NewReader(in))
	if err == nil {
		t.Fatal("ParseStream of a garbage line: nil error")
	}
	want := Result{
		SessionID:  "s",
		Models:     map[string]ModelUsage{"claude-haiku-4-5": {Counts: claude.Counts{Input: 5, Output: 9}}},
		Trailing:   []Message{{ID: "m1", Model: "claude-haiku-4-5", Counts: claude.Counts{Input: 5, Output: 9}, Line: 1}},
		Incomplete: true,
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Result with the error (-want +got):\n%s", diff)
	}
}

// TestCLILongLine: a line over MaxStreamLine is an error; one at the limit
// is read.
func TestCLILongLine(t *testing.T) {
	t.Parallel()
	line := func(n int) string {
		head := `{"type":"user","pad":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	if _, err := ParseStream(strings.NewReader(line(MaxStreamLine) + "\n" + `{"type":"result","uuid":"u"}`)); err != nil {
		t.Errorf("a line of MaxStreamLine bytes: %v", err)
	}
	_, err := ParseStream(strings.NewReader(`{"type":"user"}` + "\n" + line(MaxStreamLine+1) + "\n"))
	const want = "claude: stream-json line 2: longer than 16777216 bytes: bufio: buffer full"
	if err == nil || err.Error() != want {
		t.Errorf("a line of MaxStreamLine+1 bytes: error %v, want %s", err, want)
	}
}

// TestCLIReadError: an error reading the stream is returned with the line
// it happened on.
func TestCLIReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := &failingReader{strings.NewReader(`{"type":"system","session_id":"s"}` + "\n"), boom}
	res, err := ParseStream(r)
	if !errors.Is(err, boom) || err.Error() != "claude: stream-json line 2: boom" {
		t.Errorf("ParseStream error = %v, want line 2 wrapping boom", err)
	}
	if res.SessionID != "s" || !res.Incomplete {
		t.Errorf("Result = %+v, want session s, Incomplete", res)
	}
}

// failingReader reads r, then fails with err.
type failingReader struct {
	r   *strings.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.r.Len() == 0 {
		return 0, f.err
	}
	return f.r.Read(p)
}

// TestCLIStreamTrailing: assistant messages after the last result line are
// Trailing; Usages counts the result with Claude Code's cost and the
// trailing messages with prices. Several results: the latest wins (they are
// cumulative).
func TestCLIStreamTrailing(t *testing.T) {
	t.Parallel()
	in := `{"type":"assistant","message":{"id":"m1","model":"claude-haiku-4-5","usage":{"input_tokens":100,"output_tokens":10}},"session_id":"s"}
{"type":"result","subtype":"success","session_id":"s","uuid":"r1","total_cost_usd":0.00015,"modelUsage":{"claude-haiku-4-5":{"inputTokens":100,"outputTokens":10,"costUSD":0.00015}}}
{"type":"assistant","message":{"id":"m2","model":"claude-haiku-4-5","usage":{"input_tokens":200,"output_tokens":20}},"session_id":"s"}
{"type":"result","subtype":"success","session_id":"s","uuid":"r2","result_index":1,"total_cost_usd":0.00045,"modelUsage":{"claude-haiku-4-5":{"inputTokens":300,"outputTokens":30,"costUSD":0.00045}}}
{"type":"assistant","message":{"id":"m3","model":"claude-haiku-4-5","usage":{"input_tokens":1000,"output_tokens":0}},"session_id":"s"}
{"type":"assistant","message":{"id":"m3","model":"claude-haiku-4-5","usage":{"input_tokens":1000,"output_tokens":100}},"session_id":"s"}
`
	r, err := ParseStream(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Incomplete || !r.CostKnown || r.UUID != "r2" || r.TotalCostUSD != 0.00045 {
		t.Errorf("Incomplete, CostKnown, UUID, TotalCostUSD = %v, %v, %q, %v; want true, true, r2, 0.00045",
			r.Incomplete, r.CostKnown, r.UUID, r.TotalCostUSD)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	got, err := r.Usages(claude.DefaultPrices(), at)
	if err != nil {
		t.Fatal(err)
	}
	want := []authpool.Usage{
		{ID: "s/claude-haiku-4-5/r2", Time: at, CostUSD: 0.00045, Tokens: authpool.Tokens{Input: 300, Output: 30}, Model: "claude-haiku-4-5"},
		{ID: "s/claude-haiku-4-5/partial-m3", Time: at, CostUSD: 0.0015, Tokens: authpool.Tokens{Input: 1000, Output: 100}, Model: "claude-haiku-4-5"},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Usages (-want +got):\n%s", diff)
	}
}

// TestCLIUsages: ids are stable across parses and name session, model and
// result; costs come from modelUsage when the result was read and from
// prices otherwise; an unknown model is an error, never a zero cost.
func TestCLIUsages(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	// A table without a fallback that knows no Claude Sonnet.
	unknownPrices, err := claude.ReadPrices(strings.NewReader(`{"claude-haiku-4-5": {"input_cost_per_token": 1e-6, "output_cost_per_token": 5e-6}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		stream  bool
		prices  *claude.Prices
		want    []authpool.Usage
		wantErr error
	}{
		{
			name: "result: cost from modelUsage, no prices needed", in: string(cliFixture(t, "result-ok.json")),
			want: []authpool.Usage{{
				ID: "a3b127dc-bfc4-49a3-9d03-3ceb3f960a99/claude-sonnet-5-5/2084b89c-a1ec-4679-820a-dc0358f604b7", Time: at,
				CostUSD: 0.000364, Tokens: authpool.Tokens{Input: 12, Output: 7, CacheWrite: 100, CacheRead: 200}, Model: "claude-sonnet-5-5",
			}},
		},
		{
			name: "result without uuid: result index", in: `{"type":"result","session_id":"s","result_index":2,"modelUsage":{"b":{"inputTokens":1,"costUSD":0.5},"a":{"outputTokens":2,"costUSD":0.25}}}`,
			want: []authpool.Usage{
				{ID: "s/a/result-2", Time: at, CostUSD: 0.25, Tokens: authpool.Tokens{Output: 2}, Model: "a"},
				{ID: "s/b/result-2", Time: at, CostUSD: 0.5, Tokens: authpool.Tokens{Input: 1}, Model: "b"},
			},
		},
		{
			name: "quota 429: nothing used", in: string(cliFixture(t, "result-quota429.json")),
		},
		{
			name: "costBasis unknown: priced again, as its family's newest model", prices: claude.DefaultPrices(),
			in: `{"type":"result","session_id":"s","uuid":"u","total_cost_usd":1.5,"modelUsage":{` +
				`"claude-sonnet-7":{"inputTokens":1000000,"outputTokens":100000,"costUSD":1.5,"costBasis":"unknown"},` +
				`"claude-opus-4-6[1m]":{"inputTokens":1000000,"costUSD":4.99,"costBasis":"unknown"},` +
				`"claude-haiku-4-5":{"inputTokens":1000,"costUSD":0.001,"costBasis":"list"}}}`,
			want: []authpool.Usage{
				{ID: "s/claude-haiku-4-5/u", Time: at, CostUSD: 0.001, Tokens: authpool.Tokens{Input: 1000}, Model: "claude-haiku-4-5"},
				{ID: "s/claude-opus-4-6[1m]/u", Time: at, CostUSD: 5, Tokens: authpool.Tokens{Input: 1000000}, Model: "claude-opus-4-6[1m]"},
				{ID: "s/claude-sonnet-7/u", Time: at, CostUSD: 2 + 1, Tokens: authpool.Tokens{Input: 1000000, Output: 100000},
					Model: "claude-sonnet-7", PricedAs: "claude-sonnet-5-5"},
			},
		},
		{
			name: "costBasis unknown without prices", in: `{"type":"result","session_id":"s","modelUsage":{"x":{"inputTokens":1,"costUSD":1,"costBasis":"unknown"}}}`,
			wantErr: errNeedPrices,
		},
		{
			name: "costBasis unknown, a table that cannot price it", prices: unknownPrices,
			in:      `{"type":"result","session_id":"s","modelUsage":{"claude-sonnet-7":{"inputTokens":1,"costUSD":1,"costBasis":"unknown"}}}`,
			wantErr: claude.ErrUnknownModel,
		},
		{
			name: "a cost without modelUsage: total_cost_usd", in: `{"type":"result","session_id":"s","uuid":"u","total_cost_usd":0.25}`,
			want: []authpool.Usage{{ID: "s/total/u", Time: at, CostUSD: 0.25}},
		},
		{
			name: "cut stream: computed with prices", stream: true, prices: claude.DefaultPrices(),
			in:   `{"type":"assistant","message":{"id":"msg_1","model":"claude-opus-4-5-20251101","usage":{"input_tokens":1000000,"output_tokens":0}},"session_id":"s"}`,
			want: []authpool.Usage{{ID: "s/claude-opus-4-5-20251101/partial-msg_1", Time: at, CostUSD: 5, Tokens: authpool.Tokens{Input: 1000000}, Model: "claude-opus-4-5-20251101"}},
		},
		{
			name: "cut stream: message without id", stream: true, prices: claude.DefaultPrices(),
			in:   "\n" + `{"type":"assistant","message":{"model":"claude-haiku-4-5","usage":{"output_tokens":1000000}}}`,
			want: []authpool.Usage{{ID: "/claude-haiku-4-5/partial-line2", Time: at, CostUSD: 5, Tokens: authpool.Tokens{Output: 1000000}, Model: "claude-haiku-4-5"}},
		},
		{
			name: "cut stream: unknown model", stream: true, prices: unknownPrices,
			in:      `{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-5-5","usage":{"input_tokens":12}}}`,
			wantErr: claude.ErrUnknownModel,
		},
		{
			name: "cut stream: unknown model of a family, us inference", stream: true, prices: claude.DefaultPrices(),
			in: `{"type":"assistant","message":{"id":"msg_1","model":"claude-opus-7","usage":{"input_tokens":1000000,"inference_geo":"us"}},"session_id":"s"}`,
			want: []authpool.Usage{{ID: "s/claude-opus-7/partial-msg_1", Time: at, CostUSD: 4.4, Tokens: authpool.Tokens{Input: 1000000},
				Model: "claude-opus-7", PricedAs: "claude-opus-5-5"}},
		},
		{
			name: "cut stream: unknown model without tokens costs 0", stream: true, prices: unknownPrices,
			in:   `{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-5-5","usage":{"input_tokens":0}}}`,
			want: []authpool.Usage{{ID: "/claude-sonnet-5-5/partial-msg_1", Time: at, Model: "claude-sonnet-5-5"}},
		},
		{
			name: "cut stream: an API error message is not usage", stream: true, prices: claude.DefaultPrices(),
			in: string(cliFixture(t, "stream-quota429.jsonl"))[:strings.LastIndex(strings.TrimSpace(string(cliFixture(t, "stream-quota429.jsonl"))), "\n")],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parse := func() Result {
				var r Result
				var err error
				if tt.stream {
					r, err = ParseStream(strings.NewReader(tt.in))
				} else {
					r, err = ParseResult([]byte(tt.in))
				}
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			got, err := parse().Usages(tt.prices, at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Usages error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Usages (-want +got):\n%s", diff)
			}
			again, _ := parse().Usages(tt.prices, at)
			if diff := cmp.Diff(got, again, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Usages of a second parse differ (-first +second):\n%s", diff)
			}
		})
	}
}

// TestCLIQuotaStreamCut: a quota stream cut before its result still says
// the run failed on a 429 and when the limit resets, from the API-error
// message and its rate_limit_info.
func TestCLIQuotaStreamCut(t *testing.T) {
	t.Parallel()
	data := cliFixture(t, "stream-quota429.jsonl")
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	// Drop the rate_limit_event too: the error message's own
	// rate_limit_info is then the latest state.
	cut := lines[0] + "\n" + lines[2] + "\n"
	r, err := ParseStream(strings.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	sig := r.LimitSignal()
	if status, ok := sig.Failed(); !ok || status != 429 || sig.ErrorType != "rate_limit_error" || sig.Error != "usage_limit_reached" {
		t.Errorf("LimitSignal() = %+v, want a failed 429 rate_limit_error usage_limit_reached", sig)
	}
	reset, ok := sig.ResetAt(time.Time{})
	if want := time.Unix(1795696289, 0).UTC(); !ok || !reset.Equal(want) {
		t.Errorf("ResetAt = %v, %v; want %v", reset, ok, want)
	}
	if !r.Incomplete || r.CostKnown || len(r.Models) != 0 {
		t.Errorf("Incomplete, CostKnown, Models = %v, %v, %v; want true, false, none", r.Incomplete, r.CostKnown, r.Models)
	}
	// A later successful message clears the error.
	ok2 := `{"type":"assistant","message":{"id":"m","model":"claude-haiku-4-5","usage":{"output_tokens":3}}}`
	r, err = ParseStream(strings.NewReader(cut + ok2))
	if err != nil {
		t.Fatal(err)
	}
	if status, failed := r.Failed(); failed {
		t.Errorf("Failed() = %d, true after a later successful message", status)
	}
}

// TestCLIResetText reads reset times from Claude Code's limit messages.
func TestCLIResetText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 11, 31, 30, 0, time.UTC)
	utc := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		msg  string
		now  time.Time
		want time.Time // zero: not understood
	}{
		{"You've hit your 5-hour limit · resets 12:31pm (UTC)", now, utc(11, 26, 12, 32)},
		{"You've hit your 5-hour limit · resets 5am (UTC)", now, utc(11, 27, 5, 1)},
		{"resets 12am (UTC)", now, utc(11, 27, 0, 1)},
		{"resets 12pm (UTC)", now, utc(11, 26, 12, 1)},
		{"resets 11:31am (UTC)", now, utc(11, 26, 11, 32)}, // this minute: not over yet
		{"resets 11:30am (UTC)", now, utc(11, 27, 11, 31)}, // a minute ago: tomorrow
		{"resets 11:31AM (UTC)", now, utc(11, 26, 11, 32)}, // capitals
		{"Weekly limit · resets Nov 30, 5pm (UTC)", now, utc(11, 30, 17, 1)},
		{"resets Jan 2, 9am (UTC)", now, time.Date(2027, 1, 2, 9, 1, 0, 0, time.UTC)},
		{"resets Nov 26, 9am (UTC)", now, utc(11, 26, 9, 1)}, // a date just past stays put
		{"Claude usage limit reached. Your limit will reset at 5pm (UTC).", now, utc(11, 26, 17, 1)},
		{"resets 13:00pm (UTC)", now, time.Time{}},
		{"resets 12:61pm (UTC)", now, time.Time{}},
		{"resets 0am (UTC)", now, time.Time{}},
		{"resets 5pm", now, time.Time{}},
		{"resets 5pm (Not/AZone)", now, time.Time{}},
		{"resets Foo 3, 5pm (UTC)", now, time.Time{}},
		{"resets Feb 30, 5pm (UTC)", now, time.Time{}},
		{"API Error: 529 fake OVERLOADED529.", now, time.Time{}},
		{"", now, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := Signal{Message: tt.msg}.ResetAt(tt.now)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("ResetAt(%q, %v) = %v, %v; want %v", tt.msg, tt.now, got, ok, tt.want)
		}
	}
	// A zone with daylight saving, when this system has the database.
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		got, ok := Signal{Message: "resets 5pm (America/New_York)"}.ResetAt(now)
		if want := time.Date(2026, 11, 26, 17, 1, 0, 0, ny); !ok || !got.Equal(want) {
			t.Errorf("ResetAt in New York = %v, %v; want %v", got, ok, want)
		}
	}
	// A rejected state's reset wins over the text; a non-rejected one does
	// not count.
	resetsAt := time.Unix(1795696289, 0).UTC()
	sig := Signal{Message: "resets 5pm (UTC)", RateLimit: &RateLimitInfo{Status: "rejected", ResetsAt: resetsAt}}
	if got, ok := sig.ResetAt(now); !ok || !got.Equal(resetsAt) {
		t.Errorf("ResetAt with a rejected state = %v, %v; want %v", got, ok, resetsAt)
	}
	sig.RateLimit.Status = "allowed"
	if got, ok := sig.ResetAt(now); !ok || !got.Equal(utc(11, 26, 17, 1)) {
		t.Errorf("ResetAt with an allowed state = %v, %v; want the text's 17:01", got, ok)
	}
}

// TestCLISplitWrites: the 1-hour writes are at most the total, the rest are
// 5-minute writes, and a split larger than the total raises it.
func TestCLISplitWrites(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ total, e5m, e1h, w5m, w1h int64 }{
		{100, 0, 0, 100, 0}, // the captured CLI output: split absent or zero
		{100, 40, 60, 40, 60},
		{100, 0, 30, 70, 30},
		{100, 0, 300, 0, 300}, // raised to 300
		{0, 50, 0, 50, 0},
		{0, 0, 0, 0, 0},
	} {
		w5m, w1h := cliSplitWrites(tt.total, tt.e5m, tt.e1h)
		if w5m != tt.w5m || w1h != tt.w1h {
			t.Errorf("cliSplitWrites(%d, %d, %d) = %d, %d; want %d, %d", tt.total, tt.e5m, tt.e1h, w5m, w1h, tt.w5m, tt.w1h)
		}
	}
}

// cliBigStream builds a stream of about size bytes: init, then assistant
// lines (three per message id) with big text blocks, tool results, and a
// result.
func cliBigStream(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"system","subtype":"init","session_id":"s","model":"claude-sonnet-4-5"}` + "\n")
	text := strings.Repeat("lorem ipsum dolor sit amet, ", 150)
	for i := 0; b.Len() < size; i++ {
		for _, out := range []int{1, 1, 742} {
			fmt.Fprintf(&b, `{"type":"assistant","message":{"id":"msg_%d","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
				`"content":[{"type":"text","text":"%s"}],"stop_reason":null,"usage":{"input_tokens":4,"cache_creation_input_tokens":1200,`+
				`"cache_read_input_tokens":48000,"cache_creation":{"ephemeral_5m_input_tokens":1200,"ephemeral_1h_input_tokens":0},`+
				`"output_tokens":%d,"service_tier":"standard"}},"parent_tool_use_id":null,"session_id":"s","uuid":"u"}`+"\n", i, text, out)
		}
		fmt.Fprintf(&b, `{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"%s"}]}}`+"\n", text)
	}
	b.WriteString(`{"type":"result","subtype":"success","session_id":"s","uuid":"r","modelUsage":{"claude-sonnet-4-5":{"inputTokens":1,"costUSD":1}}}` + "\n")
	return b.Bytes()
}

// BenchmarkParseStream parses a 10 MB stream.
//
//	go test -run '^$' -bench ParseStream ./claude/
func BenchmarkParseStream(b *testing.B) {
	data := cliBigStream(10 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseStream(bytes.NewReader(data))
		if err != nil || r.Incomplete {
			b.Fatal(err, r.Incomplete)
		}
	}
}

// cliCheckCounts fails t if a count of r is negative.
func cliCheckCounts(t *testing.T, r Result) {
	t.Helper()
	check := func(where string, c claude.Counts) {
		if c.Input < 0 || c.Output < 0 || c.CacheWrite5m < 0 || c.CacheWrite1h < 0 || c.CacheRead < 0 || c.WebSearches < 0 {
			t.Fatalf("%s: negative counts %+v", where, c)
		}
	}
	for model, m := range r.Models {
		check("Models["+model+"]", m.Counts)
		if m.CostUSD < 0 {
			t.Fatalf("Models[%s].CostUSD = %v", model, m.CostUSD)
		}
	}
	for model, m := range r.SinceLastResult {
		check("SinceLastResult["+model+"]", m.Counts)
	}
	for _, m := range r.Trailing {
		check("Trailing "+m.ID, m.Counts)
	}
	if r.TotalCostUSD < 0 || r.Duration < 0 || r.APIDuration < 0 || r.NumTurns < 0 || r.APIErrorStatus < 0 {
		t.Fatalf("negative numbers in %+v", r)
	}
	prices := claude.DefaultPrices()
	if err := prices.SetFallback(&claude.Price{Input: 1, Output: 1}); err != nil {
		t.Fatal(err)
	}
	us, err := r.Usages(prices, time.Unix(1795696289, 0))
	if err != nil {
		t.Fatalf("Usages with a fallback price: %v", err)
	}
	for _, u := range us {
		if u.CostUSD < 0 || u.Tokens.Input < 0 || u.Tokens.Output < 0 || u.Tokens.CacheWrite < 0 || u.Tokens.CacheRead < 0 {
			t.Fatalf("negative usage %+v", u)
		}
	}
	r.LimitSignal().ResetAt(time.Unix(1795696289, 0))
}

// FuzzParseResult: ParseResult never panics, and what it accepts has no
// negative count. Seeds: testdata/fuzz/FuzzParseResult.
//
//	go test -run '^$' -fuzz FuzzParseResult -fuzztime 60s ./claude/
func FuzzParseResult(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResult(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "claude: json result: ") {
				t.Fatalf("error without its prefix: %v", err)
			}
			return
		}
		if !r.CostKnown || r.Incomplete {
			t.Fatalf("CostKnown, Incomplete = %v, %v for a parsed result", r.CostKnown, r.Incomplete)
		}
		cliCheckCounts(t, r)
	})
}

// FuzzParseStream: ParseStream never panics, what it accepts has no
// negative count, and a stream it reads to a final result line has the
// tokens and cost ParseResult reads from that line. Seeds:
// testdata/fuzz/FuzzParseStream.
//
//	go test -run '^$' -fuzz FuzzParseStream -fuzztime 60s ./claude/
func FuzzParseStream(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseStream(bytes.NewReader(data))
		cliCheckCounts(t, r)
		if err != nil {
			if !r.Incomplete {
				t.Fatalf("error %v with a Result that is not Incomplete", err)
			}
			return
		}
		if r.Incomplete {
			return
		}
		// The last line whose type is "result" (lines ParseStream accepted).
		var last []byte
		for line := range bytes.Lines(data) {
			var lt cliLineType
			if t := bytes.TrimSpace(line); len(t) > 0 && json.Unmarshal(t, &lt) == nil && lt.Type == "result" {
				last = line
			}
		}
		if last == nil {
			t.Fatalf("a complete Result without a result line: %+v", r)
		}
		want, err := ParseResult(last)
		if err != nil {
			t.Fatalf("ParseStream accepted result line %q that ParseResult refuses: %v", last, err)
		}
		if diff := cmp.Diff(want.Models, r.Models, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Models of the stream differ from its result line's (-result +stream):\n%s", diff)
		}
		if want.TotalCostUSD != r.TotalCostUSD || want.UUID != r.UUID || want.SessionID != r.SessionID {
			t.Fatalf("stream result %+v, result line %+v", r, want)
		}
	})
}
