package proxy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
