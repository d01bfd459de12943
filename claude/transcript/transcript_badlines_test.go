package transcript

import (
	"fmt"
	"strings"
	"time"
)

// The "badlines" case of testdata/ccusage: lines ccusage 20.0.24 reads one
// way when they hold "null" and another when they do not
// (transcript_null.go), as current Claude Code writes them. Each line is
// alone in a session file named after it (<kind>--<variant>.jsonl) on a day
// of its own, with token counts of its own, so ccusage's session, daily and
// blocks reports show which lines it counted.

// txBadKinds are what is wrong with a line (or, for ok and pair, nothing).
var txBadKinds = []struct {
	name        string
	text, extra string // the content's text, more top-level members
}{
	{name: "ok"},
	{name: "utf8-in-text", text: "caf\xe9 au lait"},
	{name: "utf8-in-a-key", extra: `,"toolUseResult":{"caf` + "\xe9" + `":1}`},
	{name: "lone-high-surrogate", text: `a \ud800 b`},
	{name: "lone-low-surrogate", text: `a \udc00 b`},
	{name: "surrogate-pair", text: `a \ud83d\ude00 b`},
	{name: "depth-127", extra: `,"toolUseResult":` + strings.Repeat("[", 126) + strings.Repeat("]", 126)},
	{name: "depth-128", extra: `,"toolUseResult":` + strings.Repeat("[", 127) + strings.Repeat("]", 127)},
	{name: "number-1e400", extra: `,"toolUseResult":{"x":1e400}`},
	{name: "member-twice", extra: `,"toolUseResult":{"a":1,"a":2}`},
}

// txNullVariants put "null" in a line: none, as a value (compact and
// spaced, as stop_sequence), or only inside a string.
var txNullVariants = []struct{ name, stop, text string }{
	{name: "none"},
	{name: "null", stop: `"stop_sequence":null,`},
	{name: "spaced-null", stop: `"stop_sequence": null,`},
	{name: "null-in-text", text: " (nullable)"},
}

// txBadLine is a Claude Code assistant line of day k.
func txBadLine(k int, text, stop, usageExtra, extra string) string {
	r := strings.NewReplacer(
		"K8", fmt.Sprintf("%08x", k), "K2", fmt.Sprintf("%02d", k), "TEXT", text, "STOP", stop, "USAGE", usageExtra, "EXTRA", extra,
		"IN", fmt.Sprint(3+k), "CW", fmt.Sprint(1000+k), "CR", fmt.Sprint(5000+k), "OUT", fmt.Sprint(100+k),
		"TS", time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, k).Format("2006-01-02T15:04:05.000Z"))
	return r.Replace(`{"parentUuid":"K8-aaaa-4aaa-8aaa-aaaaaaaaaaaa","isSidechain":false,"message":{"id":"msg_badK2","type":"message",` +
		`"role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"TEXT"}],"stop_reason":"end_turn",STOP` +
		`"usage":{"input_tokens":IN,"cache_creation_input_tokens":CW,"cache_read_input_tokens":CR,"output_tokens":OUT,` +
		`"cache_creation":{"ephemeral_5m_input_tokens":CW,"ephemeral_1h_input_tokens":0},"service_tier":"standard"USAGE}},` +
		`"requestId":"req_badK2","type":"assistant","uuid":"K8-bbbb-4bbb-8bbb-bbbbbbbbbbbb","timestamp":"TS"EXTRA,` +
		`"userType":"external","entrypoint":"cli","cwd":"/home/dev/badlines","sessionId":"K8-cccc-4ccc-8ccc-cccccccccccc","version":"2.1.332","gitBranch":"main"}`)
}

// txBadLines writes the badlines tree (its projects directory) to write.
func txBadLines(write func(name string, data []byte)) {
	k := 0
	add := func(name, line string) {
		write("-home-dev-badlines/"+name+".jsonl", []byte(line+"\n"))
		k++
	}
	for _, kind := range txBadKinds {
		for _, v := range txNullVariants {
			add(kind.name+"--"+v.name, txBadLine(k, "hello"+kind.text+v.text, v.stop, "", kind.extra))
		}
	}
	// Null members: ccusage refuses these fields null wherever they are and
	// however spaced, except model in an element of usage.iterations.
	add("id-null-in-content", strings.Replace(txBadLine(k, "hello", "", "", ""),
		`"content":[`, `"content":[{"type":"tool_use","id": null,"name":"Bash","input":{}},`, 1))
	add("escaped-id-null", txBadLine(k, "hello", "", "", `,"toolUseResult":{"\u0069d":null}`))
	add("session-id-spaced-null", strings.Replace(txBadLine(k, "hello", "", "", ""),
		`"sessionId":"`, `"sessionId": null,"x":"`, 1))
	add("iterations-model-null", txBadLine(k, "hello", "", `,"iterations":[{"type":"message","model":null,"input_tokens":1,"output_tokens":2}]`, ""))
	add("iterations-nested-model-null", txBadLine(k, "hello", "", `,"iterations":[{"type":"message","x":{"model":null}}]`, ""))
	ts := time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, k).Format("2006-01-02T15:04:05.000Z")
	add("progress-iterations-model-null", fmt.Sprintf(`{"type":"progress","data":{"message":{"timestamp":"%s","requestId":"req_bad%02d",`+
		`"message":{"id":"msg_bad%02[2]d","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":%d,"output_tokens":%d,`+
		`"iterations":[{"type":"message","model":null}]}}}},"parentToolUseID":null,"sessionId":"s","version":"2.1.332"}`, ts, k, 3+k, 100+k))
}
