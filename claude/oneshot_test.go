package claude

import (
	"strings"
	"testing"
)

// TestOneShotRun: Claude Code's User-Agent with the sdk-cli entrypoint last
// in its parentheses is a one-shot run; nothing else is.
func TestOneShotRun(t *testing.T) {
	for ua, want := range map[string]bool{
		"claude-cli/2.1.332 (external, sdk-cli)":    true,
		"claude-cli/2.1.332 (external,sdk-cli)":     true,
		"claude-cli/3.0.0 (internal, sdk-cli)":      true,
		"claude-cli/2.1.332 (external, cli)":        false,
		"claude-cli/2.1.332 (external, sdk-ts)":     false,
		"claude-cli/2.1.332 (sdk-cli)":              false,
		"claude-cli/2.1.332 (external, sdk-cli":     false,
		"Claude-CLI/2.1.332 (external, sdk-cli)":    false,
		"curl/8.0 claude-cli/2 (external, sdk-cli)": false,
		"": false,
	} {
		if got := OneShotRun(ua); got != want {
			t.Errorf("OneShotRun(%q) = %v, want %v", ua, got, want)
		}
	}
}

// FuzzOneShotRun: reading a User-Agent never panics, and a one-shot run's
// is Claude Code's, ending its parentheses with the sdk-cli entrypoint.
func FuzzOneShotRun(f *testing.F) {
	for _, ua := range []string{"claude-cli/2.1.332 (external, sdk-cli)", "claude-cli/2.1.332 (external, cli)", "", "claude-cli/1 ("} {
		f.Add(ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		if !OneShotRun(ua) {
			return
		}
		inner := strings.TrimSuffix(ua, ")")
		if !strings.HasPrefix(ua, "claude-cli/") || !strings.HasSuffix(ua, ")") || !strings.Contains(ua, " (") ||
			!strings.HasSuffix(strings.TrimSpace(inner), "sdk-cli") || !strings.Contains(inner, ",") {
			t.Errorf("OneShotRun(%q) = true for a User-Agent that is not Claude Code's with the sdk-cli entrypoint", ua)
		}
	})
}
