package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// sdkBody is a request as the Go and Python SDKs write it: max_tokens, the
// messages (n turns of a long conversation, each about 2 KB), then model.
func sdkBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"max_tokens":4096,"messages":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"text","text":%q}]},`, strings.Repeat("Refactor the \"store\" layer; ", 60))
		fmt.Fprintf(&b, `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_%d","name":"edit","input":{"path":"a.go","model":"x","old":%q}}]}`, i, strings.Repeat("func f() {}\n", 40))
	}
	b.WriteString(`],"model":"claude-sonnet-4-5","stream":true}`)
	return []byte(b.String())
}

// decoderModel is topLevelModel on encoding/json's Decoder: its tokens at
// the top level, each other member's value decoded into a RawMessage.
func decoderModel(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		if t == "model" {
			var m string
			if dec.Decode(&m) != nil {
				return ""
			}
			return m
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// BenchmarkRequestModel finds the model of an SDK-ordered body of about
// 200 KB with the walker the proxy uses and with encoding/json's Decoder.
func BenchmarkRequestModel(b *testing.B) {
	body := sdkBody(50)
	for _, c := range []struct {
		name string
		f    func([]byte) string
	}{
		{"walker", func(b []byte) string { m, _ := topLevelModel(b); return m }},
		{"json-decoder", decoderModel},
	} {
		b.Run(c.name, func(b *testing.B) {
			if got := c.f(body); got != "claude-sonnet-4-5" {
				b.Fatalf("model %q", got)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				c.f(body)
			}
		})
	}
}
