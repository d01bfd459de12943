package claude

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseModel checks how ids are taken apart: family and version in
// both naming schemes, what is stripped and what is kept.
func TestParseModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want modelID
	}{
		{"claude-opus-4-6", modelID{bare: "claude-opus-4-6", family: "opus", major: 4, minor: 6, name: "claude-opus-4-6"}},
		{"Claude-Opus-4-6[1m]", modelID{bare: "claude-opus-4-6", family: "opus", major: 4, minor: 6, name: "claude-opus-4-6"}},
		{"claude-opus-4-6-fast", modelID{bare: "claude-opus-4-6", family: "opus", major: 4, minor: 6, name: "claude-opus-4-6", fast: true}},
		{"claude-opus-4-20250514", modelID{bare: "claude-opus-4-20250514", family: "opus", major: 4, name: "claude-opus-4"}},
		{"claude-sonnet-4-0", modelID{bare: "claude-sonnet-4-0", family: "sonnet", major: 4, name: "claude-sonnet-4"}},
		{"claude-3-5-sonnet-20241022-v2:0", modelID{bare: "claude-3-5-sonnet-20241022-v2:0", family: "sonnet", major: 3, minor: 5, name: "claude-3-5-sonnet"}},
		{"claude-sonnet-3.5", modelID{bare: "claude-sonnet-3.5", family: "sonnet", major: 3, minor: 5, name: "claude-3-5-sonnet"}},
		{"vertex_ai/claude-haiku-4-5@20251001", modelID{bare: "claude-haiku-4-5@20251001", family: "haiku", major: 4, minor: 5, name: "claude-haiku-4-5"}},
		{"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", modelID{bare: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", region: "us", family: "sonnet", major: 4, minor: 5, name: "claude-sonnet-4-5"}},
		{"apac.anthropic.claude-opus-4-6-v1", modelID{bare: "apac.anthropic.claude-opus-4-6-v1", region: "apac", family: "opus", major: 4, minor: 6, name: "claude-opus-4-6"}},
		{"claude-opus-4-9", modelID{bare: "claude-opus-4-9", family: "opus", major: 4, minor: 9, name: "claude-opus-4-9"}},
		{"claude-mythos-preview", modelID{bare: "claude-mythos-preview", family: "mythos", major: -1, extra: "preview", name: "claude-mythos-preview"}},
		{"claude-opus-4-0-7", modelID{bare: "claude-opus-4-0-7", family: "opus", major: 4, extra: "7", name: "claude-opus-4-0-7"}},
		{"claude-haiku-4-5-latest", modelID{bare: "claude-haiku-4-5-latest", family: "haiku", major: 4, minor: 5, name: "claude-haiku-4-5"}},
		{"gpt-4o", modelID{bare: "gpt-4o", major: -1, name: "gpt-4o"}},
		{"claude-instant-1.2", modelID{bare: "claude-instant-1.2", major: -1, name: "claude-instant-1-2"}},
		{"us.amazon.nova-pro-v1:0", modelID{bare: "us.amazon.nova-pro-v1:0", region: "us", major: -1, name: "amazon-nova-pro"}},
		{"", modelID{major: -1}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseModel(tt.id), cmp.AllowUnexported(modelID{})); diff != "" {
			t.Errorf("parseModel(%q) (-want +got):\n%s", tt.id, diff)
		}
	}
}

// FuzzParseModel parses arbitrary ids: parseModel never panics, and
// parsing an id's canonical form gives the same model, whose canonical
// form is the same again.
//
//	go test -run '^$' -fuzz FuzzParseModel ./claude/
func FuzzParseModel(f *testing.F) {
	for _, id := range []string{
		"claude-opus-4-6[1m]", "claude-opus-4-6-fast", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-3-5-sonnet-20241022",
		"openrouter/anthropic/claude-sonnet-4.5", "claude-opus-4-5@20251101", "claude-opus-4-0-7", "claude-mythos-preview",
		"gpt-4o", "claude-haiku-4-5-latest", "global.anthropic.claude-opus-4-8", " x/ y[1m] ", "claude-3-0-opus-2", "eu.us.claude-x",
	} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		m := parseModel(id)
		again := parseModel(m.canonical())
		m.bare, again.bare = "", ""
		if diff := cmp.Diff(m, again, cmp.AllowUnexported(modelID{})); diff != "" {
			t.Fatalf("parseModel(%q) and of its canonical form %q differ (-first +second):\n%s", id, m.canonical(), diff)
		}
		if again.canonical() != m.canonical() {
			t.Fatalf("canonical forms %q and %q", m.canonical(), again.canonical())
		}
	})
}
