package claude

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ujResult is what ParseMessage makes of an input as a message body, and
// what an SSE event's data decodes to: the golden record of an input.
type ujResult struct {
	Name         string        `json:"name,omitempty"`
	Body         MessageUsage  `json:"body"`
	BodyErr      string        `json:"bodyErr,omitempty"`
	BodyAPIError *APIError     `json:"bodyAPIError,omitempty"`
	Event        *sseEventJSON `json:"event,omitempty"`
	EventErr     string        `json:"eventErr,omitempty"`
}

// ujDecode decodes data as a message body and as an event's data.
func ujDecode(name string, data []byte) ujResult {
	r := ujResult{Name: name}
	m, err := ParseMessage(data)
	r.Body = m
	if err != nil {
		r.BodyErr = err.Error()
		if ae, ok := errors.AsType[*APIError](err); ok {
			r.BodyAPIError = ae
		}
	}
	ev, err := decodeSSEEvent(data)
	if err != nil {
		r.EventErr = err.Error()
	} else {
		r.Event = &ev
	}
	return r
}

// ujGolden compares got, marshalled, with the golden file, or rewrites it
// under -update.
func ujGolden(t *testing.T, golden string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("differs from %s (-want +got; go test -run %s -update rewrites it):\n%s", golden, t.Name(), diff)
	}
}

// ujCases are inputs of every kind encoding/json is subtle about
// (duplicate and case-folded keys, escapes, bad UTF-8, numbers out of
// range, deep nesting, syntax errors), for the golden test and as fuzz
// seeds.
var ujCases = []struct{ name, in string }{
	{"object", `{"type":"message","id":"msg_1","model":"m","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}`},
	{"empty object", `{}`},
	{"whitespace everywhere", " \t\r\n{ \"type\" : \"message\" , \"usage\" :\n{ \"input_tokens\" : 1 } }\n\n"},
	{"top-level null", `null`},
	{"top-level null with spaces", ` null `},
	{"all usage fields", `{"usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":6},"server_tool_use":{"web_search_requests":7},"speed":"fast"}}`},
	{"inference geo", `{"usage":{"input_tokens":1,"inference_geo":"us","speed":"standard"}}`},
	{"inference geo null and empty", `{"usage":{"inference_geo":null},"message":{"usage":{"inference_geo":""}}}`},
	{"nulls", `{"type":null,"id":null,"model":null,"stop_reason":null,"usage":{"input_tokens":null,"cache_creation":null,"server_tool_use":null,"speed":null},"error":null,"request_id":null,"message":null,"delta":null}`},
	{"nested nulls", `{"usage":{"cache_creation":{"ephemeral_5m_input_tokens":null},"server_tool_use":{"web_search_requests":null}}}`},
	{"empty nested objects", `{"usage":{"cache_creation":{},"server_tool_use":{}},"error":{},"message":{},"delta":{}}`},
	{"error body", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`},
	{"sse message_start", `{"type":"message_start","message":{"id":"msg_A","type":"message","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}}`},
	{"sse message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":640}}`},
	{"sse delta stop_reason null", `{"delta":{"stop_reason":null}}`},
	{"unknown fields of every kind", `{"a":"s\"\\\/\b\f\n\r\t\u00e9\ud800x","b":-0.5e+3,"c":[1,[2,{}],{"d":[true,false,null]}],"e":{},"f":[],"g":0,"h":1E-2}`},
	{"unknown duplicate keys", `{"role":1,"role":"x","usage":{"service_tier":1,"service_tier":2}}`},
	{"escaped key inside a skipped value", `{"x":{"\u0069d":1,"ID":2,"ſpeed":3}}`},
	{"StopReason is no field name", `{"StopReason":"x","Stop_Reasons":"y"}`},
	{"-0", `{"usage":{"input_tokens":-0}}`},
	{"int64 limits", `{"usage":{"input_tokens":-9223372036854775808,"output_tokens":9223372036854775807}}`},
	{"negative count", `{"type":"message","usage":{"input_tokens":-5,"output_tokens":2}}`},
	{"valid UTF-8 in a field", "{\"model\":\"clåude ✓ 𝄞\",\"id\":\"\xef\xbf\xbd\"}"},
	{"invalid UTF-8 in a skipped string", "{\"role\":\"\xff\xfe\",\"type\":\"message\"}"},
	{"depth 900", `{"content":` + strings.Repeat("[", 900) + strings.Repeat("]", 900) + `}`},
	{"depth 900 objects", `{"content":` + strings.Repeat(`{"a":`, 900) + "1" + strings.Repeat("}", 900) + `}`},
	{"message is no body field", `{"message":"not an object","delta":1}`},
	{"id is no event field", `{"id":"a\u0062c","stop_reason":7}`},

	{"escape in a field", `{"type":"message","model":"a\u0062c"}`},
	{"escape in error message", `{"type":"error","error":{"type":"api_error","message":"say \"hi\""}}`},
	{"invalid UTF-8 in a field", "{\"model\":\"\xff\"}"},
	{"surrogate as UTF-8 in a field", "{\"model\":\"\xed\xa0\x80\"}"},
	{"case-folded key", `{"ID":"x"}`},
	{"case-folded key Model", `{"type":"message","Model":"x"}`},
	{"case-folded nested key", `{"usage":{"Input_Tokens":1}}`},
	{"long s folds to s", `{"usage":{"ſpeed":"fast"}}`},
	{"Kelvin sign folds to k", "{\"usage\":{\"input_to\u212aens\":5}}"},
	{"escaped key", `{"\u0069d":"x"}`},
	{"duplicate key", `{"type":"a","type":"b"}`},
	{"duplicate usage merges", `{"usage":{"input_tokens":1},"usage":{"output_tokens":2}}`},
	{"duplicate nested key", `{"usage":{"input_tokens":1,"input_tokens":null}}`},
	{"huge number", `{"usage":{"input_tokens":99999999999999999999}}`},
	{"int64 overflow", `{"usage":{"input_tokens":9223372036854775808}}`},
	{"int64 underflow", `{"usage":{"input_tokens":-9223372036854775809}}`},
	{"exponent", `{"usage":{"input_tokens":1e2}}`},
	{"fraction", `{"usage":{"input_tokens":1.0}}`},
	{"string count", `{"usage":{"input_tokens":"12"}}`},
	{"bool count", `{"usage":{"input_tokens":true}}`},
	{"number type", `{"type":1}`},
	{"string usage", `{"usage":"x"}`},
	{"array usage", `{"usage":[]}`},
	{"number error", `{"error":5}`},
	{"number speed", `{"usage":{"speed":1}}`},
	{"number inference geo", `{"usage":{"inference_geo":1}}`},
	{"case-folded inference geo", `{"usage":{"Inference_Geo":"us"}}`},
	{"duplicate inference geo", `{"usage":{"inference_geo":"us","inference_geo":"global"}}`},
	{"depth 1100", `{"content":` + strings.Repeat("[", 1100) + strings.Repeat("]", 1100) + `}`},
	{"depth 10001", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
	{"trailing garbage", `{"type":"message"} x`},
	{"two values", `{"type":"message"}{}`},
	{"byte-order mark", "\xef\xbb\xbf{\"type\":\"message\"}"},
	{"form feed", "{\"type\":\"message\"}\f"},
	{"empty", ``},
	{"spaces only", `   `},
	{"top-level array", `[]`},
	{"top-level string", `"message"`},
	{"top-level number", `1`},
	{"top-level true", `true`},
	{"nul", `nul`},
	{"null then garbage", `nullx`},
	{"truncated", `{"type":"message","usage":{"input_tokens":1`},
	{"truncated string", `{"type":"mess`},
	{"trailing comma", `{"type":"message",}`},
	{"trailing comma in a skipped array", `{"x":[1,]}`},
	{"leading comma", `{,"type":"message"}`},
	{"missing colon", `{"type" "message"}`},
	{"leading zero", `{"x":01}`},
	{"bare minus", `{"x":-}`},
	{"dot without digits", `{"x":1.}`},
	{"exponent without digits", `{"x":1e+}`},
	{"control character", "{\"x\":\"a\tb\"}"},
	{"bad escape", `{"x":"\x"}`},
	{"short unicode escape", `{"x":"\u12"}`},
	{"mismatched brackets", `{"x":[}`},
	{"bad literal", `{"x":tru}`},
	{"single quotes", `{'type':'message'}`},
}

// TestUsageJSON decodes each of ujCases as a message body (ParseMessage)
// and as an SSE event's data, and compares the results, errors included,
// with testdata/api/usagejson-cases.golden.json.
func TestUsageJSON(t *testing.T) {
	t.Parallel()
	got := make([]ujResult, len(ujCases))
	for i, tc := range ujCases {
		got[i] = ujDecode(tc.name, []byte(tc.in))
	}
	ujGolden(t, filepath.Join("testdata", "api", "usagejson-cases.golden.json"), got)
}

// ujFixtures returns the message bodies in testdata/api and the data of
// each event of its SSE streams, named.
func ujFixtures(t testing.TB) map[string][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "api", "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		base := filepath.Base(n)
		switch {
		case strings.HasSuffix(n, ".golden.json"):
		case strings.HasSuffix(n, ".json"):
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			out[base] = b
		case strings.HasSuffix(n, ".sse"):
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			for i, data := range ujSSEData(b) {
				out[fmt.Sprintf("%s#%d", base, i)] = data
			}
		}
	}
	return out
}

// ujSSEData returns the data of each event of an SSE stream: its data:
// lines joined with '\n'.
func ujSSEData(stream []byte) [][]byte {
	var out [][]byte
	var data []string
	s := strings.ReplaceAll(strings.TrimPrefix(string(stream), "\xef\xbb\xbf"), "\r\n", "\n")
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		switch {
		case line == "":
			if data != nil {
				out = append(out, []byte(strings.Join(data, "\n")))
			}
			data = nil
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return out
}

// ujValues are the values TestUsageJSONMutations puts in place of each
// value of the fixtures: every type, and the numbers and strings
// encoding/json is subtle about.
var ujValues = []string{
	`null`, `""`, `"x"`, `"end_turn"`, `"a\u0062"`, "\"\xff\"", `0`, `-0`, `7`, `-1`, `1.5`, `1e2`,
	`9223372036854775807`, `9223372036854775808`, `true`, `{}`, `[]`,
	`{"input_tokens":3,"stop_reason":"x","type":"error"}`, `[1,{"a":null}]`,
}

// ujKeyRE matches a key of a fixture.
var ujKeyRE = regexp.MustCompile(`"[a-z_0-9]+":`)

// TestUsageJSONMutations changes the fixtures in the ways encoding/json is
// subtle about, one place at a time: each key upper-cased, capitalized and
// with Unicode letters that fold to k and s; each value replaced by each of
// ujValues; and a duplicate of each key, with each of ujValues, before it.
// What ujDecode makes of all the variants, in order, hashes to the digest
// in testdata/api/usagejson-mutations.golden.json (recorded when a one-pass
// scanner, checked against json.Unmarshal on every variant, gave way to
// json.Unmarshal).
func TestUsageJSONMutations(t *testing.T) {
	t.Parallel()
	sum := sha256.New()
	n := 0
	check := func(data []byte) {
		t.Helper()
		b, err := json.Marshal(ujDecode("", data))
		if err != nil {
			t.Fatal(err)
		}
		sum.Write(append(b, '\n'))
		n++
	}
	fixtures := ujFixtures(t)
	for _, name := range slices.Sorted(maps.Keys(fixtures)) {
		data := fixtures[name]
		for _, m := range ujKeyRE.FindAllIndex(data, -1) {
			key := string(data[m[0]:m[1]])
			splice := func(with string) []byte {
				return []byte(string(data[:m[0]]) + with + string(data[m[1]:]))
			}
			check(splice(strings.ToUpper(key)))
			check(splice(key[:1] + strings.ToUpper(key[1:2]) + key[2:]))
			check(splice(strings.ReplaceAll(key, "k", "\u212a")))
			check(splice(strings.ReplaceAll(key, "s", "ſ")))
			for _, v := range ujValues {
				check(splice(key + v + "," + key))
			}
		}
		var tree any
		if json.Unmarshal(data, &tree) != nil {
			continue
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for _, k := range slices.Sorted(maps.Keys(v)) {
					old := v[k]
					for _, nv := range ujValues {
						v[k] = json.RawMessage(nv)
						b, err := json.Marshal(tree)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						check(b)
					}
					v[k] = old
					walk(old)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(tree)
	}
	ujGolden(t, filepath.Join("testdata", "api", "usagejson-mutations.golden.json"),
		map[string]any{"variants": n, "sha256": hex.EncodeToString(sum.Sum(nil))})
}

// FuzzUsageJSON decodes arbitrary input as a message body and as an SSE
// event's data: neither panics; input that is not JSON is an error for
// both; and an event that decodes, encoded again, decodes to the same
// event.
//
//	go test -run '^$' -fuzz FuzzUsageJSON ./claude/
func FuzzUsageJSON(f *testing.F) {
	for _, data := range ujFixtures(f) {
		f.Add(data)
	}
	for _, tc := range ujCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := ujDecode("", data)
		if !json.Valid(data) {
			if r.BodyErr == "" || r.EventErr == "" {
				t.Fatalf("%q is not JSON, yet it decoded: body error %q, event error %q", data, r.BodyErr, r.EventErr)
			}
			return
		}
		if r.Event == nil {
			return
		}
		b, err := json.Marshal(r.Event)
		if err != nil {
			t.Fatalf("%q: encoding the event: %v", data, err)
		}
		again, err := decodeSSEEvent(b)
		if err != nil {
			t.Fatalf("%q: the event encoded again (%s) does not decode: %v", data, b, err)
		}
		if diff := cmp.Diff(*r.Event, again); diff != "" {
			t.Errorf("%q: the event encoded again decodes differently (-first +again):\n%s", data, diff)
		}
	})
}

// ujBenchBody is a non-streaming body like message.json whose text block
// holds about size bytes of escaped prose, as a long answer would.
func ujBenchBody(size int) []byte {
	var text strings.Builder
	for text.Len() < size {
		text.WriteString(`The parser reads each line once.\n\nIt keeps \"usage\" and skips the rest; `)
	}
	return []byte(`{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
		`"content":[{"type":"text","text":"` + text.String() + `"},{"type":"tool_use","id":"toolu_01","name":"Read","input":{"file_path":"/tmp/a.go","limit":[1,2,3.5e2]}}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":5210,"cache_read_input_tokens":18300,"output_tokens":640,` +
		`"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":5210}}}`)
}

// BenchmarkParseMessage parses the message fixtures, an error body and a
// body with a 20 KB answer.
//
//	go test -run '^$' -bench ParseMessage -benchmem ./claude/
func BenchmarkParseMessage(b *testing.B) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "api", name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	for _, bc := range []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{"message", read("message.json"), false},
		{"long-context", read("message-long-context.json"), false},
		{"error", read("error-overloaded.json"), true},
		{"text-20KB", ujBenchBody(20_000), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseMessage(bc.body); (err != nil) != bc.wantErr {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamReaderUsage reads a stream of nothing but the events with
// usage (message_start, message_delta, message_stop), where the JSON of
// each event is what costs.
//
//	go test -run '^$' -bench StreamReaderUsage -benchmem ./claude/
func BenchmarkStreamReaderUsage(b *testing.B) {
	src := []byte(sseEv("message_start", sseStart) + sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	buf := make([]byte, 1<<15)
	for b.Loop() {
		sr := NewStreamReader(bytes.NewReader(src))
		for {
			if _, err := sr.Read(buf); err == io.EOF {
				break
			}
		}
		if !sr.Usage().Complete {
			b.Fatal("incomplete")
		}
	}
}
