package claude

import "strings"

// OneShotRun reports whether a request's User-Agent is Claude Code's
// non-interactive entrypoint: "claude-cli/<version> (<user type>, sdk-cli)",
// what `claude -p` and the CLI driven by an Agent SDK send, where an
// interactive session sends "(…, cli)" (docs/claude-code.md). Such a run is
// over when it stops sending, and a new run has a new session: the prompt
// cache it wrote, an hour's in OAuth mode, would hold a slot of the pool for
// nothing. Its usages are recorded with no CacheTTL, so that its client
// holds its slot for the pool's idle time after its last request
// (docs/capacity.md).
func OneShotRun(userAgent string) bool {
	rest, ok := strings.CutPrefix(userAgent, "claude-cli/")
	if !ok {
		return false
	}
	_, inner, ok := strings.Cut(rest, " (")
	if !ok {
		return false
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(inner, ',')
	return i >= 0 && strings.TrimSpace(inner[i+1:]) == "sdk-cli"
}
