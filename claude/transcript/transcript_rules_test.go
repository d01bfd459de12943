package transcript

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/claude"
)

// The rules of ccusage 20.0.24, case by case as the binary answered them
// (see testdata/ccusage/README.md).

// TestTranscriptDedup checks ccusage 20.0.24's de-duplication, case by
// case as the binary answered them (output tokens of blocks and daily).
func TestTranscriptDedup(t *testing.T) {
	t.Parallel()
	day := func(d, min int) string { return fmt.Sprintf("2025-02-%02dT00:%02d:00.000Z", d, min) }
	tests := []struct {
		name          string
		lines         []txL
		entries       int
		blocks, daily int64
	}{
		{"non-sidechain beats more tokens", []txL{{ts: day(1, 10), msg: "m", req: "r", out: 10, side: &txFalse}, {ts: day(1, 20), msg: "m", req: "r", out: 100, side: &txTrue}}, 1, 10, 10},
		{"non-sidechain replaces sidechain", []txL{{ts: day(1, 10), msg: "m", req: "r", out: 100, side: &txTrue}, {ts: day(1, 20), msg: "m", req: "r", out: 10, side: &txFalse}}, 1, 10, 10},
		{"more tokens win", []txL{{ts: day(1, 10), msg: "m", req: "r", out: 1}, {ts: day(1, 11), msg: "m", req: "r", out: 1}, {ts: day(1, 12), msg: "m", req: "r", out: 742}}, 1, 742, 742},
		{"sidechain replay later: blocks count it, daily not", []txL{{ts: day(1, 10), msg: "m", req: "r1", out: 10, side: &txFalse}, {ts: day(1, 20), msg: "m", req: "r2", out: 50, side: &txTrue}}, 2, 60, 10},
		{"sidechain replay first", []txL{{ts: day(1, 10), msg: "m", req: "r2", out: 50, side: &txTrue}, {ts: day(1, 20), msg: "m", req: "r1", out: 10, side: &txFalse}}, 2, 60, 10},
		{"sidechain replay at the same time: both merge", []txL{{ts: txT0, msg: "m", req: "r1", out: 1216, side: &txFalse}, {ts: txT0, msg: "m", req: "r2", out: 1116, side: &txTrue}}, 1, 1216, 1216},
		{"replay at the same time, non-sidechain second", []txL{{ts: txT0, msg: "m", req: "r1", out: 1216, side: &txTrue}, {ts: txT0, msg: "m", req: "r2", out: 1116, side: &txFalse}}, 1, 1116, 1116},
		{"two replays at the same time", []txL{{ts: "2025-06-01T01:00:00.000Z", msg: "m", req: "r0", out: 1116}, {ts: txT0, msg: "m", req: "r1", out: 1216, side: &txTrue}, {ts: txT0, msg: "m", req: "r2", out: 1116, side: &txTrue}}, 2, 2332, 1116},
		{"same time, another offset", []txL{{ts: txT0, msg: "m", req: "r1", out: 1216, side: &txTrue}, {ts: "2025-06-01T03:00:30.000+02:00", msg: "m", req: "r2", out: 1116, side: &txTrue}}, 1, 1216, 1216},
		{"non-sidechain lines at the same time stay apart", []txL{{ts: txT0, msg: "m", req: "r1", out: 1216}, {ts: txT0, msg: "m", req: "r2", out: 1116}}, 2, 2332, 2332},
		{"two sidechains, apart in time", []txL{{ts: day(2, 0), msg: "m", req: "r1", out: 10, side: &txTrue}, {ts: day(2, 20), msg: "m", req: "r2", out: 20, side: &txTrue}}, 2, 30, 20},
		{"a speed breaks a tie", []txL{{ts: day(5, 10), msg: "m", req: "r", out: 10}, {ts: day(5, 20), msg: "m", req: "r", out: 10, speed: "standard"}}, 1, 10, 10},
		{"no request id: merged by the entry reader", []txL{{ts: day(7, 10), msg: "m", out: 10}, {ts: day(7, 20), msg: "m", out: 20}}, 1, 20, 30},
		{"no request id, same time: merged by both", []txL{{ts: txT0, msg: "m", out: 10}, {ts: txT1, msg: "m", out: 20}, {ts: txT0, msg: "m", out: 30}}, 1, 30, 50},
		{"request id and none are different keys", []txL{{ts: txT0, msg: "m", req: "r", out: 10}, {ts: txT0, msg: "m", out: 20}}, 2, 30, 30},
		{"no message id: never merged", []txL{{ts: day(8, 10), req: "r", out: 10}, {ts: day(8, 20), req: "r", out: 20}}, 2, 30, 30},
		{"different request ids", []txL{{ts: day(9, 10), msg: "m", req: "r1", out: 10}, {ts: day(9, 20), msg: "m", req: "r2", out: 20}}, 2, 30, 30},
		{"daily index follows a replacement", []txL{{ts: day(4, 0), msg: "m", req: "r1", out: 50, side: &txTrue}, {ts: day(4, 20), msg: "m", req: "r2", out: 10, side: &txFalse}, {ts: day(4, 30), msg: "m", req: "r2", out: 20, side: &txFalse}}, 2, 70, 20},
		{"daily: a replaced sidechain leaves its message", []txL{{ts: day(9, 0), msg: "m", req: "r1", out: 100, side: &txTrue}, {ts: day(9, 20), msg: "m", req: "r2", out: 10}, {ts: day(9, 30), msg: "m", req: "r3", out: 20}}, 3, 130, 30},
		{"daily: a sidechain without request id matches", []txL{{ts: day(3, 0), msg: "m", out: 50, side: &txTrue}, {ts: day(3, 20), msg: "m", req: "r", out: 10, side: &txFalse}}, 2, 60, 10},
		{"daily: a replay matches the first of two", []txL{{ts: day(8, 0), msg: "m", req: "r1", out: 10}, {ts: day(8, 20), msg: "m", req: "r2", out: 20}, {ts: day(8, 30), msg: "m", req: "r3", out: 100, side: &txTrue}}, 3, 130, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var lines []string
			for _, l := range tt.lines {
				lines = append(lines, l.String())
			}
			r := txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{})
			entries, blocks, daily := txOutputs(r)
			if entries != tt.entries || blocks != tt.blocks || daily != tt.daily {
				t.Errorf("entries %d, output tokens %d (blocks) and %d (daily); ccusage: %d, %d and %d", entries, blocks, daily, tt.entries, tt.blocks, tt.daily)
			}
		})
	}
}

// TestTranscriptTies checks which line wins a tie: ccusage keeps the first
// (in file order, then line order), unless a later one has a speed; the
// daily reader prefers the higher cost first.
func TestTranscriptTies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      map[string][]string
		blocksLast string  // the kept entry's time
		cost       float64 // the blocks' cost
		dailyCost  float64
	}{
		{"first wins", map[string][]string{"p/s.jsonl": {txL{ts: "2025-01-06T00:10:00.000Z", msg: "m", req: "r", out: 10}.String(), txL{ts: "2025-01-06T02:20:00.000Z", msg: "m", req: "r", out: 10}.String()}},
			"2025-01-06T00:10:00.000Z", 15e-5, 15e-5},
		{"speed wins", map[string][]string{"p/s.jsonl": {txL{ts: "2025-01-06T00:10:00.000Z", msg: "m", req: "r", out: 10}.String(), txL{ts: "2025-01-06T02:20:00.000Z", msg: "m", req: "r", out: 10, speed: "standard"}.String()}},
			"2025-01-06T02:20:00.000Z", 15e-5, 15e-5},
		{"no speed loses", map[string][]string{"p/s.jsonl": {txL{ts: "2025-01-06T00:10:00.000Z", msg: "m", req: "r", out: 10, speed: "standard"}.String(), txL{ts: "2025-01-06T02:20:00.000Z", msg: "m", req: "r", out: 10}.String()}},
			"2025-01-06T00:10:00.000Z", 15e-5, 15e-5},
		{"daily keeps the dearer", map[string][]string{"p/s.jsonl": {txL{ts: "2025-01-06T00:10:00.000Z", msg: "m", req: "r", out: 10, cost: 0.5}.String(), txL{ts: "2025-01-06T02:20:00.000Z", msg: "m", req: "r", out: 10, cost: 1}.String()}},
			"2025-01-06T00:10:00.000Z", 0.5, 1},
		{"files in byte order of their path", map[string][]string{
			"p/zz.jsonl": {txL{ts: "2025-05-01T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
			"p/Aa.jsonl": {txL{ts: "2025-05-02T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
			"p/a.jsonl":  {txL{ts: "2025-05-03T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
		}, "2025-05-02T01:00:00.000Z", 15e-5, 15e-5},
		{"a session's file before its subagents", map[string][]string{
			"p/s/subagents/a.jsonl": {txL{ts: "2025-05-02T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
			"p/s.jsonl":             {txL{ts: "2025-05-01T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
		}, "2025-05-01T01:00:00.000Z", 15e-5, 15e-5},
		{"p-a before p/", map[string][]string{
			"p/s.jsonl":   {txL{ts: "2025-05-02T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
			"p-a/s.jsonl": {txL{ts: "2025-05-01T01:00:00.000Z", msg: "m", req: "r", out: 10}.String()},
		}, "2025-05-01T01:00:00.000Z", 15e-5, 15e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := txRead(t, tt.files, Options{})
			if len(r.Blocks) != 1 {
				t.Fatalf("%d blocks, want 1: %+v", len(r.Blocks), r.Blocks)
			}
			b := r.Blocks[0]
			if got := txMillis(b.ActualEndTime); got != tt.blocksLast || !txNear(b.CostUSD, tt.cost) || !txNear(r.DayTotals.TotalCost, tt.dailyCost) {
				t.Errorf("kept %s costing %v, daily %v; want %s, %v and %v", got, b.CostUSD, r.DayTotals.TotalCost, tt.blocksLast, tt.cost, tt.dailyCost)
			}
		})
	}
}

func txNear(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// TestTranscriptLineRules checks which lines ccusage 20.0.24 reads, line by
// line as the binary answered (in: output tokens the entry reader and the
// daily reader count).
func TestTranscriptLineRules(t *testing.T) {
	t.Parallel()
	ok := txL{ts: "2025-04-01T00:10:00.000Z", msg: "m", req: "r", out: 7}
	with := func(f func(*txL)) string { l := ok; f(&l); return l.String() }
	line := ok.String()
	deep := strings.Repeat("[", 127) + strings.Repeat("]", 127)
	tests := []struct {
		name          string
		line          string
		blocks, daily bool
		problem       string // in the problem reported when neither reads it
	}{
		{"plain", line, true, true, ""},
		{"timestamp without milliseconds", with(func(l *txL) { l.ts = "2025-04-01T00:10:00Z" }), true, true, ""},
		{"timestamp with an offset", with(func(l *txL) { l.ts = "2025-04-01T00:10:00+02:00" }), true, true, ""},
		{"timestamp with milliseconds and an offset", with(func(l *txL) { l.ts = "2025-04-01T00:10:00.000-02:00" }), true, true, ""},
		{"timestamp with microseconds", with(func(l *txL) { l.ts = "2025-04-01T00:10:00.123456Z" }), false, false, "timestamp"},
		{"timestamp with a space", with(func(l *txL) { l.ts = "2025-04-01 00:10:00Z" }), false, false, "timestamp"},
		{"timestamp with one digit of fraction", with(func(l *txL) { l.ts = "2025-04-01T00:10:00.1Z" }), false, false, "timestamp"},
		{"timestamp with z", with(func(l *txL) { l.ts = "2025-04-01T00:10:00.000z" }), false, false, "timestamp"},
		{"timestamp at 24:00", with(func(l *txL) { l.ts = "2025-04-01T24:00:00.000Z" }), false, false, "timestamp"},
		{"timestamp on 29 February 2025", with(func(l *txL) { l.ts = "2025-02-29T00:00:00.000Z" }), false, false, "timestamp"},
		{"timestamp offset without colon", with(func(l *txL) { l.ts = "2025-04-01T00:10:00.0+0200" }), false, false, "timestamp"},
		{"version 2.0", with(func(l *txL) { l.version = "2.0" }), false, false, "version"},
		{"version with a suffix", with(func(l *txL) { l.version = "2.0.31-beta" }), true, true, ""},
		{"version v2.0.1", with(func(l *txL) { l.version = "v2.0.1" }), false, false, "version"},
		{"version 10.20.30", with(func(l *txL) { l.version = "10.20.30" }), true, true, ""},
		{"version 2.0.x", with(func(l *txL) { l.version = "2.0.x" }), false, false, "version"},
		{"no version", strings.Replace(line, `"version":"2.0.31",`, "", 1), true, true, ""},
		{"usage with a space", strings.Replace(line, `"usage":{`, `"usage": {`, 1), false, false, ""},
		{"empty model", with(func(l *txL) { l.model = "x" }) /* replaced below */, true, true, ""},
		{"empty message id", strings.Replace(line, `"id":"m"`, `"id":""`, 1), false, false, "message.id is empty"},
		{"empty request id", strings.Replace(line, `"requestId":"r"`, `"requestId":""`, 1), false, false, "requestId is empty"},
		{"empty session id", strings.Replace(line, `"sessionId":"s1"`, `"sessionId":""`, 1), false, false, "sessionId is empty"},
		{"costUSD null", with(func(l *txL) { l.extra = `,"costUSD":null` }), false, false, "costUSD is null"},
		{"cwd null", with(func(l *txL) { l.extra = `,"cwd":null` }), false, false, "cwd is null"},
		{"speed priority", with(func(l *txL) { l.speed = "priority" }), false, false, "not a usage entry"},
		{"speed Fast", with(func(l *txL) { l.speed = "Fast" }), false, false, "not a usage entry"},
		{"no input tokens", strings.Replace(line, `"input_tokens":0,`, "", 1), false, false, "not a usage entry"},
		{"cache_creation null", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7,"cache_creation":null`, 1), true, true, ""},
		{"a split count null", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7,"cache_creation":{"ephemeral_5m_input_tokens":null}`, 1), false, false, "not a usage entry"},
		{"an id null in the content", strings.Replace(line, `"model":`, `"content":[{"type":"tool_use","id":null}],"model":`, 1), false, false, "id is null"},
		{"tool_use_id null in the content", strings.Replace(line, `"model":`, `"content":[{"tool_use_id":null}],"model":`, 1), true, true, ""},
		{"message.id spaced null", strings.Replace(line, `"id":"m"`, `"id": null`, 1), false, false, "id is null"},
		{"sessionId spaced null", strings.Replace(line, `"sessionId":"s1"`, `"sessionId": null`, 1), false, false, "sessionId is null"},
		{"an escaped id null elsewhere", with(func(l *txL) { l.extra = `,"x":{"\u0069d":null}` }), false, false, "id is null"},
		{"stop_sequence spaced null", strings.Replace(line, `"model":`, `"stop_sequence": null,"model":`, 1), true, true, ""},
		{"model null in usage.iterations", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7,"iterations":[{"type":"message","model":null}]`, 1), true, true, ""},
		{"model null deeper in usage.iterations", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7,"iterations":[{"x":{"model":null}}]`, 1), false, false, "model is null"},
		{"id null in usage.iterations", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7,"iterations":[{"model":"m","id":null}]`, 1), false, false, "id is null"},
		{"model null in another iterations", with(func(l *txL) { l.extra = `,"toolUseResult":{"iterations":[{"model":null}]}` }), false, false, "model is null"},
		{"text after the object", line + "x", false, false, "not JSON"},
		{"CR line end", line + "\r", true, true, ""},
		{"duplicate timestamp", with(func(l *txL) { l.extra = `,"timestamp":"2025-04-01T00:10:00.000Z"` }), false, false, "not a usage entry"},
		{"duplicate unknown field", with(func(l *txL) { l.extra = `,"type":"x"` }), true, true, ""},
		{"output 7.0", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7.0`, 1), false, false, "not a usage entry"},
		{"output 7e0", strings.Replace(line, `"output_tokens":7`, `"output_tokens":7e0`, 1), false, false, "not a usage entry"},
		{"input -0", strings.Replace(line, `"input_tokens":0`, `"input_tokens":-0`, 1), false, false, "not a usage entry"},
		{"input -1", strings.Replace(line, `"input_tokens":0`, `"input_tokens":-1`, 1), false, false, "not a usage entry"},
		{"isSidechain a string", with(func(l *txL) { l.extra = `,"isSidechain":"yes"` }), false, false, "not a usage entry"},
		{"sessionId a number", strings.Replace(line, `"sessionId":"s1"`, `"sessionId":5`, 1), false, false, "not a usage entry"},
		{"costUSD an integer", with(func(l *txL) { l.cost = 2 }), true, true, ""},
		{"costUSD a string", with(func(l *txL) { l.extra = `,"costUSD":"1"` }), false, false, "not a usage entry"},
		{"isApiErrorMessage a string: only daily", with(func(l *txL) { l.extra = `,"isApiErrorMessage":"yes"` }), false, true, ""},
		{"API error line", with(func(l *txL) { l.extra = `,"isApiErrorMessage":true` }), true, true, ""},
		{"control character in a string", with(func(l *txL) { l.extra = ",\"x\":\"a\tb\"" }), false, false, "not JSON"},
		{"escapes in the session id", strings.Replace(line, `"sessionId":"s1"`, `"sessionId":"s\u0031"`, 1), true, true, ""},
		{"nesting of 127: both", with(func(l *txL) { l.extra = `,"x":` + deep[1:len(deep)-1] }), true, true, ""},
		{"nesting of 128: only blocks", with(func(l *txL) { l.extra = `,"x":` + deep }), true, false, ""},
		{"bad UTF-8 in another field: only blocks", with(func(l *txL) { l.extra = ",\"x\":\"\xff\"" }), true, false, ""},
		{"bad UTF-8 in the session id", strings.Replace(line, `"sessionId":"s1"`, "\"sessionId\":\"s\xff\"", 1), false, false, "not a usage entry"},
		{"a lone surrogate elsewhere: only blocks", with(func(l *txL) { l.extra = `,"x":"\ud800"` }), true, false, ""},
		{"a surrogate pair", with(func(l *txL) { l.extra = `,"x":"\ud83d\ude00"` }), true, true, ""},
		{"a number out of range: only blocks", with(func(l *txL) { l.extra = `,"x":1e400` }), true, false, ""},
		{"a member twice elsewhere: both", with(func(l *txL) { l.extra = `,"x":{"a":1,"a":2}` }), true, true, ""},
		{"bad UTF-8 and NULL: only blocks", with(func(l *txL) { l.extra = ",\"x\":\"\xff NULL\"" }), true, false, ""},
		// A line holding null anywhere is read strictly by both readers.
		{"nesting of 128 and a null: neither", with(func(l *txL) { l.extra = `,"x":` + deep + `,"y":null` }), false, false, "nesting deeper than 127"},
		{"bad UTF-8 and a null: neither", with(func(l *txL) { l.extra = ",\"x\":\"\xff\",\"y\":null" }), false, false, "invalid UTF-8"},
		{"bad UTF-8 and null in a string: neither", with(func(l *txL) { l.extra = ",\"x\":\"\xff annulled\"" }), false, false, "invalid UTF-8"},
		{"a lone surrogate and a null: neither", with(func(l *txL) { l.extra = `,"x":"\udc00","y":null` }), false, false, "lone surrogate"},
		{"a number out of range and a null: neither", with(func(l *txL) { l.extra = `,"x":[1e400,null]` }), false, false, "out of float range"},
		{"a member twice and a null: neither", with(func(l *txL) { l.extra = `,"x":{"a":1,"a":null}` }), false, false, "member twice"},
		{"a member twice, escaped, and a null: neither", with(func(l *txL) { l.extra = `,"x":[{"a":1,"\u0061":2}],"y":"null"` }), false, false, "member twice"},
		{"a surrogate pair and a null", with(func(l *txL) { l.extra = `,"x":"\ud83d\ude00","y":null` }), true, true, ""},
		{"message null", `{"timestamp":"2025-04-01T00:10:00.000Z","message":null,"x":{"usage":{"input_tokens":1,"output_tokens":7}}}`, false, false, "not a usage entry"},
		{"usage at the top", `{"timestamp":"2025-04-01T00:10:00.000Z","usage":{"input_tokens":1,"output_tokens":7}}`, false, false, "not a usage entry"},
		{"a count of 2^64", strings.Replace(line, `"input_tokens":0`, `"input_tokens":18446744073709551616`, 1), false, false, "not a usage entry"},
		{"a count past 2^32 (ccusage reads it; we refuse)", strings.Replace(line, `"input_tokens":0`, `"input_tokens":18446744073709551615`, 1), false, false, "past what one response"},
		{"timestamp a number", strings.Replace(line, `"timestamp":"2025-04-01T00:10:00.000Z"`, `"timestamp":5`, 1), false, false, "not a usage entry"},
		{"agent progress line: only daily", `{"type":"progress","data":{"message":{"timestamp":"2025-04-01T00:10:00.000Z","requestId":"rp","message":{"id":"mp","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":0,"output_tokens":7}}}}}`, false, true, ""},
		{"not an object", `["usage":{]`, false, false, "not JSON"},
		{"cut", line[:len(line)/2], false, false, "not JSON"},
	}
	tests[18].line = strings.Replace(line, `"model":"claude-sonnet-4-5-20250929"`, `"model":""`, 1)
	tests[18].blocks, tests[18].daily, tests[18].problem = false, false, "message.model is empty"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := txRead(t, map[string][]string{"p/s.jsonl": {tt.line}}, Options{})
			_, blocks, daily := txOutputs(r)
			if (blocks == 7) != tt.blocks || (daily == 7) != tt.daily {
				t.Errorf("output tokens %d (blocks) and %d (daily); want 7 in blocks %v, in daily %v", blocks, daily, tt.blocks, tt.daily)
			}
			if tt.blocks || tt.daily {
				if len(r.Problems) != 0 {
					t.Errorf("problems %v, want none", r.Problems)
				}
				return
			}
			if tt.problem == "" {
				return // not read at all: no "usage":{ in it
			}
			if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Problem, tt.problem) || r.Problems[0].Line != 1 {
				t.Errorf("problems %v, want one on line 1 about %q", r.Problems, tt.problem)
			}
		})
	}
}

// TestTranscriptCosts checks costs and token counts as ccusage computes
// them (docs/formats.md §4 and §5), in the three modes.
func TestTranscriptCosts(t *testing.T) {
	t.Parallel()
	const ts = "2025-03-01T01:00:00.000Z"
	tests := []struct {
		name      string
		line      txL
		mode      CostMode
		cost      float64
		cacheMade int64
		models    []string
		missing   []string
	}{
		{"opus 4.5, every kind", txL{model: "claude-opus-4-5-20251101", in: 1e6, out: 1e6, cw: 2e6, cr: 1e6, split: &[2]int64{1e6, 1e6}}, CostCalculate, 5 + 25 + 6.25 + 10 + 0.5, 2e6, []string{"claude-opus-4-5-20251101"}, nil},
		{"sonnet 4.5 past 200k, per kind", txL{model: "claude-sonnet-4-5-20250929", in: 1e6, out: 1e6, cw: 2e6, cr: 1e6, split: &[2]int64{1e6, 1e6}}, CostCalculate, 5.4 + 21 + 6.75 + 10.8 + 0.54, 2e6, []string{"claude-sonnet-4-5-20250929"}, nil},
		{"no split: all 5-minute writes", txL{model: "claude-haiku-4-5-20251001", cw: 1e6}, CostCalculate, 1.25, 1e6, []string{"claude-haiku-4-5-20251001"}, nil},
		{"a split wins over the total", txL{model: "claude-haiku-4-5-20251001", cw: 100, split: &[2]int64{0, 0}, in: 12, out: 7, cr: 200}, CostCalculate, (12*1 + 7*5 + 200*0.1) / 1e6, 0, []string{"claude-haiku-4-5-20251001"}, nil},
		{"fast opus 4.6: 6x", txL{model: "claude-opus-4-6", out: 100, speed: "fast"}, CostCalculate, 6 * 100 * 25 / 1e6, 0, []string{"claude-opus-4-6-fast"}, nil},
		{"fast opus 4.8: 2x", txL{model: "claude-opus-4-8", out: 100, speed: "fast"}, CostCalculate, 2 * 100 * 25 / 1e6, 0, []string{"claude-opus-4-8-fast"}, nil},
		{"fast without a multiplier", txL{model: "claude-opus-4-5-20251101", out: 100, speed: "fast"}, CostCalculate, 100 * 25 / 1e6, 0, []string{"claude-opus-4-5-20251101-fast"}, nil},
		{"unknown model: nothing, and reported", txL{model: "claude-sonnet-5-5", out: 100}, CostCalculate, 0, 0, []string{"claude-sonnet-5-5"}, []string{"claude-sonnet-5-5"}},
		{"unknown model without tokens: not reported", txL{model: "claude-sonnet-5-5"}, CostCalculate, 0, 0, []string{"claude-sonnet-5-5"}, nil},
		{"auto takes costUSD", txL{model: "claude-sonnet-5-5", out: 100, cost: 0.42}, CostAuto, 0.42, 0, []string{"claude-sonnet-5-5"}, nil},
		{"auto computes without costUSD", txL{model: "claude-haiku-4-5-20251001", out: 1e6}, CostAuto, 5, 0, []string{"claude-haiku-4-5-20251001"}, nil},
		{"calculate ignores costUSD", txL{model: "claude-haiku-4-5-20251001", out: 1e6, cost: 0.42}, CostCalculate, 5, 0, []string{"claude-haiku-4-5-20251001"}, nil},
		{"display takes costUSD", txL{model: "claude-haiku-4-5-20251001", out: 1e6, cost: 0.42}, CostDisplay, 0.42, 0, []string{"claude-haiku-4-5-20251001"}, nil},
		{"display without costUSD: nothing", txL{model: "claude-sonnet-5-5", out: 1e6}, CostDisplay, 0, 0, []string{"claude-sonnet-5-5"}, nil},
		{"<synthetic>: counted, listed nowhere", txL{model: "<synthetic>", out: 100}, CostCalculate, 0, 0, []string{}, nil},
		{"provider prefix", txL{model: "anthropic/claude-opus-4-5", in: 1e6}, CostCalculate, 5, 0, []string{"anthropic/claude-opus-4-5"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.line
			l.ts, l.msg, l.req = ts, "m", "r"
			r := txRead(t, map[string][]string{"p/s.jsonl": {l.String()}}, Options{Mode: tt.mode, Prices: claude.CcusagePrices()})
			if len(r.Blocks) != 1 || len(r.Days) != 1 || len(r.Sessions) != 1 || len(r.Hours) != 1 {
				t.Fatalf("%d blocks, %d days, %d sessions, %d hours; want 1 of each", len(r.Blocks), len(r.Days), len(r.Sessions), len(r.Hours))
			}
			b := r.Blocks[0]
			for what, c := range map[string]float64{"block": b.CostUSD, "day": r.Days[0].TotalCost, "session": r.Sessions[0].TotalCost, "hour": r.Hours[0].CostUSD} {
				if !txNear(c, tt.cost) {
					t.Errorf("%s cost %v, want %v", what, c, tt.cost)
				}
			}
			if b.TokenCounts.CacheCreationInputTokens != tt.cacheMade {
				t.Errorf("cache creation %d, want %d", b.TokenCounts.CacheCreationInputTokens, tt.cacheMade)
			}
			if d := cmp.Diff(tt.models, b.Models); d != "" {
				t.Errorf("models (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.missing, r.MissingPrices); d != "" {
				t.Errorf("missing prices (-want +got):\n%s", d)
			}
			wantUnpriced := []string(nil)
			if tt.missing != nil {
				wantUnpriced = tt.models
			}
			if d := cmp.Diff(wantUnpriced, r.DayTotals.UnpricedModels); d != "" {
				t.Errorf("unpriced (-want +got):\n%s", d)
			}
		})
	}
}

// TestTranscriptPricesAgainstCcusage prices, for each model, one entry of a
// million tokens of each kind, fast-mode entries of 100 of each, and 300,000
// input tokens, and compares with what ccusage 20.0.24 --offline --mode
// calculate charged for the same lines. A gap is a known difference of
// prices.go's table: logged, not failed (and a closed gap fails, so that
// its note goes).
func TestTranscriptPricesAgainstCcusage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model      string
		base, fast float64 // ccusage's costs
		gap        string
	}{
		{"claude-opus-4-8", 48.25, 0.00935, ""},
		{"claude-opus-4-7", 48.25, 0.02805, ""},
		{"claude-opus-4-6", 48.25, 0.02805, ""},
		{"claude-opus-4-5-20251101", 48.25, 0.004675, ""},
		{"claude-opus-4-1-20250805", 144.75, 0.014025, ""},
		{"claude-opus-4-20250514", 144.75, 0.014025, ""},
		{"claude-3-opus-20240229", 144.75, 0.014025, ""},
		{"claude-sonnet-4-6", 28.95, 0.002805, ""},
		{"claude-sonnet-4-5-20250929", 45.69, 0.002805, ""},
		{"claude-sonnet-4-20250514", 45.69, 0.002805, ""},
		{"claude-3-7-sonnet-20250219", 28.95, 0.002805, ""},
		{"claude-haiku-4-5-20251001", 9.65, 0.000935, ""},
		{"claude-3-5-haiku-20241022", 7.72, 0.000748, ""},
		{"claude-3-haiku-20240307", 2.405, 0.000233, ""},
		{"claude-mythos-5", 96.5, 0.00935, ""},
		{"claude-sonnet-5-5", 0, 0, ""},
		{"claude-opus-5-5", 0, 0, ""},
		{"anthropic/claude-opus-4-5", 48.25, 0.004675, ""},
		{"claude-opus-4-5@20251101", 48.25, 0.004675, ""},
		{"claude-fable-5", 96.5, 0.00935, ""},
		{"claude-3-5-sonnet-20241022", 28.95, 0.002805, ""},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", 50.259, 0.0030855, ""}, // 10% above the global id
		// Claude Code's 1M-context ids: priced as their base models.
		{"claude-opus-4-6[1m]", 48.25, 0.02805, ""},
		{"claude-sonnet-4-6[1m]", 28.95, 0.002805, ""},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			var lines []string
			for i, l := range []txL{
				{in: 1e6}, {out: 1e6}, {cw: 1e6, split: &[2]int64{1e6, 0}}, {cw: 1e6, split: &[2]int64{0, 1e6}}, {cr: 1e6},
				{in: 100, out: 100, cw: 200, split: &[2]int64{100, 100}, cr: 100, speed: "fast"}, {in: 300_000, split: &[2]int64{0, 0}},
			} {
				l.ts, l.msg, l.req, l.model = fmt.Sprintf("2025-03-01T00:%02d:00.000Z", i), fmt.Sprint("m", i), "r", tt.model
				lines = append(lines, l.String())
			}
			r := txRead(t, map[string][]string{"p/s.jsonl": lines}, Options{Mode: CostCalculate, Prices: claude.CcusagePrices()})
			var base, fast float64
			for _, b := range r.Sessions[0].ModelBreakdowns {
				if strings.HasSuffix(b.ModelName, "-fast") {
					fast += b.Cost
				} else {
					base += b.Cost
				}
			}
			agree := txNear(base, tt.base) && txNear(fast, tt.fast)
			switch {
			case !agree && tt.gap == "":
				t.Errorf("costs $%v and $%v (fast); ccusage $%v and $%v", base, fast, tt.base, tt.fast)
			case !agree:
				t.Logf("known gap: %s: $%v and $%v; ccusage $%v and $%v", tt.gap, base, fast, tt.base, tt.fast)
			case tt.gap != "":
				t.Errorf("the gap %q is closed: remove its note", tt.gap)
			}
		})
	}
}

// TestTranscriptEstimatedPrices checks the models a report prices at an
// estimate: by default (DefaultPrices), a model of a known family costs its
// family's newest model's price and a model of none the fallback, both
// listed in EstimatedPrices, none unpriced (and Claude Code's <synthetic>
// messages cost nothing); with CcusagePrices, as ccusage, the models
// ccusage does not know cost nothing and are listed as unpriced.
func TestTranscriptEstimatedPrices(t *testing.T) {
	t.Parallel()
	var lines []string
	for i, model := range []string{"claude-sonnet-9", "gpt-4o", "claude-sonnet-5-5", "<synthetic>", "claude-opus-4-6[1m]"} {
		l := txL{model: model, in: 1e6, out: 1e6, ts: fmt.Sprintf("2025-03-01T00:%02d:00.000Z", i), msg: fmt.Sprint("m", i), req: "r"}
		lines = append(lines, l.String())
	}
	files := map[string][]string{"p/s.jsonl": lines}
	now := time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)
	r := txRead(t, files, Options{Mode: CostCalculate, Now: now})
	pricedAs := map[string]string{}
	for _, e := range r.Recent {
		pricedAs[e.Model] = e.Usage().PricedAs
	}
	if d := cmp.Diff(map[string]string{"claude-sonnet-9": "claude-sonnet-5-5", "gpt-4o": "fallback", "claude-sonnet-5-5": "",
		"<synthetic>": "", "claude-opus-4-6[1m]": ""}, pricedAs); d != "" {
		t.Errorf("what the recent entries were priced as (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"claude-sonnet-9", "gpt-4o"}, r.EstimatedPrices); d != "" {
		t.Errorf("estimated prices (-want +got):\n%s", d)
	}
	if len(r.MissingPrices) != 0 || len(r.DayTotals.UnpricedModels) != 0 {
		t.Errorf("missing %v, unpriced %v; want none", r.MissingPrices, r.DayTotals.UnpricedModels)
	}
	// sonnet 9 as sonnet 5.5 ($12), gpt-4o at the fallback (Opus 4.1's
	// $90), sonnet 5.5 ($12), <synthetic> nothing, opus 4.6 ($30).
	if want := 12 + 90 + 12 + 30.0; !txNear(r.DayTotals.TotalCost, want) || !txNear(r.SessionTotals.TotalCost, want) {
		t.Errorf("cost $%v and $%v, want $%v", r.DayTotals.TotalCost, r.SessionTotals.TotalCost, want)
	}
	r = txRead(t, files, Options{Mode: CostCalculate, Prices: claude.CcusagePrices()})
	if d := cmp.Diff([]string{"claude-sonnet-5-5", "claude-sonnet-9", "gpt-4o"}, r.MissingPrices); d != "" || len(r.EstimatedPrices) != 0 {
		t.Errorf("as ccusage: missing prices (-want +got):\n%s, estimated %v", d, r.EstimatedPrices)
	}
	if !txNear(r.DayTotals.TotalCost, 30) {
		t.Errorf("as ccusage: $%v, want Opus 4.6's $30 alone", r.DayTotals.TotalCost)
	}
}
