// Package claude reads Claude's formats into authpool's provider-neutral
// values: the usage of Messages API responses and SSE streams, model
// prices (so a cost can be computed from tokens), the rate-limit headers
// of a response, and what an answer means for the pool (Classify, the
// taxonomy of VerdictKind) and doing it (Apply).
//
//	mu, err := claude.ParseMessage(body)                    // or claude.NewStreamReader(resp.Body) for SSE
//	u, err := mu.Usage(claude.DefaultPrices(), claude.PerRequest, now)
//	err = p.Record(ctx, clientID, u)
//	v := claude.Classify(resp.StatusCode, resp.Header, errorBody, now)
//	err = claude.Apply(ctx, p, subscriptionID, v, model, now)
//
// Its siblings build on it: claude/proxy (a reverse proxy for Claude Code
// and the SDKs, and an http.RoundTripper), claude/cli (the Claude Code
// CLI's output and a Runner for `claude -p`) and claude/transcript (Claude
// Code's transcripts, accounted as ccusage does).
//
// # Guarantees
//
// Parsers ignore fields they do not know (Claude Code adds fields every
// release) and report malformed input with where it is (line, field); a
// stream cut short still yields what was seen. A model no price table
// knows is an error matching ErrUnknownModel (or the table's fallback
// price), never a silent zero. Texts taken from a response (error messages,
// request ids) are bounded. The formats are documented where they are
// parsed, with their sources, and in docs/formats.md.
package claude
