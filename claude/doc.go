// Package claude turns Claude's formats into authpool's provider-neutral
// values: the usage of Claude Code CLI results (json and stream-json), of
// Messages API responses and SSE streams, and of Claude Code's transcripts;
// model prices, so a cost can be computed from tokens; and the rate-limit
// headers of a response, classified into what the pool should do about it.
//
// The formats are documented where they are parsed, with the sources they
// were taken from. Parsers ignore fields they do not know (Claude Code adds
// fields every release) and report malformed input with where it is (line,
// field).
package claude
