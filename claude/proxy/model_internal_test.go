package proxy

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/internal/bounds"
)

func TestTopLevelModel(t *testing.T) {
	type result struct {
		Model string
		Known bool
	}
	tests := []struct {
		name, body string
		want       result
	}{
		{"first", `{"model":"claude-x","messages":[]}`, result{"claude-x", true}},
		{"after the messages", `{"max_tokens":5,"messages":[{"role":"user","content":"say \"model\": \"no\""}],"model":"claude-x"}`, result{"claude-x", true}},
		{"a tool's input names one", `{"messages":[{"content":[{"type":"tool_use","input":{"model":"gpt"}}]}],"model":"claude-x"}`, result{"claude-x", true}},
		{"in a key's text", `{"metadata":{"user_id":"\"model\":\"no\""},"model" : "claude-x" }`, result{"claude-x", true}},
		{"escaped backslash before a quote", `{"a":"x\\","model":"claude-x"}`, result{"claude-x", true}},
		{"scalars", `{"stream":true,"temperature":0.5,"stop":null,"model":"claude-x"}`, result{"claude-x", true}},
		{"white space", " \n{ \"max_tokens\" :\t1 ,\r\n \"model\" :\n\"claude-x\"}", result{"claude-x", true}},
		{"none", `{"messages":[{"model":"gpt"}],"max_tokens":1}`, result{"", true}},
		{"not a string", `{"model":5,"x":"claude"}`, result{"", true}},
		{"an escape in it", `{"model":"claude\u002dx"}`, result{"", true}},
		{"too long", `{"model":"` + strings.Repeat("x", 257) + `"}`, result{"", true}},
		{"not UTF-8", "{\"model\":\"claude-\xff\"}", result{"", true}},
		{"not an object", `["model","claude-x"]`, result{"", true}},
		{"empty", ``, result{"", false}},
		{"cut in a value", `{"messages":[{"content":"long`, result{"", false}},
		{"cut in the model", `{"model":"clau`, result{"", false}},
		{"cut after a member", `{"max_tokens":1,`, result{"", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, known := topLevelModel([]byte(tt.body))
			if diff := cmp.Diff(tt.want, result{m, known}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// FuzzTopLevelModel checks the walker against encoding/json: on any text it
// returns without panicking, and on a JSON object it finds the top-level
// "model" that encoding/json finds, when that is a plain string the pool
// takes as a model, and no other.
func FuzzTopLevelModel(f *testing.F) {
	for _, s := range []string{
		`{"model":"claude-x","messages":[]}`,
		`{"max_tokens":5,"messages":[{"content":[{"type":"tool_use","input":{"model":"gpt"}}]}],"model":"claude-x"}`,
		`{"a":"x\\","model":"claude-x"}`,
		`{"stream":true,"stop":null,"temperature":0.5,"model" : "m"}`,
		`{"messages":[{"model":"gpt"}]}`,
		`{"model":5}`, `["model","x"]`, `{"model":"clau`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, known := topLevelModel(b)
		var top map[string]json.RawMessage
		if json.Unmarshal(b, &top) != nil || top == nil {
			return // not an object: any answer, so long as there is one
		}
		if _, dup := duplicateKey(b); dup {
			return // encoding/json keeps the last of a repeated key, the walker the first
		}
		want := ""
		var m string
		if raw, ok := top["model"]; ok && json.Unmarshal(raw, &m) == nil && !bytes.ContainsRune(raw, '\\') && utf8.Valid(raw) &&
			bounds.CheckText("model", m, true) == nil {
			want = m
		}
		if got != want || !known {
			t.Errorf("topLevelModel(%q) = %q, %v; encoding/json finds %q", b, got, known, want)
		}
	})
}

// duplicateKey reports whether the JSON object b names a top-level key twice.
func duplicateKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := k.(string)
		if seen[key] {
			return key, true
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return "", false
		}
	}
	return "", false
}
