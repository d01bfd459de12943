package claude

import (
	"testing"
	"time"
)

// BenchmarkPricesCost prices one response per iteration, as the Transport
// does, for a model named as the table names it, one with a date (matched
// by its canonical model) and, where the table has one, a Bedrock id.
func BenchmarkPricesCost(b *testing.B) {
	c := Counts{Input: 12, Output: 640, CacheWrite5m: 5210, CacheRead: 18300}
	for _, model := range []string{"claude-opus-4-6", "claude-sonnet-4-5-20250929", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
		b.Run(model, func(b *testing.B) {
			p := DefaultPrices()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Cost(model, c, PerRequest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMessageUsage converts a parsed response's usage into the pool's,
// priced: the Transport's work between reading a response and Record.
func BenchmarkMessageUsage(b *testing.B) {
	m := MessageUsage{ID: "msg_01", Model: "claude-sonnet-4-5-20250929", Counts: Counts{Input: 12, Output: 640, CacheWrite5m: 5210, CacheRead: 18300}, Complete: true}
	p := DefaultPrices()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Usage(p, PerRequest, at); err != nil {
			b.Fatal(err)
		}
	}
}
